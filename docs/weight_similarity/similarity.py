"""Does the evolved rule grow different weights on different bodies?

Reads the `weights.csv` files that `hebbian experiment weights` wrote for several seeds (every
file: each variant's plastic weights at the same `--at` steps, one rollout per variant; every
(seed, variant) pair starts from its own random weights) and prints, per step and layer, the mean
cosine similarity between the weight matrices of two episodes that started from different random
weights: on the same body, and on two different bodies. If the bodies' columns equal the
same-body column, the rule grows the same weights whatever the body it drives.

Usage (numpy only): python3 similarity.py DIR [DIR ...]   (one DIR per seed; run.sh makes them)
"""

import csv
import sys
from collections import defaultdict
from itertools import combinations

import numpy as np


def load(path):
    weights = defaultdict(list)
    with open(path) as f:
        for r in csv.DictReader(f):
            weights[(r["variant"], int(r["t"]), int(r["layer"]))].append(float(r["weight"]))
    return {k: np.array(v) for k, v in weights.items()}


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def main(dirs):
    runs = [load(f"{d}/weights.csv") for d in dirs]
    if len(runs) < 2:
        sys.exit("give at least two folders (seeds): pairs must start from different weights")
    keys = sorted(runs[0])
    variants = list(dict.fromkeys(k[0] for k in keys))
    steps = sorted({k[1] for k in keys})
    layers = sorted({k[2] for k in keys})
    pairs = [(a, b) for a, b in combinations(variants, 2)]
    header = ["step", "layer", "|w| (" + variants[0] + ")", "same body"] + [f"{a} ~ {b}" for a, b in pairs]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for t in steps:
        for layer in layers:
            def between(a, b):
                return np.mean([
                    cosine(r[(a, t, layer)], s[(b, t, layer)])
                    for i, r in enumerate(runs) for j, s in enumerate(runs)
                    if i != j and (a, t, layer) in r and (b, t, layer) in s
                ])
            same = np.mean([between(v, v) for v in variants])
            norm = np.linalg.norm(runs[0][(variants[0], t, layer)])
            row = [str(t), str(layer), f"{norm:.4g}", f"{same:.3f}"] + [f"{between(a, b):.3f}" for a, b in pairs]
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
