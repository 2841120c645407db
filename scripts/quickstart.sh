#!/usr/bin/env bash
# The README's quick start: `bash scripts/quickstart.sh demo` builds and runs the demo,
# `bash scripts/quickstart.sh test` builds and runs every test. Each installs the Debian packages
# it needs when they are missing (as root, or through sudo), then configures and builds.
#
# The test command configures each of its build trees afresh (`cmake --fresh`), so nothing
# cached by an earlier run (the demo's tree, a run before Open MPI was installed) can leave a
# layer out. It then checks that every group of tests it promises ran and passed: the MPI tests
# on Open MPI and on MPICH, the Slurm tests, the packaging tests and both sanitizer builds. A
# group that cannot run here (not root, a package that cannot be installed) is reported as
# skipped, loudly, with its reason; with CI=true a skip fails the command.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: bash scripts/quickstart.sh demo|test" >&2; exit 2; }
[ $# -eq 1 ] || usage

source scripts/need_packages.sh

jobs=$(nproc 2>/dev/null || echo 2)
base_packages=(cmake make g++ libtbb-dev libcereal-dev libboost-dev)

demo() {
  need_packages "${base_packages[@]}"
  cmake --preset demo >/dev/null
  cmake --build --preset demo --target mpp-demo -j "$jobs"
  ./build/demo/examples/mpp-demo
}

# ---------------------------------------------------------------------------------------------
# The test command

skips=()     # "group: reason"
failures=()  # stages whose tests failed; the others still run, so one run shows everything
summary=()   # one line per stage
started=$(date +%s)

skip() {
  skips+=("$1: $2")
  printf '\n!!! mpp: SKIPPED %s: %s\n\n' "$1" "$2" >&2
}

fail() {
  printf '\nmpp: FAILED: %s\n' "$*" >&2
  exit 1
}

# The names of the tests of build tree `dir` that carry label `label`.
tests_labelled() {
  ctest --test-dir "$1" -N -L "$2" | sed -n 's/^ *Test *#[0-9]*: //p'
}

# run_stage NAME PRESET [ctest args...]: runs the tests of a configured and built preset,
# records its counts, reports each skipped test with the reason the test printed.
run_stage() {
  local name=$1 preset=$2
  shift 2
  local dir=build/$preset log=build/$preset/quickstart-ctest.log t0=$SECONDS rc=0
  ctest --preset "$preset" "$@" 2>&1 | tee "$log" || rc=$?
  if [ "$rc" -ne 0 ]; then
    failures+=("$name: $(sed -n '/The following tests FAILED:/,/^[^[:space:]]/s/^[[:space:]]*[0-9]* - //p' "$log" |
      tr '\n' ' ')(log: $log)")
  fi
  local total skipped
  total=$(sed -n 's/.* tests \(passed\|failed\).* out of \([0-9]*\)$/\2/p' "$log" | tail -1)
  [ -n "$total" ] && [ "$total" -gt 0 ] || fail "$name: no test ran"
  # Test names may hold spaces (doctest's): one per line.
  skipped=$(sed -n '/The following tests did not run:/,/^$/s/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$log")
  local test reason nskipped=0
  while IFS= read -r test; do
    [ -n "$test" ] || continue
    nskipped=$((nskipped + 1))
    reason=$(awk -v t="$test" '$0 ~ /^[0-9]+\/[0-9]+ Test: / && substr($0, index($0, "Test: ") + 6) == t {on = 1}
      on && /SKIP|skip/ {print; exit} on && /^Test time/ {exit}' "$dir/Testing/Temporary/LastTest.log")
    skip "$name: $test" "${reason:-no reason printed}"
  done <<<"$skipped"
  local passed=$((total - nskipped))
  local failed
  failed=$(sed -n 's/.* tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  passed=$((passed - ${failed:-0}))
  summary+=("$(printf '%-26s %4d passed  %2d failed  %2d skipped  %5d s' "$name" "$passed" \
    "${failed:-0}" "$nskipped" $((SECONDS - t0)))")
}

# require_label NAME PRESET LABEL WHAT: fails unless tests labelled LABEL were built in the
# preset's tree (a layer that was not configured has none).
require_label() {
  local count
  count=$(tests_labelled "build/$2" "$3" | wc -l)
  [ "$count" -gt 0 ] || fail "$1: no $4 tests (label '$3') were built; see the configure output"
  summary+=("$(printf '  %-24s %4d tests' "$4" "$count")")
}

# configure_build NAME PRESET [cmake args...]: configures the preset afresh, with warnings as
# errors (MPP_WERROR), and builds it.
configure_build() {
  local name=$1 preset=$2
  shift 2
  echo "=== mpp: $name: configure and build (build/$preset)"
  cmake --preset "$preset" --fresh -DMPP_WERROR=ON "$@"
  cmake --build --preset "$preset" -j "$jobs"
}

test_all() {
  need_packages "${base_packages[@]}" doctest-dev libbenchmark-dev librapidcheck-dev \
    doxygen pkg-config
  local openmpi=ON mpich=ON slurm=ON twins=ON
  want_packages libopenmpi-dev openmpi-bin ||
    { openmpi=OFF; skip "MPI tests on Open MPI" "libopenmpi-dev/openmpi-bin could not be installed"; }
  # The Python cluster examples, run beside their C++ twins (Debian's mpi4py is on Open MPI).
  if [ "$openmpi" = OFF ]; then
    twins=OFF
    skip "Python/C++ twin tests" "they run on Open MPI, and Open MPI is missing"
  elif ! want_packages python3-mpi4py; then
    twins=OFF
    skip "Python/C++ twin tests" "python3-mpi4py could not be installed"
  fi
  want_packages libmpich-dev mpich ||
    { mpich=OFF; skip "MPI tests on MPICH" "libmpich-dev/mpich could not be installed"; }
  if [ "$openmpi" = OFF ]; then
    slurm=OFF
    skip "Slurm tests" "they run Open MPI programs, and Open MPI is missing"
  elif ! want_packages slurm-wlm munge; then
    slurm=OFF
    skip "Slurm tests" "slurm-wlm/munge could not be installed"
  fi

  # 1. Release: the local pool, examples, tools, packaging, and the MPI layer on Open MPI.
  local mpi_args=(-DMPP_WITH_MPI=OFF)
  if [ "$openmpi" = ON ]; then
    mpi_args=(-DMPP_WITH_MPI=ON -DMPI_CXX_COMPILER="$(command -v mpicxx.openmpi)"
      -DMPIEXEC_EXECUTABLE="$(command -v mpiexec.openmpi)")
  fi
  configure_build "release" release -DMPP_BUILD_TESTS=ON "${mpi_args[@]}"
  run_stage "release (Open MPI)" release
  require_label "release" release package "packaging"
  require_label "release" release large "large-message"
  if [ "$openmpi" = ON ]; then
    require_label "release" release mpi "MPI on Open MPI"
    if [ "$slurm" = ON ]; then require_label "release" release slurm "real-Slurm"; fi
    if [ "$twins" = ON ]; then require_label "release" release twin "Python/C++ twin"; fi
  fi

  # 2. The MPI layer again, built against MPICH and run under its launcher, Hydra.
  if [ "$mpich" = ON ]; then
    echo "=== mpp: MPICH: configure and build (build/mpich)"
    cmake --preset mpich --fresh -DMPP_WERROR=ON -DMPI_CXX_COMPILER="$(command -v mpicxx.mpich)" \
      -DMPIEXEC_EXECUTABLE="$(command -v mpiexec.hydra)"
    cmake --build --preset mpich -j "$jobs"
    run_stage "MPI on MPICH" mpich
    require_label "MPICH" mpich mpi "MPI on MPICH"
  fi

  # 3. The unit suite under AddressSanitizer + UndefinedBehaviorSanitizer, then under
  # ThreadSanitizer (presets in CMakePresets.json).
  configure_build "asan-ubsan" asan-ubsan
  run_stage "asan-ubsan" asan-ubsan
  configure_build "tsan" tsan
  run_stage "tsan" tsan

  echo
  echo "=== mpp: test summary ($(($(date +%s) - started)) s in all)"
  printf '%s\n' "${summary[@]}"
  if [ ${#failures[@]} -gt 0 ]; then
    printf 'mpp: FAILED: %s\n' "${failures[@]}" >&2
    exit 1
  fi
  if [ ${#skips[@]} -gt 0 ]; then
    echo
    echo "!!! mpp: ${#skips[@]} group(s) or test(s) did NOT run:"
    printf '!!!   %s\n' "${skips[@]}"
    if [ "${CI:-}" = true ]; then
      fail "CI=true, and a skipped group counts as a failure there"
    fi
    echo "!!! The run is incomplete: fix the reasons above (e.g. run as root) to run everything."
  else
    echo "mpp: every test group ran and passed."
  fi
}

case "$1" in
  demo) demo ;;
  test) test_all ;;
  *) usage ;;
esac
