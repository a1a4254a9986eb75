"""Closed-loop random controllers in REAL pybullet 3.2.6 and in our rapier3d Ant: what the ES
sees at generation 0.

The open-loop suite (`pybullet_suite.py`) compares gaits; this compares what evolution explores:
networks in feedback with the body. It draws the networks of an ES generation 0 — the static
baseline's (PyTorch's default init U(±1/sqrt(fan_in)) as the centre, plus σ = 0.1 Gaussian noise,
the reference's `enajx/ES`) and the Hebbian run's (coefficients N(0, 1), per-synapse ABCD_lr, the
weights drawn U(-0.1, 0.1) every episode) — writes each as a `hebbian` model file, and scores
each with the episode protocol of `pybullet_transfer.py` (40 zero steps, ≤ 960 policy steps,
Σ progress, early stop after t = 200) in pybullet and with `hebbian eval` in ours. It prints,
per family and body, the distribution of Σ progress in both simulators and the Spearman rank
correlation of the per-network means.

Set-up as for `pybullet_suite.py`; build the binary first (`cargo build --release`):

    /tmp/pbenv/bin/python tests/data/quadruped/pybullet_random_controllers.py --networks 32 \
        --rollouts 2 --json docs/pybullet_transfer/random_controllers.json

Initial Hebbian weights are drawn by numpy in pybullet and by the crate in ours, so the two agree
in distribution, not episode by episode; static networks are the same numbers in both.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
from pybullet_transfer import HebbianNet, StaticNet, episode  # noqa: E402

SHAPES = [(128, 28), (64, 128), (8, 64)]
CONFIG = """seed = 0
generations = 1
population = 2

[task]
name = "ant"
variants = ["intact", "right_damaged", "left_damaged"]

[network]
rule = "{rule}"
init = "uni"
granularity = "synapse"
"""


def write_model(path, rule, tensors):
    """A `hebbian-model` safetensors file (the crate's format: f32 tensors + metadata)."""
    meta = {"format": "hebbian-model", "version": "1", "task": "ant", "rule": rule,
            "generation": "0", "genome_len": str(sum(t.size for t in tensors.values())),
            "config": CONFIG.format(rule=rule)}
    header, blobs, off = {"__metadata__": meta}, [], 0
    for name, t in tensors.items():
        b = np.ascontiguousarray(t, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def static_population(n, seed, sigma=0.1):
    """Mirrored pairs around one PyTorch-default-init centre, as the ES's generation 0."""
    rng = np.random.default_rng(seed)
    centre = [rng.uniform(-1, 1, s) / np.sqrt(s[1]) for s in SHAPES]
    nets = []
    for _ in range(n // 2):
        eps = [rng.standard_normal(s) for s in SHAPES]
        for sign in (1, -1):
            nets.append({f"weights.{l}": c + sign * sigma * e
                         for l, (c, e) in enumerate(zip(centre, eps))})
    return nets


def hebbian_population(n, seed):
    """Coefficients N(0, 1) in slot order A, B, C, η, D, as the Hebbian ES's initial draw."""
    rng = np.random.default_rng(seed)
    return [{f"coefficients.{l}": rng.standard_normal((5,) + s) for l, s in enumerate(SHAPES)}
            for _ in range(n)]


def ours(binary, path, bodies, rollouts, seed):
    out = path + ".eval.json"
    subprocess.run([binary, "eval", path, "--rollouts", str(rollouts), "--seed", str(seed),
                    "--variants", ",".join(bodies), "--json", out],
                   check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        rep = json.load(f)
    return {v["variant"]: v["scores"] for v in rep["variants"]}


def pybullet(net_class, path, bodies, rollouts, seed):
    return {b: [episode(path, b, seed * 1000 + i, net_class)["fitness"] for i in range(rollouts)]
            for b in bodies}


def spearman(x, y):
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--networks", type=int, default=32, help="per family (even)")
    ap.add_argument("--rollouts", type=int, default=2, help="per network and body")
    ap.add_argument("--bodies", default="intact,right_damaged")
    ap.add_argument("--families", default="static,hebbian")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "hebbian"))
    ap.add_argument("--json")
    args = ap.parse_args()
    bodies = args.bodies.split(",")
    start = time.time()
    report = {"networks": args.networks, "rollouts": args.rollouts, "seed": args.seed,
              "families": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for family in args.families.split(","):
            if family == "static":
                nets, rule, cls = static_population(args.networks, args.seed), "static", StaticNet
            elif family == "hebbian":
                nets, rule, cls = hebbian_population(args.networks, args.seed), "ABCD_lr", HebbianNet
            else:
                raise SystemExit(f"--families: unknown family `{family}` (static, hebbian)")
            rows = []
            for k, tensors in enumerate(nets):
                path = os.path.join(tmp, f"{family}_{k}.safetensors")
                write_model(path, rule, tensors)
                rows.append({"ours": ours(args.binary, path, bodies, args.rollouts, args.seed + k),
                             "pybullet": pybullet(cls, path, bodies, args.rollouts, args.seed + k)})
            fam = {}
            for b in bodies:
                o = np.array([np.mean(r["ours"][b]) for r in rows])
                p = np.array([np.mean(r["pybullet"][b]) for r in rows])
                fam[b] = {"ours": o.tolist(), "pybullet": p.tolist(), "spearman": spearman(o, p)}
                for name, v in (("ours", o), ("pybullet", p)):
                    print(f"{family:8s} {b:14s} {name:9s} mean {v.mean():7.1f}  std {v.std():6.1f}  "
                          f"max {v.max():7.1f}  > 20: {np.mean(v > 20):4.0%}")
                print(f"{family:8s} {b:14s} Spearman of per-network means: {fam[b]['spearman']:.2f}")
            report["families"][family] = fam
    print(f"# {time.time() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
