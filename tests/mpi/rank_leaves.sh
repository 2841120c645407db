#!/usr/bin/env bash
# Runs tests/mpi/rank_leaves.cpp in one mode and checks that the job ends within 30 s of the
# rank leaving, failed, with mpp's message naming the rank and what it did (or, for `together`,
# that it succeeds).
# usage: rank_leaves.sh MPIEXEC NP PROGRAM MODE [mpirun flags...]
set -u
mpiexec=$1 np=$2 program=$3 mode=$4
shift 4
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 60 "$mpiexec" -np "$np" "$@" "$program" "$mode" >"$out" 2>&1
rc=$?
end=$(date +%s.%N)
cat "$out"
if [ "$rc" -eq 124 ]; then echo "FAIL: the job hung for 60 s"; exit 1; fi
if [ "$mode" = together ]; then
  if [ "$rc" -ne 0 ]; then echo "FAIL: the job failed (rc $rc) though every rank did the same"; exit 1; fi
  echo "PASS: every rank threw and caught; the job ended normally"
  exit 0
fi
left=$(sed -n 's/^rank [0-9]* leaves (.*) at \([0-9.]*\)$/\1/p' "$out" | head -1)
if [ "$rc" -eq 0 ]; then echo "FAIL: the job succeeded although a rank left"; exit 1; fi
case "$mode" in
  throw | root_throw) expect="was destroyed while an exception was propagating" ;;
  return) expect="was destroyed \(it went out of scope" ;;
  static) expect="was still alive when MPI_Finalize ran" ;;
  worker) expect="was destroyed \(it went out of scope" ;;
esac
if ! grep -Eq "on rank [0-9]+ \([^)]*\) cannot complete: on rank [0-9]+ \([^)]*\) the mpp::mpi::[A-Za-z]+ $expect" "$out"; then
  echo "FAIL: no message naming the rank that left and how ($expect)"
  exit 1
fi
echo "PASS: the job ended $(awk "BEGIN { printf \"%.2f\", $end - ${left:-$end} }") s after the rank left, with rc $rc"
