"""Reference data for the Ant: real pybullet's AntBulletEnv-v0 on many open-loop gaits.

Writes `pybullet_suite.json` and `traces/*.csv` next to this file; `tests/quadruped_pybullet_suite.rs`
replays every case on our rapier3d Ant and compares (see README.md in this folder).

Set-up (Python 3.11; pybullet 3.2.6 ships a manylinux wheel; gym only because pybullet_envs imports it):

    python3 -m venv /tmp/pbenv
    /tmp/pbenv/bin/pip install pybullet==3.2.6 numpy==1.26.4 gym==0.26.2

Run from anywhere (≈12 min CPU, i.e. ≈6–8 min wall on 2 free cores; deterministic, same output every run):

    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_suite.py            # everything
    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_suite.py --reuse-gaits
        # keep the gaits of the existing JSON (skip the hill-climb), rerun the suite and traces
    options: --jobs N (worker processes, default = CPU count), --out DIR,
             --solver-iterations N (Bullet's sweeps per substep instead of the scene's 5; with
             --reuse-gaits and a copy of the reference JSON in DIR this wrote
             pybullet_suite_20_iterations.json)

Robot: pybullet_envs' `gym_locomotion_envs.AntBulletEnv` (stock mjcf/ant.xml) for "intact"; for the
damaged bodies the same `robot_locomotors.Ant` class with the XML swapped
(models/morphologies/ant_asym_right.xml = "right_damaged", ant_asym_left.xml = "left_damaged"),
as HebbianMetaLearning registers them. `pybullet_envs/__init__.py` breaks on gym 0.26's registry, so
only the package path is exposed and the two modules are imported directly. A fresh env (own DIRECT
client) per episode, as in the paper.

Protocol per case (gait × morphology × start):
  * reset with the start: 8 joint angles in action order (hip_1, ankle_1, hip_2, ankle_2, hip_3,
    ankle_3, hip_4, ankle_4), zero joint velocities, torso at its default reset pose (0, 0, 0.75),
    identity orientation; pybullet's own U(-0.1, 0.1) draw is replaced by handing the robot an RNG
    object that returns the start's angles in order.
    Starts: numpy `default_rng(0).uniform(-0.1, 0.1, (N, 8))` rounded to 6 significant digits; start
    0 is exactly pybullet's `env.seed(0)` draw (spec env-quadruped.md §5).
  * 40 zero-action env steps (burn-in), then 960 scored steps of the gait; no early stop.
  * Σ progress over the 960 scored steps, progress = `env.rewards[1]` (potential difference,
    potential = -dist(body (X, Y), (1000, 0)) / 0.0165); min torso z over the scored steps;
    final torso x, y and yaw.

Gaits, all in one form so that Rust can regenerate the exact actions: for scored step t = 0..959
    action_j(t) = clip(b_j + a_j * sin(2*pi*f*0.0165*t + phi_j), -1, 1)     (float64)
  * "calibration": the spec §5 gait (= `calibration_gait` in src/env/quadruped/mod.rs);
  * "random_k": a ~ U(0,1), phi ~ U(-pi,pi), b ~ U(-0.5,0.5), f ~ U(0.5,3) (default_rng(1));
    "random_low_k": the same with a ~ U(0, 0.3) (low amplitude);
  * "climb_<morph>_k": hill-climbed forward walkers, a (1+1) hill-climb (Gaussian perturbation of
    all 25 parameters with an adapted step, keep if better) on the mean Σ progress over 2 climbing
    starts (default_rng(7), not among the suite's starts) and 300 scored steps, 100 iterations.
    Random sine gaits never move the intact ant (it stays on its belly), but they do move the
    right-damaged one, so "climb_right_damaged_k" (k = 0, 1) starts from the best of 16 random
    gaits, "climb_intact_k" (k = 0, 1) continues from climb_right_damaged_k on the intact body, and
    "climb_intact_2" starts from the calibration gait;
  * "hold_*": constant actions (a = 0) against the joint stops. Ankle signs (spec §1): positive
    angle lowers legs 1 & 4, negative lowers legs 2 & 3, so ankles "down" = (+1, -1, -1, +1) on
    (ankle_1..ankle_4) and "up" = (-1, +1, +1, -1). After the burn-in the ant lies on its belly with
    the ankles ~0.3 rad, i.e. out of their [30°, 100°] range on the "up" side.
Gait parameters are rounded to 6 significant digits before the suite runs; the JSON holds the
values that were actually used.

Traces (`traces/<gait>__<morphology>__s<start>.csv`): the 40 burn-in steps + the first 200 scored
steps, one row per env step: `step` = 0-based env step index (row k is the state *after* env step
k; steps 0..39 burn-in, step 40 + t = scored step t), `progress` = that step's rewards[1], torso
x, y, z (base position = torso centre), roll, pitch, yaw (getEulerFromQuaternion of the torso),
q0..q7 / qd0..qd7 = getJointState position / velocity in action order (ankle velocities as
pybullet reports them, i.e. physical rate / sqrt(2), spec §1 quirk).
"""
import argparse
import csv
import importlib.metadata
import importlib.util
import json
import math
import multiprocessing as mp
import os
import sys
import time
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
XML = {
    "right_damaged": os.path.join(ROOT, "models", "morphologies", "ant_asym_right.xml"),
    "left_damaged": os.path.join(ROOT, "models", "morphologies", "ant_asym_left.xml"),
}
MORPHS = ["intact", "right_damaged", "left_damaged"]
DT = 0.0165
BURN_IN = 40
SCORED = 960
TRACE_SCORED = 200
N_STARTS = 32
N_RANDOM = 6
N_RANDOM_LOW = 2
CLIMBERS = 2  # per morphology (right_damaged from random points, then intact from those)
CLIMB_CANDIDATES = 16
CLIMB_SCREEN = 200  # scored steps when screening the random candidates
CLIMB_ITERS = 100
CLIMB_HORIZON = 300  # scored steps per climbing episode (the suite then scores all 960)
# `--solver-iterations N`: Bullet's constraint-solver sweeps per substep instead of the scene's 5
# (None = pybullet_envs' own setting, the reference data).
SOLVER_ITERATIONS = None

