#!/usr/bin/env bash
# Kills a running checkpointed map the ways a batch system does and checks each rerun resumes:
# SIGTERM (the time limit) must end it cleanly with status 3, SIGKILL may tear the journal, and
# every rerun must finish with the checksum of an uninterrupted run, computing only the rest.
set -euo pipefail
program=$1 dir=$2
items=4000 micros=2000
rm -rf "$dir" && mkdir -p "$dir"

# The reference: an uninterrupted run.
expected=$("$program" "$dir/reference.journal" "$items" 0 | sed -n 's/^checksum //p')

run_and_kill() {  # run_and_kill <signal> <journal>: start, wait a moment, send the signal
  "$program" "$2" "$items" "$micros" >"$dir/out.txt" 2>&1 &
  local pid=$!
  sleep 1.5
  kill -"$1" "$pid"
  local status=0
  wait "$pid" || status=$?
  echo "$status"
}

resume_and_check() {  # resume_and_check <journal>: rerun to the end, compare, report recomputed
  local out
  out=$("$program" "$1" "$items" "$micros")
  echo "$out"
  grep -q "^checksum $expected\$" <<<"$out" || { echo "FAIL: wrong checksum after resume"; exit 1; }
  local computed
  computed=$(sed -n 's/^complete: computed \([0-9]*\) of.*/\1/p' <<<"$out")
  [ "$computed" -lt "$items" ] || { echo "FAIL: the rerun recomputed everything"; exit 1; }
}

status=$(run_and_kill TERM "$dir/term.journal")
cat "$dir/out.txt"
[ "$status" -eq 3 ] || { echo "FAIL: SIGTERM gave status $status, expected 3 (mpp::InterruptedError)"; exit 1; }
grep -q "interrupted" "$dir/out.txt" || { echo "FAIL: no interruption message"; exit 1; }
resume_and_check "$dir/term.journal"

status=$(run_and_kill KILL "$dir/kill.journal")
[ "$status" -eq 137 ] || { echo "FAIL: SIGKILL gave status $status"; exit 1; }
resume_and_check "$dir/kill.journal"
echo "resumable: SIGTERM and SIGKILL runs resumed with the right checksum"
