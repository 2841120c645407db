#!/usr/bin/env bash
# A job that hits its Slurm time limit and is resubmitted: examples/slurm/resumable.sbatch runs a
# checkpointed map longer than its 1-minute limit; Slurm's SIGTERM must end it cleanly (status 3,
# the journal flushed), and the same script submitted again must finish with the checksum of an
# uninterrupted run, computing only the items the journal did not hold.
# usage: slurm_time_limit_test.sh STATE_DIR RESUMABLE SBATCH_DIR
# Takes about 95 s: Slurm's time resolution is one minute, and slurmctld checks limits every 30 s.
set -u
source "$(dirname "$0")/slurm_bed.sh"
state=$1 program=$2 scripts=$3
items=400000

slurm_up "$state"
export JOURNAL=$state/jobs/resumable.journal ITEMS=$items
expected=$("$program" "$state/jobs/reference.journal" "$items" 0 | sed -n 's/^checksum //p')
[ -n "$expected" ] || fail "the uninterrupted reference run printed no checksum"

# 1 ms per item on 2 threads: about 200 s of work against the 60 s limit (400 s on one CPU).
cpus=$(($(nproc) >= 2 ? 2 : 1))
id=$(MICROS=1000 submit first --chdir="$(dirname "$program")" --cpus-per-task=$cpus \
  "$scripts/resumable.sbatch") ||
  fail "sbatch resumable.sbatch was refused"
st=$(wait_job "$id" 750)
echo "first job ($id): $st"
cat "$state/jobs/first.out"
[ "$st" = TIMEOUT ] || fail "the first job ended as '$st', expected TIMEOUT"
grep -q "DUE TO TIME LIMIT" "$state/jobs/first.out" || fail "Slurm did not report the time limit"
grep -q "^interrupted after computing [0-9]* items" "$state/jobs/first.out" ||
  fail "the map did not report its interruption (was it killed before it could flush?)"
grep -q "Exited with exit code 3" "$state/jobs/first.out" ||
  fail "the program did not exit with status 3 (mpp::InterruptedError)"

# The same script again, now without the simulated work per item, so it finishes in seconds.
id=$(MICROS=0 submit second --chdir="$(dirname "$program")" --cpus-per-task=$cpus \
  "$scripts/resumable.sbatch") ||
  fail "sbatch resumable.sbatch (resubmitted) was refused"
st=$(wait_job "$id")
echo "resubmitted job ($id): $st"
cat "$state/jobs/second.out"
[ "$st" = COMPLETED ] || fail "the resubmitted job ended as '$st'"
grep -q "^checksum $expected\$" "$state/jobs/second.out" ||
  fail "the resumed result differs from the uninterrupted run's checksum $expected"
computed=$(sed -n 's/^complete: computed \([0-9]*\) of.*/\1/p' "$state/jobs/second.out")
if [ -z "$computed" ] || [ "$computed" -ge "$items" ]; then
  fail "the resubmitted job recomputed everything ('${computed:-?}' of $items)"
fi
awk -v c="$computed" -v n="$items" \
  'BEGIN { printf "resubmitted job recomputed %d of %d items (%.1f%%)\n", c, n, 100 * c / n }'
echo "PASS: a job stopped by its time limit resumed from its journal"