PROTOCOL = (
    "pybullet AntBulletEnv-v0 robot (pybullet_envs gym_locomotion_envs/robot_locomotors; damaged bodies = "
    "robot_locomotors.Ant with models/morphologies/ant_asym_{right,left}.xml), a fresh env per episode. "
    "Reset: torso at (0,0,0.75) identity, joints = start (action order hip_1, ankle_1, ..., hip_4, ankle_4), "
    "zero velocities. 40 zero-action steps (burn-in), then 960 steps of "
    "a_j(t) = clip(b_j + a_j*sin(2*pi*f*0.0165*t + phi_j), -1, 1), t = 0..959, no early stop. "
    "progress = sum of rewards[1] (potential difference) over the 960 scored steps; min_z = min torso z over "
    "the scored steps; final_xy_yaw = torso x, y and yaw after the last step."
)


def sig(x, n=6):
    """Round to n significant digits (as a Python float)."""
    return float(f"{float(x):.{n}g}")


# ---------------------------------------------------------------- pybullet env


def _envs():
    if "pybullet_envs" not in sys.modules:
        spec = importlib.util.find_spec("pybullet_envs")
        pkg = types.ModuleType("pybullet_envs")
        pkg.__path__ = list(spec.submodule_search_locations)
        sys.modules["pybullet_envs"] = pkg
    from pybullet_envs import gym_locomotion_envs, robot_locomotors

    return gym_locomotion_envs, robot_locomotors


class StartAngles:
    """Stands in for the robot's np_random: `uniform` returns the start's joint angles in order."""

    def __init__(self, q):
        self.q = [float(v) for v in q]
        self.i = 0

    def uniform(self, low=None, high=None, size=None):
        v = self.q[self.i]
        self.i += 1
        return v


def make_env(morph):
    gle, rl = _envs()
    if morph == "intact":
        return gle.AntBulletEnv()
    xml = XML[morph]

    class DamagedAnt(rl.Ant):
        def __init__(self):
            rl.WalkerBase.__init__(self, xml, "torso", action_dim=8, obs_dim=28, power=2.5)

    class DamagedAntEnv(gle.WalkerBaseBulletEnv):
        def __init__(self):
            self.robot = DamagedAnt()
            gle.WalkerBaseBulletEnv.__init__(self, self.robot, False)

    return DamagedAntEnv()


def gait_action(g, t):
    a, phi, b = (np.asarray(g[k], dtype=np.float64) for k in ("a", "phi", "b"))
    w = 2.0 * math.pi * g["f"] * DT
    return np.clip(b + a * np.sin(w * t + phi), -1.0, 1.0)


