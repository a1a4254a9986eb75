"""A trained Ant model (Hebbian, or static weights), closed loop, in REAL pybullet 3.2.6
(AntBulletEnv-v0 and the two damaged bodies): does what our rapier3d Ant learned transfer to the
simulator of the paper?

Set-up as for `pybullet_suite.py` (this folder), plus safetensors is not needed (the file is read
by hand):

    python3 -m venv /tmp/pbenv
    /tmp/pbenv/bin/pip install pybullet==3.2.6 numpy==1.26.4 gym==0.26.2
    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_transfer.py MODEL --rollouts 50 --seed 123 \
        --json docs/pybullet_transfer/NAME.json

Compare with `hebbian eval MODEL --rollouts 50 --seed 123` (our simulator). Initial weights are
drawn with numpy from the model's distribution, not from the crate's ChaCha streams, so the two
agree in distribution, not episode by episode.

Static models run their three tanh layers (no bias) as they are. Hebbian models: the network is
a numpy port of `src/plastic` for ABCD_lr models without normalisation (the Ant's): file tensors
`coefficients.{l}` `[5, out, in]` in slot order A, B, C, η, D (or, for shared rules, merged or
anti-diagonal, `merged_rules.{l}` `[5, R]` read through `rule_of.{l}` `[out, in]`), folded to
ηA, ηB, ηC, ηD; each step runs the forward pass of every layer (tanh, no bias)
on the activities before any update, then `W += (A'·post + B')·pre + C'·post + D'`; actions are
the outputs clamped to [-1, 1] (NaN → 0). It was checked against the crate step by step (the
weights of `hebbian experiment weights` agree to 2e-6 relative over the first steps of an
episode, given the same observations).

Protocol (src/protocol.rs `Protocol::ant`, the reference's): a fresh env per episode,
`env.seed(seed)`, reset; the first network input is the reset observation; 40 zero-action
steps; then up to 960 policy steps, fitness = Σ `env.rewards[1]` (progress); after t = 200,
stop on a fall (`done`) or after more than 30 consecutive negative-progress steps.
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pybullet_suite import BURN_IN, MORPHS, make_env  # noqa: E402

MAX_ENV_STEPS = 1000
GRACE = 200
MAX_NEGATIVE = 30


def load_model(path):
    """(metadata, tensors) of a safetensors file of f32 tensors."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    dtypes = {"F32": "<f4", "U32": "<u4"}
    for name, v in header.items():
        if v["dtype"] not in dtypes:
            raise SystemExit(f"{path}: tensor {name} is {v['dtype']}, expected F32 (or U32)")
        a, b = v["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=dtypes[v["dtype"]]).reshape(v["shape"]).copy()
    return meta, tensors


class StaticNet:
    """The crate's static network (rule `static`): tanh layers, no bias, outputs clamped."""

    def __init__(self, path):
        meta, t = load_model(path)
        if meta.get("task") != "ant" or meta.get("rule") != "static":
            raise SystemExit(f"{path}: needs an Ant static model, got {meta.get('task')} {meta.get('rule')}")
        self.w = []
        while f"weights.{len(self.w)}" in t:
            self.w.append(t[f"weights.{len(self.w)}"])

    def reset(self, rng):
        pass

    def step(self, x):
        a = np.asarray(x, dtype=np.float32)
        for w in self.w:
            a = np.tanh(w @ a)
        return np.where(np.isnan(a), 0.0, np.clip(a, -1.0, 1.0)).astype(np.float64)


def network_class(path):
    """`StaticNet` for static models, `HebbianNet` otherwise."""
    return StaticNet if load_model(path)[0].get("rule") == "static" else HebbianNet


class HebbianNet:
    """The crate's per-synapse ABCD_lr network, one agent."""

    def __init__(self, path):
        meta, t = load_model(path)
        config = meta.get("config", "")
        if meta.get("task") != "ant" or meta.get("rule") != "ABCD_lr":
            raise SystemExit(f"{path}: needs an Ant ABCD_lr model, got {meta.get('task')} {meta.get('rule')}")
        if 'init = "uni"' not in config:
            raise SystemExit(f'{path}: this port handles `init = "uni"` only')
        if 'granularity = "neuron"' in config:
            raise SystemExit(f"{path}: this port handles rules per synapse or shared ones, not per neuron")
        self.layers = []
        while True:
            l = len(self.layers)
            if f"coefficients.{l}" in t:
                coefficients = t[f"coefficients.{l}"]
            elif f"merged_rules.{l}" in t:
                # Shared rules (merged or anti-diagonal): [5, R] read through `rule_of` [out, in].
                coefficients = t[f"merged_rules.{l}"][:, t[f"rule_of.{l}"]]
            else:
                break
            a, b, c, eta, d = coefficients
            self.layers.append((eta * a, eta * b, eta * c, eta * d))
        self.shapes = [k[0].shape for k in self.layers]
        self.w = None

    def reset(self, rng):
        self.w = [rng.uniform(-0.1, 0.1, size=s).astype(np.float32) for s in self.shapes]

    def step(self, x):
        acts = [np.asarray(x, dtype=np.float32)]
        for w in self.w:
            acts.append(np.tanh(w @ acts[-1]))
        for l, (a, b, c, d) in enumerate(self.layers):
            pre, post = acts[l], acts[l + 1]
            self.w[l] += (a * post[:, None] + b) * pre[None, :] + c * post[:, None] + d
        out = acts[-1]
        return np.where(np.isnan(out), 0.0, np.clip(out, -1.0, 1.0)).astype(np.float64)


def episode(model, body, seed, net_class=None):
    net = (net_class or network_class(model))(model)
    net.reset(np.random.default_rng(seed))
    env = make_env(body)
    env.seed(seed)
    x = np.array(env.reset(), dtype=np.float32)
    for _ in range(BURN_IN):
        env.step(np.zeros(8))
    x0 = env.robot.body_xyz[0]
    total, negative, steps, ended = 0.0, 0, 0, "time limit"
    for t in range(MAX_ENV_STEPS - BURN_IN):
        obs, _, done, _ = env.step(net.step(x))
        progress = float(env.rewards[1])
        total += progress
        steps += 1
        x = np.array(obs, dtype=np.float32)
        if t > GRACE:
            negative = negative + 1 if progress < 0 else 0
            if done or negative > MAX_NEGATIVE:
                ended = "fall" if done else "backward"
                break
    result = dict(body=body, seed=seed, fitness=total, steps=steps, ended=ended,
                  dx=float(env.robot.body_xyz[0] - x0))
    env.close()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--rollouts", type=int, default=10)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--bodies", default=",".join(MORPHS))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args()
    bodies = args.bodies.split(",")
    jobs = [(args.model, b, args.seed * 1000 + i) for b in bodies for i in range(args.rollouts)]
    start = time.time()
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.Pool(args.jobs) as pool:
            results = pool.starmap(episode, jobs)
    else:
        results = [episode(*j) for j in jobs]
    summary = {}
    for b in bodies:
        f = np.array([r["fitness"] for r in results if r["body"] == b])
        steps = np.array([r["steps"] for r in results if r["body"] == b])
        ended = {k: sum(r["ended"] == k for r in results if r["body"] == b)
                 for k in ("time limit", "fall", "backward")}
        summary[b] = dict(n=len(f), mean=float(f.mean()), std=float(f.std()), min=float(f.min()),
                          max=float(f.max()), mean_steps=float(steps.mean()), ended=ended)
        print(f"{b:14s} n={len(f):3d}  Σprogress {f.mean():8.1f} ± {f.std():6.1f}  "
              f"(min {f.min():.1f}, max {f.max():.1f}, mean steps {steps.mean():.0f}; ended: "
              + ", ".join(f"{k} {v}" for k, v in ended.items()) + ")")
    print(f"# {time.time() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(model=os.path.basename(args.model), rollouts=args.rollouts,
                           seed=args.seed, summary=summary,
                           fitness={b: [r["fitness"] for r in results if r["body"] == b]
                                    for b in bodies}), f, indent=1)


if __name__ == "__main__":
    main()
