#!/usr/bin/env bash
# The paper's rule ablation (appendix) at a small budget on the Ant: A, AD, ABC, ABCD, ABCD_lr,
# each P = 64, 30 generations, intact + right-damaged, L2 0.01, seed 0 (the budget of the
# "Beyond the paper" runs, so ABCD_lr here is that table's per-synapse OpenAI-ES run), then
# every final centre over 100 rollouts per body with `hebbian experiment compare`. ABCD_lr is the
# "Beyond the paper" per-synapse OpenAI-ES run (same config), copied when it exists.
# Usage: docs/ablation/run.sh [path/to/hebbian]   (about 45 minutes on 2 cores)
set -euo pipefail
bin=${1:-target/release/hebbian}
runs=models/runs/ablation
models=()
for rule in A AD ABC ABCD ABCD_lr; do
  dir="$runs/$rule"
  same=models/runs/beyond/synapse_openai_es
  if [ "$rule" = ABCD_lr ] && [ ! -e "$dir" ] && [ -f "$same/checkpoint.safetensors" ]; then
    mkdir -p "$runs" && cp -r "$same" "$dir"
  fi
  if [ -f "$dir/checkpoint.safetensors" ]; then
    "$bin" train --resume "$dir" --quiet
  else
    "$bin" train --config configs/ant.toml --set population=64 --set generations=30 \
      --set network.rule=\"$rule\" --out "$dir" --quiet
  fi
  models+=(--model "$dir/model.safetensors")
done
"$bin" experiment compare --rollouts 100 --seed 123 --quiet --out docs/ablation/compare \
  --variant intact --variant right_damaged --variant left_damaged "${models[@]}"
