#!/usr/bin/env bash
# Runs the large-message tests at 2 ranks when this machine has the memory they need:
#   large_test.sh NEED_GIB MPIEXEC PROGRAM [MPIEXEC_FLAGS...]
# Elsewhere it says so and exits 77, which CTest reports as skipped (exclude the group with
# `ctest -LE large`).
set -euo pipefail
need_gib=$1 mpiexec=$2 program=$3
shift 3
available_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
if ((available_kib < need_gib * 1024 * 1024)); then
  echo "SKIP: the large-message tests need ${need_gib} GiB of available memory; this machine" \
    "has $((available_kib / 1024 / 1024)) GiB"
  exit 77
fi
exec "$mpiexec" -n 2 "$@" "$program"
