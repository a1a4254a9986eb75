"""Short per-step probes of the Ant's physics against real pybullet (a tool, not a test input).

The suite (`pybullet_suite.py`) scores whole episodes; these probes compare the first few hundred
steps, where the two simulators should still agree step by step. Writes into OUT (default
/tmp/ant_probes):

  * `gaits.json`: probe gaits in the suite's form (slow and fast single-joint ramps, all hips,
    ankles pressed down or up);
  * `pybullet/<gait>__<morphology>__s<start>.csv`: pybullet traces (40 burn-in + SCORED steps,
    columns as the suite's traces) for the probes on the damaged bodies and the intact one, and
    for every non-hold suite gait on each body from other starts than the suite's traces.

Then replay them on our Ant and score the difference (from the repository root):

    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_probes.py --jobs 2
    HEBBIAN_EXTRA_GAITS=/tmp/ant_probes/gaits.json HEBBIAN_EXTRA_TRACES=/tmp/ant_probes/pybullet \\
      HEBBIAN_TRACE_SCORED=200 HEBBIAN_TRACE_DUMP=/tmp/ant_probes/ours \\
      cargo test --release --test quadruped_pybullet_suite traces
    python3 tests/data/quadruped/pybullet_probes.py --score

(`HEBBIAN_ANT_PHYSICS="warmstart = 0.0, …"` on the cargo line tries other settings.) The score
is the RMS joint-angle difference, averaged over the first 50 and 150 scored steps and over the
cases, and the mean torso x-y distance. Set-up as in `pybullet_suite.py`; ≈8 min on 2 cores.
"""
import argparse
import csv
import glob
import json
import multiprocessing as mp
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SCORED = 400
BURN_IN = 40


def probe(name, a=None, b=None, f=0.1):
    zero = [0.0] * 8
    return {"name": name, "kind": "probe", "a": a or zero, "phi": zero, "b": b or zero, "f": f}


# Action order: hip_1, ankle_1, hip_2, ankle_2, hip_3, ankle_3, hip_4, ankle_4; ankles "down" =
# (+1, -1, -1, +1). With f = 0.1 Hz a sine ramps to its peak in ~150 steps and reverses at ~300.
PROBES = [
    probe("probe_hip2_ramp", a=[0, 0, 1, 0, 0, 0, 0, 0]),
    probe("probe_hip2_ramp_ank2down", a=[0, 0, 1, 0, 0, 0, 0, 0], b=[0, 0, 0, -0.5, 0, 0, 0, 0]),
    probe("probe_hip2_ramp_ank2up", a=[0, 0, 1, 0, 0, 0, 0, 0], b=[0, 0, 0, 0.5, 0, 0, 0, 0]),
    probe("probe_hips_ramp", a=[1, 0, 1, 0, 1, 0, 1, 0]),
    probe("probe_hips_ramp_ankdown", a=[1, 0, 1, 0, 1, 0, 1, 0], b=[0, 1, 0, -1, 0, -1, 0, 1]),
    probe("probe_ankles_down_ramp", a=[0, 1, 0, -1, 0, -1, 0, 1]),
    probe("probe_hip2_fast", a=[0, 0, 1, 0, 0, 0, 0, 0], f=1.0),
    probe("probe_ank2_fast", a=[0, 0, 0, 1, 0, 0, 0, 0], f=1.0),
]


def cases(suite):
    out = [f"{p['name']}__intact__s0" for p in PROBES]
    for p in PROBES:
        out += [f"{p['name']}__right_damaged__s1", f"{p['name']}__left_damaged__s2"]
    for g in suite["gaits"]:
        if g["kind"] != "hold":
            out += [f"{g['name']}__intact__s3", f"{g['name']}__right_damaged__s4",
                    f"{g['name']}__left_damaged__s5"]
    return out


def _trace(args):
    case, gait, start, out = args
    sys.path.insert(0, HERE)
    import pybullet_suite as S

    S.TRACE_SCORED = SCORED
    morph = case.split("__")[1]
    _, _, _, rows = S.episode(morph, start, gait, trace=True, scored=SCORED)
    cols = ["step", "progress", "x", "y", "z", "roll", "pitch", "yaw"]
    cols += [f"q{j}" for j in range(8)] + [f"qd{j}" for j in range(8)]
    with open(os.path.join(out, case + ".csv"), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r in rows:
            w.writerow([r[0]] + [f"{v:.6g}" for v in r[1:]])
    return case


def score(out):
    import numpy as np

    res = {50: [], 150: []}
    for f in sorted(glob.glob(os.path.join(out, "pybullet", "*.csv"))):
        ours = os.path.join(out, "ours", os.path.basename(f))
        if not os.path.exists(ours):
            continue
        pb = np.loadtxt(f, delimiter=",", skiprows=1)
        us = np.loadtxt(ours, delimiter=",")
        for w in res:
            m = min(len(pb), len(us), BURN_IN + w)
            dq = np.sqrt(((pb[BURN_IN:m, 8:16] - us[BURN_IN:m, 8:16]) ** 2).mean(1)).mean()
            dxy = np.hypot(pb[BURN_IN:m, 2] - us[BURN_IN:m, 2], pb[BURN_IN:m, 3] - us[BURN_IN:m, 3]).mean()
            res[w].append((dq, dxy))
    for w, v in res.items():
        a = np.array(v)
        print(f"first {w} scored steps, {len(a)} cases: joint angles RMS {a[:, 0].mean():.4f} rad "
              f"(median {np.median(a[:, 0]):.4f}), torso x-y {a[:, 1].mean():.4f} m")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/ant_probes")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--score", action="store_true", help="score OUT/ours against OUT/pybullet")
    args = ap.parse_args()
    if args.score:
        score(args.out)
        return
    suite = json.load(open(os.path.join(HERE, "pybullet_suite.json")))
    os.makedirs(os.path.join(args.out, "pybullet"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "ours"), exist_ok=True)
    json.dump(PROBES, open(os.path.join(args.out, "gaits.json"), "w"), indent=1)
    gaits = {g["name"]: g for g in suite["gaits"] + PROBES}
    todo = [(c, gaits[c.split("__")[0]], suite["starts"][int(c.split("__")[2][1:])],
             os.path.join(args.out, "pybullet")) for c in cases(suite)]
    with mp.get_context("fork").Pool(args.jobs) as pool:
        for c in pool.imap_unordered(_trace, todo):
            print(c, flush=True)


if __name__ == "__main__":
    main()
