#!/usr/bin/env bash
# The GPU figures in one go, sized for a 15-minute window on a lent GPU machine: the batched
# Hebbian step (Ant net P = 1024, 4096, 16384; CarRacing net P = 256, 1024) and full rollouts
# with the networks on the GPU and the environments on CPU threads. Prints the device first.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
  || echo "no nvidia-smi; the wgpu adapter is whatever Vulkan finds"
nproc
cargo build --release --features wgpu --benches
cargo bench --features wgpu --bench hebbian_step -- --quick --backend wgpu
cargo bench --features wgpu --bench ant -- --rollouts-only --device wgpu
cargo bench --features wgpu --bench car_racing -- --rollouts-only --device wgpu