def episode(morph, start, g, trace=False, scored=SCORED):
    """One case (`scored` steps after the burn-in). Returns (Σ progress, min z, [x, y, yaw],
    trace rows or None)."""
    import pybullet

    env = make_env(morph)
    env.robot.np_random = StartAngles(start)
    env.reset()
    if SOLVER_ITERATIONS is not None:
        env._p.setPhysicsEngineParameter(numSolverIterations=SOLVER_ITERATIONS)
    rob = env.robot
    body, p = rob.robot_body, env._p
    rows = [] if trace else None
    total, min_z = 0.0, float("inf")
    for k in range(BURN_IN + scored):
        t = k - BURN_IN
        act = np.zeros(8) if t < 0 else gait_action(g, t)
        env.step(act)
        prog = float(env.rewards[1])
        xyz = body.pose().xyz()
        if t >= 0:
            total += prog
            min_z = min(min_z, float(xyz[2]))
        if trace and t < TRACE_SCORED:
            orn = body.pose().orientation()
            rpy = pybullet.getEulerFromQuaternion(orn)
            js = [j.get_state() for j in rob.ordered_joints]
            rows.append([k, prog, *xyz, *rpy, *[s[0] for s in js], *[s[1] for s in js]])
    xyz = body.pose().xyz()
    yaw = pybullet.getEulerFromQuaternion(body.pose().orientation())[2]
    env.close()
    del p
    return total, min_z, [float(xyz[0]), float(xyz[1]), float(yaw)], rows


def _case(args):
    gi, morph, si, g, start, trace = args
    return (gi, morph, si) + episode(morph, start, g, trace)


# ---------------------------------------------------------------- gaits


def gait(name, kind, a, phi, b, f):
    return {
        "name": name,
        "kind": kind,
        "a": [sig(v) for v in a],
        "phi": [sig(v) for v in phi],
        "b": [sig(v) for v in b],
        "f": sig(f),
    }


def random_params(rng, amp=1.0):
    return (
        rng.uniform(0, amp, 8),
        rng.uniform(-math.pi, math.pi, 8),
        rng.uniform(-0.5, 0.5, 8),
        rng.uniform(0.5, 3.0),
    )


def hold(name, b):
    return gait(name, "hold", [0.0] * 8, [0.0] * 8, b, 1.0)


DOWN = [1.0, -1.0, -1.0, 1.0]  # ankle_1..ankle_4 action that lowers each shin (into range)


def ankles(v4, hips=(0.0, 0.0, 0.0, 0.0)):
    out = []
    for h, a in zip(hips, v4):
        out += [h, a]
    return out


def fixed_gaits():
    gs = [
        gait(
            "calibration",
            "calibration",
            [1, 1, 1, 0.2027, 0, 0, 0.0580, 1],
            [0.4502, 0.7508, 0.7408, 1.8518, -1.0434, 2.2623, -3.5556, -0.1650],
            [0.1949, 0.4290, -0.1032, -0.1012, 0.9943, 0.7274, -0.0819, -0.1144],
            1.8465,
        )
    ]
    rng = np.random.default_rng(1)
    for k in range(N_RANDOM):
        gs.append(gait(f"random_{k}", "random", *random_params(rng)))
    for k in range(N_RANDOM_LOW):
        gs.append(gait(f"random_low_{k}", "random_low", *random_params(rng, 0.3)))
    up = [-v for v in DOWN]
    gs += [
        hold("hold_hips_plus", ankles([0] * 4, [1] * 4)),
        hold("hold_hips_minus", ankles([0] * 4, [-1] * 4)),
        hold("hold_ankles_plus", ankles([1] * 4)),
        hold("hold_ankles_minus", ankles([-1] * 4)),
        hold("hold_ankles_up", ankles(up)),
        hold("hold_ankles_down", ankles(DOWN)),
        hold("hold_hip1_plus", ankles([0] * 4, [1, 0, 0, 0])),
        hold("hold_hips_plus_ankles_down", ankles(DOWN, [1] * 4)),
        hold("hold_hips_minus_ankles_up", ankles(up, [-1] * 4)),
        # mixed: hips alternate into both stops, legs 1/3 pressed down, legs 2/4 up / half down
        hold("hold_mixed", ankles([1.0, 1.0, -0.5, -1.0], [1.0, -1.0, 0.5, -0.7])),
    ]
    return gs


