"""How far real pybullet lets the Ant's joints pass their stops, on the suite's gaits.

Writes `pybullet_stop_leaks.json` next to this file; `tests/quadruped_pybullet_suite.rs`
(`stop_leaks_match_pybullet`) replays every case on our rapier3d Ant and compares.

Why: Bullet's joint limits are not hard. A limit row corrects a violation of up to 0.04 rad with
ERP; past that (split impulse) it only resists further motion at velocity level, solved by a
cold-started projected Gauss-Seidel with 5 iterations together with the contacts. Under load that
solve does not converge, and the joint creeps outward with nothing to bring it back. On a damaged
body the short (4.99 kg) shin's ankle is pushed past its 100° stop at every touchdown and ends up
folded under the body (≈ 2.85 rad, 1.1 rad past the stop) while the leg keeps walking on it, e.g.
`climb_right_damaged_0` on `right_damaged`: the torso sags to the ground and the gait covers half
the distance. Whether our Ant reproduces that decides what "damaged leg" means in training.

Set-up and protocol: as `pybullet_suite.py` (same gaits, same starts, same reset, 40 zero-action
steps then the 960 gait steps, no early stop); it imports that module. Per case it records, over
the 960 scored steps, the largest violation of each joint's range (rad; the range in pybullet's
own joint coordinate, as `getJointInfo` reports it), the violation at the last step, the time
fraction with a violation above 0.1 rad, Σ progress and the mean torso height.

Note: after the burn-in every ankle already rests ≈ 0.22 rad out of its range (the shins droop
below 30°, spec env-quadruped.md), so violations up to ≈ 0.3 are the resting pose, not a leak.

    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_stop_leaks.py --starts 4   # ≈ 4 min CPU
    options: --jobs N (worker processes, default = CPU count), --out FILE
"""
import argparse
import json
import multiprocessing as mp
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pybullet_suite as S  # noqa: E402

DEG = np.pi / 180.0
# Action order: hip_1, ankle_1, ..., hip_4, ankle_4 (spec env-quadruped.md §1).
LOW = np.array([-40, 30, -40, -100, -40, -100, -40, 30]) * DEG
HIGH = np.array([40, 100, 40, -30, 40, -30, 40, 100]) * DEG


def violation(q):
    return np.maximum(np.maximum(LOW - q, q - HIGH), 0.0)


def case(args):
    g, morph, si, start = args
    env = S.make_env(morph)
    env.robot.np_random = S.StartAngles(start)
    env.reset()
    rob, body = env.robot, env.robot.robot_body
    worst, over, progress, z = np.zeros(8), np.zeros(8), 0.0, 0.0
    for k in range(S.BURN_IN + S.SCORED):
        t = k - S.BURN_IN
        env.step(np.zeros(8) if t < 0 else S.gait_action(g, t))
        if t < 0:
            continue
        progress += float(env.rewards[1])
        z += float(body.pose().xyz()[2])
        v = violation(np.array([j.get_state()[0] for j in rob.ordered_joints]))
        worst = np.maximum(worst, v)
        over += v > 0.1
    env.close()
    return {
        "gait": g["name"],
        "morphology": morph,
        "start": si,
        "progress": S.sig(progress),
        "max_violation": [S.sig(x, 4) for x in worst],
        "final_violation": [S.sig(x, 4) for x in v],
        "fraction_over_0_1": [S.sig(x / S.SCORED, 4) for x in over],
        "mean_z": S.sig(z / S.SCORED, 5),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "pybullet_stop_leaks.json"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--starts", type=int, default=4, help="the suite's first N start states")
    args = ap.parse_args()
    suite = json.load(open(os.path.join(HERE, "pybullet_suite.json")))
    starts = suite["starts"][: args.starts]
    tasks = [(g, m, si, s) for g in suite["gaits"] for m in S.MORPHS for si, s in enumerate(starts)]
    t0 = time.time()
    with mp.get_context("fork").Pool(args.jobs) as pool:
        cases = pool.map(case, tasks, chunksize=2)
    import pybullet  # noqa: F401  (version only)
    out = {
        "pybullet": S.importlib.metadata.version("pybullet"),
        "protocol": S.PROTOCOL + " Per case: the largest, the final and the >0.1 rad time fraction "
        "of each joint's range violation (rad) over the scored steps, Σ progress, mean torso z.",
        "range_low": LOW.tolist(),
        "range_high": HIGH.tolist(),
        "starts": len(starts),
        "cases": cases,
    }
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"{len(cases)} episodes in {time.time() - t0:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
