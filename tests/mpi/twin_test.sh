#!/usr/bin/env bash
# Runs a Python cluster program and its C++ twin under the same launcher at the same rank count
# and fails unless they print the same lines.
# usage: twin_test.sh MPIEXEC NP PYTHON SCRIPT.py BINARY [launcher flags...]
set -euo pipefail
mpiexec=$1 np=$2 python=$3 script=$4 binary=$5
shift 5
py=$("$mpiexec" -n "$np" "$@" "$python" -m mpi4py.futures "$script")
cpp=$("$mpiexec" -n "$np" "$@" "$binary")
printf 'Python (%s):\n%s\nC++ (%s):\n%s\n' "$(basename "$script")" "$py" "$(basename "$binary")" "$cpp"
if [ "$py" != "$cpp" ]; then
  echo "FAILED: the twins print different lines"
  diff <(echo "$py") <(echo "$cpp") || true
  exit 1
fi
echo "the twins agree"