def _mean_progress(g, morph, starts, scored=CLIMB_HORIZON):
    return float(np.mean([episode(morph, s, g, scored=scored)[0] for s in starts]))


def climb(args):
    """(1+1) hill-climb of the sine parameters on one morphology; returns (gait, log).

    Initial point: `init` if given, else the best of CLIMB_CANDIDATES random gaits (screened over
    CLIMB_SCREEN scored steps). Each iteration perturbs all 25 parameters (Gaussian, step size
    adapted: x1.5 on success, x0.9 on failure, within [0.5, 2]) and keeps the candidate if its
    mean Σ progress over the climbing starts (CLIMB_HORIZON scored steps) is higher."""
    morph, k, starts, init = args
    seed = 100 + 10 * MORPHS.index(morph) + k
    rng = np.random.default_rng(seed)
    if init is None:
        cands = [gait("cand", "climbed", *random_params(rng)) for _ in range(CLIMB_CANDIDATES)]
        screen = [_mean_progress(g, morph, starts, CLIMB_SCREEN) for g in cands]
        best = cands[int(np.argmax(screen))]
        origin = f"best of {CLIMB_CANDIDATES} random gaits (default_rng({seed}))"
    else:
        best = dict(init)
        origin = f"from {init['name']}"
    best_fit = _mean_progress(best, morph, starts)
    log = [round(best_fit, 2)]
    step = 1.0
    for it in range(CLIMB_ITERS):
        a = np.clip(np.array(best["a"]) + step * 0.15 * rng.standard_normal(8), 0.0, 1.0)
        phi = np.array(best["phi"]) + step * 0.4 * rng.standard_normal(8)
        phi = (phi + math.pi) % (2 * math.pi) - math.pi
        b = np.clip(np.array(best["b"]) + step * 0.15 * rng.standard_normal(8), -1.0, 1.0)
        f = float(np.clip(best["f"] + step * 0.15 * rng.standard_normal(), 0.5, 3.0))
        g = gait("cand", "climbed", a, phi, b, f)
        fit = _mean_progress(g, morph, starts)
        if fit > best_fit:
            best, best_fit = g, fit
            step = min(step * 1.5, 2.0)
        else:
            step = max(step * 0.9, 0.5)
        log.append(round(best_fit, 2))
    best = dict(best, name=f"climb_{morph}_{k}", kind="climbed")
    info = {"gait": best["name"], "seed": seed, "origin": origin, "horizon": CLIMB_HORIZON,
            "best_per_iter": log}
    return best, info


# ---------------------------------------------------------------- main


