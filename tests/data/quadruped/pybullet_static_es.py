"""The paper's static-weight baseline for the Ant, trained in REAL pybullet 3.2.6: does the
reference's ES over the 12,288 weights of a fixed network get off the belly there, where ours
stalls (population mean ≈ 7 from generation 8 on, at P = 256 and 500)?

A small, faithful port of the static baseline (`enajx/ES`, spec `reference-algorithm.md` §3 and
§6): the network 28 → 128 → 64 → 8, tanh, no bias, centre from PyTorch's default init
U(±1/sqrt(fan_in)); mirrored Gaussian noise; candidate fitness = mean Σprogress over one episode
on the intact and one on the right-damaged body, minus 0.01·mean(w²) of the perturbed weights;
centred ranks, standardised; `w += α/(P·σ)·Σ F_k ε_k`; α 0.2 × 0.995, σ 0.1 × 0.999 per
generation. Episodes as `pybullet_transfer.py` (the paper protocol). Randomness: numpy with
`--seed`; not the crate's streams, so compare curves, not candidates.

Set-up as for `pybullet_suite.py`, then for example (P = 64, 20 generations, 2 processes):

    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_static_es.py --population 64 \
        --generations 20 --jobs 2 --json docs/pybullet_transfer/static_es_P64.json \
        --model-out /tmp/pb_static.safetensors --template models/ant_static_P256_g63.safetensors

and ours on the same budget:
`hebbian train configs/ant_static.toml --set population=64 --set generations=20`.
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
from pybullet_transfer import StaticNet, episode, load_model  # noqa: E402

SHAPES = [(128, 28), (64, 128), (8, 64)]
BODIES = ("intact", "right_damaged")


class Weights(StaticNet):
    """A static network given its flat weight vector (the `net_class` that `episode` builds)."""

    vector = None

    def __init__(self, _model):
        self.w, at = [], 0
        for out, inp in SHAPES:
            self.w.append(self.vector[at : at + out * inp].reshape(out, inp))
            at += out * inp


def candidate_fitness(vector, seed):
    """Mean Σprogress over the two training bodies (one episode each), and the steps run."""
    Weights.vector = vector
    runs = [episode(None, body, seed * 2 + i, Weights) for i, body in enumerate(BODIES)]
    return float(np.mean([r["fitness"] for r in runs])), sum(r["steps"] for r in runs)


def pytorch_default_init(rng):
    return np.concatenate(
        [rng.uniform(-1, 1, size=o * i).astype(np.float32) / np.sqrt(i) for o, i in SHAPES]
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--population", type=int, default=64)
    ap.add_argument("--generations", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--json", help="per-generation statistics, rewritten after every generation")
    ap.add_argument("--model-out", help="the centre as an Ant static model file for `hebbian eval`, "
                    "rewritten after every generation (needs --template)")
    ap.add_argument("--template", help="an Ant static model file whose header the model takes")
    args = ap.parse_args()
    if args.model_out and not args.template:
        raise SystemExit("--model-out needs --template (an Ant static model file, for its header)")
    if args.population < 2 or args.population % 2:
        raise SystemExit(f"--population must be even and at least 2, got {args.population}")
    rng = np.random.default_rng(args.seed)
    centre = pytorch_default_init(rng)
    alpha, sigma, half = 0.2, 0.1, args.population // 2
    pool = None
    if args.jobs > 1:
        import multiprocessing as mp

        pool = mp.Pool(args.jobs)
    history = []
    for gen in range(args.generations):
        start = time.time()
        eps = rng.standard_normal((half, centre.size)).astype(np.float32)
        eps = np.stack([e for pair in zip(eps, -eps) for e in pair])
        candidates = (centre[None, :] + sigma * eps).astype(np.float32)
        seeds = rng.integers(0, 2**31, size=args.population)
        jobs = list(zip(candidates, seeds.tolist()))
        results = pool.starmap(candidate_fitness, jobs) if pool else [candidate_fitness(*j) for j in jobs]
        returns = np.array([r[0] for r in results])
        steps = sum(r[1] for r in results)
        fitness = returns - 0.01 * np.mean(candidates**2, axis=1)
        ranks = np.empty(args.population)
        ranks[np.argsort(fitness)] = np.arange(args.population)
        u = ranks / (args.population - 1) - 0.5
        shaped = (u - u.mean()) / u.std()
        centre = centre + alpha / (args.population * sigma) * (shaped @ eps)
        if alpha > 0.001:
            alpha *= 0.995
        if sigma > 0.01:
            sigma *= 0.999
        row = dict(generation=gen, mean=float(returns.mean()), max=float(returns.max()),
                   min=float(returns.min()), std=float(returns.std()),
                   walkers=int((returns > 100).sum()), env_steps=steps,
                   seconds=time.time() - start)
        history.append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(dict(population=args.population, seed=args.seed, history=history), f, indent=1)
        if args.model_out:
            write_model(args.model_out, args.template, centre, gen)


def write_model(path, template, centre, generation):
    """`centre` as the template's tensors `weights.{l}`, the template's header otherwise."""
    meta, tensors = load_model(template)
    if meta.get("task") != "ant" or meta.get("rule") != "static":
        raise SystemExit(f"{template}: needs an Ant static model")
    at = 0
    for layer, (out, inp) in enumerate(SHAPES):
        name = f"weights.{layer}"
        if tensors.get(name, np.empty(0)).shape != (out, inp):
            raise SystemExit(f"{template}: {name} is not [{out}, {inp}]")
        tensors[name] = centre[at : at + out * inp].reshape(out, inp).astype("<f4")
        at += out * inp
    meta = dict(meta, generation=str(generation), origin="tests/data/quadruped/pybullet_static_es.py")
    header, blobs, offset = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        blob = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = dict(dtype="F32", shape=list(t.shape), data_offsets=[offset, offset + len(blob)])
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
