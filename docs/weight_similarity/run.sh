#!/usr/bin/env bash
# The evolved Ant rule's weights on the three bodies, three seeds each (every episode from its own
# random weights), compared by cosine similarity: docs/weight_similarity/README.md.
# Usage: docs/weight_similarity/run.sh [model] [path/to/hebbian]   (seconds on 2 cores)
set -euo pipefail
model=${1:-models/ant_ABCD_lr_P256_g294.safetensors}
bin=${2:-target/release/hebbian}
tmp=$(mktemp -d)
for seed in 0 1 2; do
  "$bin" experiment weights --model "$model" --seed "$seed" --at 0,20,100,200 --quiet \
    --out "$tmp/seed$seed" > /dev/null
done
python3 "$(dirname "$0")/similarity.py" "$tmp"/seed0 "$tmp"/seed1 "$tmp"/seed2
rm -rf "$tmp"
