"""Where pybullet's Ant touches the ground, on one case of the suite: the counterpart of
`cargo run --release --example ant_contacts -- GAIT MORPHOLOGY START`, printing the same table.

The normal force on each body at rest after the burn-in; then per window of env steps, for each
body in contact: the steps it touched, its mean contact points
(`getContactPoints` rows) and its mean normal force per step (N), then how far each joint went past
its stop. pybullet reports a contact's normal force as its last substep's impulse over the env
step (0.0165 s), a quarter of the force; it is multiplied by the 4 substeps here (a resting ant's
forces then sum to its weight, as ours do).

    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_contacts.py climb_intact_2 right_damaged 0
    options: --solver-iterations N (Bullet's sweeps per substep instead of the scene's 5)

Set-up as `pybullet_suite.py` (its docstring).
"""
import argparse
import json
import os

import numpy as np

import pybullet_suite as suite

WINDOWS = [(0, 40), (40, 300), (300, 600), (600, 1000)]
SUBSTEPS = 4
# pybullet link name -> the body names of the Rust example (each thigh has two capsules).
BODY = {"base": "torso"}
for k, (leg, aux) in enumerate([("front_left", 1), ("front_right", 2), ("left_back", 3), ("right_back", 4)], 1):
    BODY[f"{leg}_leg"] = BODY[f"aux_{aux}"] = f"thigh{k}"
    BODY[f"{leg}_foot"] = f"foot{k}"
ORDER = ["torso"] + [f"{part}{k}" for k in range(1, 5) for part in ("thigh", "foot")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gait")
    ap.add_argument("morphology", choices=suite.MORPHS)
    ap.add_argument("start", type=int)
    ap.add_argument("--solver-iterations", type=int)
    args = ap.parse_args()
    data = json.load(open(os.path.join(suite.HERE, "pybullet_suite.json")))
    gait = next((g for g in data["gaits"] if g["name"] == args.gait), None)
    if gait is None:
        raise SystemExit(f"pybullet_suite.json: no gait `{args.gait}`")
    env = suite.make_env(args.morphology)
    env.robot.np_random = suite.StartAngles(data["starts"][args.start])
    env.reset()
    p = env._p
    if args.solver_iterations is not None:
        p.setPhysicsEngineParameter(numSolverIterations=args.solver_iterations)
    rob = env.robot
    uid = rob.robot_body.bodies[rob.robot_body.bodyIndex]
    names = {-1: "base"}
    names.update({j: p.getJointInfo(uid, j)[12].decode() for j in range(p.getNumJoints(uid))})
    ranges = np.array([[j.lowerLimit, j.upperLimit] for j in rob.ordered_joints])
    load = [{} for _ in WINDOWS]  # body -> [steps, points, Σ force]
    past = np.zeros(8)
    progress = 0.0
    for k in range(suite.BURN_IN + suite.SCORED):
        t = k - suite.BURN_IN
        env.step(np.zeros(8) if t < 0 else suite.gait_action(gait, t))
        window = next(i for i, (lo, hi) in enumerate(WINDOWS) if lo <= k < hi)
        touched = {}
        for c in p.getContactPoints(bodyA=uid):
            if c[2] == uid:
                continue
            body = BODY[names[c[3]]]
            n, f = touched.get(body, (0, 0.0))
            touched[body] = (n + 1, f + SUBSTEPS * c[9])
        if k + 1 == suite.BURN_IN:
            at_rest = [f"{b}:{touched[b][1]:.1f}" for b in ORDER if b in touched]
        for body, (n, f) in touched.items():
            cell = load[window].setdefault(body, [0, 0, 0.0])
            cell[0] += 1
            cell[1] += n
            cell[2] += f
        if t >= 0:
            progress += float(env.rewards[1])
            q = np.array([j.get_state()[0] for j in rob.ordered_joints])
            past = np.maximum(past, np.maximum(ranges[:, 0] - q, q - ranges[:, 1]))
    env.close()
    print(f"{args.gait} / {args.morphology} / start {args.start}: Σ progress {progress:.1f}")
    print(f"at rest (last burn-in step), normal force N: {' '.join(at_rest)}")
    print("window: body (steps in contact, mean points, mean normal force N per step)")
    for (lo, hi), cells in zip(WINDOWS, load):
        parts = [f"{b}:({cells[b][0]}, {cells[b][1] / cells[b][0]:.2f}, {cells[b][2] / (hi - lo):.1f})"
                 for b in ORDER if b in cells]
        print(f"{lo}-{hi}: {' '.join(parts)}")
    print("largest distance past each stop (rad, scored steps, action order): "
          f"[{', '.join(f'{v:.2f}' for v in past)}]")


if __name__ == "__main__":
    main()
