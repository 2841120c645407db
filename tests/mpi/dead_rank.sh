#!/usr/bin/env bash
# A rank dies in the middle of a collective map: the job must fail within a bounded time after
# the death (never hang), with the launcher's report of the lost process: Open MPI's names the
# rank; MPICH's Hydra prints a "BAD TERMINATION" banner with its PID for a signal, and for a rank
# that exits with a status it ends the job with that status (3 here) and prints nothing.
# usage: dead_rank.sh MPIEXEC NP PROGRAM exit|kill|root_exit|root_kill [mpirun flags...]
set -u
mpiexec=$1 np=$2 program=$3 mode=$4
shift 4
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 60 "$mpiexec" -np "$np" "$@" "$program" "$mode" >"$out" 2>&1
rc=$?
end=$(date +%s.%N)
cat "$out"
died=$(sed -n 's/^rank [0-9]* dies at \([0-9.]*\)$/\1/p' "$out" | head -1)
if [ "$rc" -eq 0 ]; then echo "FAIL: the job succeeded although a rank died"; exit 1; fi
if [ "$rc" -eq 124 ]; then echo "FAIL: the job hung for 60 s after a rank died"; exit 1; fi
if [ -z "$died" ]; then echo "FAIL: the rank did not report its death"; exit 1; fi
if ! grep -Eq "exited on signal|non-zero status|non-zero exit|BAD TERMINATION" "$out" &&
  ! { [ "${mode%exit}" != "$mode" ] && [ "$rc" -eq 3 ] && "$mpiexec" --version 2>&1 | grep -q HYDRA; }; then
  echo "FAIL: the launcher did not report the lost rank"; exit 1
fi
elapsed=$(awk -v a="$died" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
echo "mpirun exited with $rc, ${elapsed} s after the rank died"
awk -v e="$elapsed" 'BEGIN { exit !(e < 20) }' || { echo "FAIL: took more than 20 s"; exit 1; }
echo "PASS"
