#!/usr/bin/env bash
# The "Beyond the paper" comparison on the Ant (README): four short runs at one budget
# (P = 64, 30 generations, intact + right-damaged, L2 0.01, seed 0), then every final centre
# scored over 100 rollouts on the three bodies with `hebbian experiment compare`.
# Usage: docs/beyond_paper/run.sh [path/to/hebbian]   (about 40 minutes on 2 cores)
set -euo pipefail
bin=${1:-target/release/hebbian}
runs=models/runs/beyond
budget=(--config configs/ant.toml --set population=64 --set generations=30)
train() {
  local name=$1; shift
  if [ -f "$runs/$name/checkpoint.safetensors" ]; then
    "$bin" train --resume "$runs/$name" --quiet
  else
    "$bin" train "${budget[@]}" "$@" --out "$runs/$name" --quiet
  fi
}
train synapse_openai_es
train neuron_openai_es --set network.granularity=\"neuron\"
train merged_openai_es --set network.granularity=\"merged\" --set network.merge.every=8
train synapse_pgpe_adam --set es.algorithm=\"pgpe\" --set es.optimizer=\"adam\"
"$bin" experiment compare --rollouts 100 --seed 123 --quiet --out docs/beyond_paper/compare \
  --variant intact --variant right_damaged --variant left_damaged \
  --model "$runs/synapse_openai_es/model.safetensors" \
  --model "$runs/neuron_openai_es/model.safetensors" \
  --model "$runs/merged_openai_es/model.safetensors" \
  --model "$runs/synapse_pgpe_adam/model.safetensors"
