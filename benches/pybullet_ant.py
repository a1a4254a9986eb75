"""The pybullet anchor of `cargo bench --bench ant`: AntBulletEnv-v0 env steps per CPU-second
(random actions, 1000-step episodes, resets included), measured on this machine so the ratio is
taken in one sitting.

    python3 -m venv /tmp/pbenv && /tmp/pbenv/bin/pip install pybullet==3.2.6 numpy==1.26.4 gym==0.26.2
    /tmp/pbenv/bin/python benches/pybullet_ant.py [--episodes 5]

`PYBULLET_PYTHON=/tmp/pbenv/bin/python cargo bench --bench ant -- --env-only` runs it and prints
our env's steps per CPU-second as a ratio of this figure.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                                "quadruped"))
from pybullet_suite import make_env  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    actions = rng.uniform(-1, 1, (1000, 8))
    env = make_env("intact")
    env.seed(0)
    env.reset()
    for a in actions[:100]:  # warm-up
        env.step(a)
    c0, t0 = time.process_time(), time.perf_counter()
    for e in range(args.episodes):
        env.seed(e)
        env.reset()
        for a in actions:
            env.step(a)
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    n = args.episodes * len(actions)
    print(f"pybullet 3.2.6 AntBulletEnv-v0, random actions, {args.episodes} × 1000 steps: "
          f"{n / cpu:.0f} steps per CPU-second ({1e6 * cpu / n:.1f} µs), {n / wall:.0f} steps/s wall")


if __name__ == "__main__":
    main()
