#!/usr/bin/env bash
# A checkpointed MPI map stopped the way Slurm stops a job at its time limit (SIGTERM to every
# rank) must end with status 3 (mpp::InterruptedError) on every rank, and a rerun must finish with the
# checksum of an uninterrupted run, computing only what the journal lacked.
# Usage: resumable_test.sh <mpiexec> <ranks> <mpi_resumable> <work dir> [mpiexec flags...]
set -euo pipefail
mpiexec=$1 ranks=$2 program=$3 dir=$4
shift 4
items=3000 micros=4000
rm -rf "$dir" && mkdir -p "$dir"
flags=("$@")
run() { "$mpiexec" -np "$ranks" "${flags[@]}" "$@"; }

expected=$(run "$program" "$dir/reference.journal" "$items" 0 2>/dev/null | sed -n 's/^checksum //p')
[ -n "$expected" ] || { echo "FAIL: the reference run gave no checksum"; exit 1; }

run "$program" "$dir/run.journal" "$items" "$micros" "$dir/pid." >"$dir/first.txt" 2>&1 &
launcher=$!
# Wait (at most 30 s) until every rank runs and the journal holds some chunks, then signal them.
for _ in $(seq 300); do
  [ "$(find "$dir" -name "pid.*" | wc -l)" -eq "$ranks" ] &&
    [ "$(stat -c %s "$dir/run.journal" 2>/dev/null || echo 0)" -gt 1000 ] && break
  sleep 0.1
done
for f in "$dir"/pid.*; do kill -TERM "$(cat "$f")"; done
status=0
wait "$launcher" || status=$?
cat "$dir/first.txt"
[ "$status" -eq 3 ] || { echo "FAIL: SIGTERM gave status $status, expected 3"; exit 1; }
stopped=$(grep -c "interrupted: " "$dir/first.txt" || true)
[ "$stopped" -eq "$ranks" ] || { echo "FAIL: $stopped of $ranks ranks threw mpp::InterruptedError"; exit 1; }

out=$(run "$program" "$dir/run.journal" "$items" "$micros" 2>/dev/null)
echo "$out"
grep -q "^checksum $expected\$" <<<"$out" || { echo "FAIL: wrong checksum after resume"; exit 1; }
computed=$(sed -n 's/^computed \([0-9]*\) of.*/\1/p' <<<"$out")
[ "$computed" -lt "$items" ] || { echo "FAIL: the rerun recomputed everything"; exit 1; }
echo "PASS: $ranks ranks stopped by SIGTERM, resumed computing $computed of $items items"