def trace_name(gname, morph, si):
    return f"{gname}__{morph}__s{si}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--reuse-gaits", action="store_true")
    ap.add_argument("--starts", type=int, default=N_STARTS, help="start states per case")
    ap.add_argument("--solver-iterations", type=int,
                    help="Bullet solver sweeps per substep (default: the scene's 5); with --reuse-gaits "
                         "and an --out folder holding a copy of the reference JSON, measures how much of "
                         "pybullet's behaviour is its solver not converging")
    args = ap.parse_args()
    global SOLVER_ITERATIONS
    SOLVER_ITERATIONS = args.solver_iterations
    t0 = time.time()
    starts = [[sig(v) for v in row] for row in np.random.default_rng(0).uniform(-0.1, 0.1, (args.starts, 8))]
    climb_starts = [[sig(v) for v in row] for row in np.random.default_rng(7).uniform(-0.1, 0.1, (2, 8))]
    out_json = os.path.join(args.out, "pybullet_suite.json")
    ctx = mp.get_context("fork")
    with ctx.Pool(args.jobs) as pool:
        if args.reuse_gaits:
            old = json.load(open(out_json))
            gaits, climb_log = old["gaits"], old.get("climb_log", [])
        else:
            gaits = fixed_gaits()
            # Random sine gaits don't move the intact ant at all (it stays on its belly; 40 of 40
            # within ±7 Σprogress over 300 steps) but do move the right-damaged one, so climb on
            # right_damaged from random points first, then continue each result on intact; one
            # more intact climb starts from the calibration gait (a strong intact walker).
            calib = next(g for g in gaits if g["name"] == "calibration")
            phase1 = [("right_damaged", k, climb_starts, None) for k in range(CLIMBERS)]
            phase1.append(("intact", CLIMBERS, climb_starts, calib))
            first = pool.map(climb, phase1, chunksize=1)
            right, from_calib = first[:CLIMBERS], first[CLIMBERS:]
            intact = pool.map(climb, [("intact", k, climb_starts, g) for k, (g, _) in enumerate(right)],
                              chunksize=1)
            climbed = intact + from_calib + right
            for g, log in climbed:
                print(f"{log['gait']} ({log['origin']}): {log['best_per_iter'][0]} -> "
                      f"{log['best_per_iter'][-1]}", flush=True)
            insert = next(i for i, g in enumerate(gaits) if g["kind"] == "hold")
            gaits[insert:insert] = [g for g, _ in climbed]
            climb_log = [log for _, log in climbed]
        print(f"gaits ready after {time.time() - t0:.0f} s", flush=True)

        # The strongest climbed walker per morphology (final climbing fitness) of random origin.
        best_climb = {}
        random_origin = [l for l in climb_log if not l["origin"].startswith("from calibration")]
        for log in sorted(random_origin, key=lambda l: l["best_per_iter"][-1]):
            best_climb[log["gait"].rsplit("_", 1)[0][len("climb_"):]] = log["gait"]
        first_random = next(g["name"] for g in gaits if g["kind"] == "random")
        traced = {
            ("calibration", "intact", 0),
            ("calibration", "right_damaged", 0),
            ("hold_hips_plus", "intact", 0),
            ("hold_ankles_up", "intact", 0),
            ("hold_ankles_down", "intact", 0),
            ("hold_hips_plus_ankles_down", "intact", 0),
            (best_climb["intact"], "intact", 0),
            (best_climb["right_damaged"], "right_damaged", 0),
            (first_random, "left_damaged", 0),
        }
        tasks = [
            (gi, m, si, g, s, (g["name"], m, si) in traced)
            for gi, g in enumerate(gaits)
            for m in MORPHS
            for si, s in enumerate(starts)
        ]
        done = pool.map(_case, tasks, chunksize=2)
    print(f"suite done after {time.time() - t0:.0f} s", flush=True)

    by = {(gi, m, si): r for gi, m, si, *r in done}
    results = []
    tdir = os.path.join(args.out, "traces")
    os.makedirs(tdir, exist_ok=True)
    cols = ["step", "progress", "x", "y", "z", "roll", "pitch", "yaw"]
    cols += [f"q{j}" for j in range(8)] + [f"qd{j}" for j in range(8)]
    trace_files = []
    for gi, g in enumerate(gaits):
        for m in MORPHS:
            rs = [by[(gi, m, si)] for si in range(len(starts))]
            prog = [sig(r[0]) for r in rs]
            results.append(
                {
                    "gait": g["name"],
                    "morphology": m,
                    "progress": prog,
                    "mean": sig(np.mean([r[0] for r in rs])),
                    "min_z": [sig(r[1]) for r in rs],
                    "final_xy_yaw": [[sig(v) for v in r[2]] for r in rs],
                }
            )
            for si, r in enumerate(rs):
                if r[3] is not None:
                    name = trace_name(g["name"], m, si) + ".csv"
                    trace_files.append("traces/" + name)
                    with open(os.path.join(tdir, name), "w", newline="") as fh:
                        w = csv.writer(fh)
                        w.writerow(cols)
                        for row in r[3]:
                            w.writerow([row[0]] + [f"{v:.6g}" for v in row[1:]])
    data = {
        "pybullet": importlib.metadata.version("pybullet"),
        "numpy": np.__version__,
        "solver_iterations": SOLVER_ITERATIONS if SOLVER_ITERATIONS is not None else 5,
        "generator": "tests/data/quadruped/pybullet_suite.py",
        "protocol": PROTOCOL,
        "burn_in": BURN_IN,
        "scored_steps": SCORED,
        "dt": DT,
        "starts": starts,
        "climb_starts": climb_starts,
        "climb_log": climb_log,
        "gaits": gaits,
        "results": results,
        "traces": sorted(trace_files),
    }
    with open(out_json, "w") as fh:
        json.dump(data, fh, indent=1)
        fh.write("\n")
    print(f"{'gait':32} {'intact':>9} {'right':>9} {'left':>9}")
    for g in gaits:
        ms = [r["mean"] for r in results if r["gait"] == g["name"]]
        print(f"{g['name']:32} " + " ".join(f"{v:9.1f}" for v in ms))
    print(f"wrote {out_json} and {len(trace_files)} traces in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
