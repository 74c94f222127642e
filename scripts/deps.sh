#!/usr/bin/env bash
# Installs the Debian packages wick needs to build and test. Run as root to install what is
# missing; as another user it prints the exact apt-get command instead.
#   scripts/deps.sh            build + test dependencies
#   scripts/deps.sh --peers    also PyTorch and NumPy (interop tests, peer benchmarks)
#   scripts/deps.sh --fuzz     also clang, libFuzzer, zlib and valgrind (scripts/fuzz.sh, valgrind.sh)
#   scripts/deps.sh --bench    also the benchmark yardsticks: OpenBLAS, libtorch, PyTorch, NumPy
#   scripts/deps.sh --python   also what python/ needs: NumPy, xxHash, pytest, venv and setuptools
#   scripts/deps.sh --docs     also Doxygen (scripts/docs.sh, the API reference)
#   scripts/deps.sh --mpi      also OpenMPI (dist/, wick::dist, and its tests under mpirun)
set -euo pipefail

packages=(cmake make g++ pkg-config libxsimd-dev libgtest-dev libgmock-dev libbenchmark-dev
          libxxhash-dev libcli11-dev nlohmann-json3-dev libzip-dev zlib1g-dev)
for group in "$@"; do
  case "$group" in
    --peers) packages+=(python3 python3-numpy python3-torch) ;;
    --fuzz) packages+=(clang libclang-rt-14-dev libfuzzer-14-dev valgrind) ;;
    --bench) packages+=(python3 python3-numpy python3-torch libopenblas-dev libtorch-dev) ;;
    --python) packages+=(python3 python3-numpy python3-xxhash python3-pytest python3-venv python3-setuptools) ;;
    --docs) packages+=(doxygen) ;;
    --mpi) packages+=(libopenmpi-dev openmpi-bin) ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: install them with:  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
$cmd
