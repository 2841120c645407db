#!/usr/bin/env bash
# The README's quick start: `bash cmake/quickstart.sh demo` builds and runs the demo,
# `bash cmake/quickstart.sh test` builds and runs every test. Each installs the Debian packages
# it needs when they are missing (as root, or through sudo), then configures and builds.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: bash cmake/quickstart.sh demo|test" >&2; exit 2; }
[ $# -eq 1 ] || usage

source cmake/need_packages.sh

jobs=$(nproc 2>/dev/null || echo 2)
base_packages=(cmake make g++ libtbb-dev libcereal-dev libboost-dev)

case "$1" in
  demo)
    need_packages "${base_packages[@]}"
    cmake --preset release -DMPP_BUILD_TESTS=OFF >/dev/null
    cmake --build --preset release --target mpp-demo -j "$jobs"
    ./build/release/examples/mpp-demo
    ;;
  test)
    need_packages "${base_packages[@]}" doctest-dev libboost-dev libbenchmark-dev \
      libopenmpi-dev openmpi-bin libcereal-dev slurm-wlm munge doxygen pkg-config
    cmake --preset release -DMPP_BUILD_TESTS=ON
    cmake --build --preset release -j "$jobs"
    ctest --preset release
    # The unit suite again under AddressSanitizer + UndefinedBehaviorSanitizer, then under
    # ThreadSanitizer (presets in CMakePresets.json).
    for preset in asan-ubsan tsan; do
      cmake --preset "$preset"
      cmake --build --preset "$preset" -j "$jobs"
      ctest --preset "$preset"
    done
    ;;
  *) usage ;;
esac
