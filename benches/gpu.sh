#!/usr/bin/env bash
# The GPU figures in one go, sized for one 15-minute window on a lent GPU machine: the batched
# Hebbian step (Ant net P = 1024, 4096, 8192, 16384; CarRacing net P = 256, 1024) and full rollouts
# with the networks on the GPU and the environments on CPU threads. Prints the device first.
#
# The lent machine (the `device` tool) has no Rust toolchain, no crate registry and no network,
# and the Vulkan loader is not installed there, so the benches are built and packed here and
# only run there:
#
#   benches/gpu.sh pack    # here: builds the wgpu benches, strips and xz-compresses them and
#                          # downloads the Vulkan loader and glvnd into target/gpu-pack/ (≈ 40 MB)
#   device run: command "benches/gpu.sh run", carry ["target/gpu-pack"], timeout_s 600
#   benches/gpu.sh run     # there: installs the loader, prints the GPU, runs the packed benches
#   benches/gpu.sh local   # a GPU machine with Rust on it: build and run in place
#
# The GPU kernel's correctness tests (tests/plastic.rs: every rule against the scalar oracle;
# tests/backends.rs: wgpu against flex, the overlapped halves) on the real GPU, likewise:
#
#   benches/gpu.sh pack-tests   # here: into target/gpu-tests/ (≈ 25 MB; carry it alone)
#   device run: command "benches/gpu.sh run-tests", carry ["target/gpu-tests"], timeout_s 300
#
# Every stage appends to $OUT/gpu.log when OUT is set (the device tool brings $OUT back).
set -euo pipefail
cd "$(dirname "$0")/.."
PACK=target/gpu-pack
# GPU_BENCHES="hebbian_step ant" packs and runs fewer (the pack and the working tree travel
# together within the device tool's 64 MiB; each packed bench is ≈ 12 MB).
read -r -a BENCHES <<<"${GPU_BENCHES:-hebbian_step ant car_racing}"
FEATURES=wgpu,ndarray # the test suite's feature set, so packing reuses its build

log() { if [ -n "${OUT:-}" ]; then tee -a "$OUT/gpu.log"; else cat; fi; }

# Seconds each bench may take on the lent machine, so that one hang cannot eat the window.
bench_limit() {
  case "$1" in
    hebbian_step) echo 240 ;;
    *) echo 200 ;;
  esac
}

bench_args() {
  case "$1" in
    hebbian_step) echo "--quick --backend wgpu" ;;
    *) echo "--rollouts-only --device wgpu" ;;
  esac
}

describe_machine() {
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
    || echo "no nvidia-smi; the wgpu adapter is whatever Vulkan finds"
  echo "$(nproc) CPU threads"
}

# The executable cargo built for target $2 of kind $3 (bench or test), read from its JSON
# messages in file $1.
built_executable() {
  python3 -c 'import json, sys
for m in map(json.loads, open(sys.argv[1])):
    t = m.get("target", {})
    if m.get("executable") and t.get("name") == sys.argv[2] and sys.argv[3] in t.get("kind", []):
        print(m["executable"])' "$1" "$2" "$3" | tail -1
}

# Packs the executables named $4... of kind $2 (bench or test), built per cargo's messages in
# file $1, stripped and xz-compressed, with the Vulkan libraries, into a fresh folder $3.
pack_executables() {
  local messages=$1 kind=$2 dir=$3
  shift 3
  rm -rf "$dir" && mkdir -p "$dir"
  for name in "$@"; do
    bin=$(built_executable "$messages" "$name" "$kind")
    [ -n "$bin" ] || { echo "cargo built no $kind named $name" >&2; exit 1; }
    strip -o "$dir/$name" "$bin"
    xz -9 -T0 "$dir/$name"
  done
  download_vulkan "$dir"
}

pack() {
  local messages=/tmp/gpu-pack-build.json
  cargo build --release --features "$FEATURES" --benches --message-format=json >"$messages"
  pack_executables "$messages" bench "$PACK" "${BENCHES[@]}"
  du -sh "$PACK"
  echo "now: device run, command \"benches/gpu.sh run\", carry [\"$PACK\"], timeout_s 600"
}

# The Vulkan loader and glvnd (the NVIDIA driver loads through libGLX_nvidia) into folder $1.
download_vulkan() {
  local lists=/tmp/gpu-pack-apt
  local o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  mkdir -p "$lists/partial"
  # shellcheck disable=SC2086
  apt-get $o update >/dev/null
  # shellcheck disable=SC2086
  (cd "$1" && apt-get $o download libvulkan1 libglvnd0 libglx0 libgl1 libegl1)
}

pack_tests() {
  local messages=/tmp/gpu-pack-tests.json dir=target/gpu-tests
  cargo test --release --features "$FEATURES" --no-run --test plastic --test backends \
    --message-format=json >"$messages"
  pack_executables "$messages" test "$dir" plastic backends
  du -sh "$dir"
}

# Installs the packed Vulkan loader and glvnd from folder $1 where missing, and points the
# loader at the NVIDIA driver where the machine keeps it outside the standard path.
install_vulkan() {
  if ! ldconfig -p | grep -q 'libvulkan.so.1' || ! ldconfig -p | grep -q 'libGLdispatch.so.0'; then
    for f in "$1"/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ] && ! ls /usr/share/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$icd
  fi
}

run_tests() {
  local dir=target/gpu-tests bin=/tmp/hebbian-gpu-tests
  [ -d "$dir" ] || { echo "no $dir: run 'benches/gpu.sh pack-tests' here and carry it" >&2; exit 1; }
  install_vulkan "$dir"
  describe_machine | log
  mkdir -p "$bin"
  for t in plastic backends; do
    unxz_to "$dir/$t.xz" "$bin/$t"
    timeout 240 "$bin/$t" 2>&1 | log || echo "$t failed: exit status ${PIPESTATUS[0]}" | log
  done
}

unxz_to() {
  if command -v xz >/dev/null; then
    xz -dc "$1" >"$2"
  else
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
  chmod +x "$2"
}

run_packed() {
  [ -d "$PACK" ] || { echo "no $PACK: run 'benches/gpu.sh pack' here and carry it" >&2; exit 1; }
  install_vulkan "$PACK"
  describe_machine | log
  local bin=/tmp/hebbian-gpu
  mkdir -p "$bin"
  for b in "${BENCHES[@]}"; do
    unxz_to "$PACK/$b.xz" "$bin/$b"
    # shellcheck disable=SC2046
    timeout "$(bench_limit "$b")" "$bin/$b" --bench $(bench_args "$b") 2>&1 | log \
      || echo "$b stopped: exit status ${PIPESTATUS[0]}" | log
  done
}

run_local() {
  describe_machine | log
  cargo build --release --features "$FEATURES" --benches
  for b in "${BENCHES[@]}"; do
    # shellcheck disable=SC2046
    cargo bench --features "$FEATURES" --bench "$b" -- $(bench_args "$b") 2>&1 | log
  done
}

case "${1:-}" in
  pack) pack ;;
  run) run_packed ;;
  local) run_local ;;
  pack-tests) pack_tests ;;
  run-tests) run_tests ;;
  *) echo "usage: benches/gpu.sh pack | run | local | pack-tests | run-tests (see the comment at the top)" >&2; exit 2 ;;
esac
