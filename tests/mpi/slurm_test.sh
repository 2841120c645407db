#!/usr/bin/env bash
# Brings up a real single-node Slurm (Debian's slurm-wlm and munge) with every file under
# STATE_DIR, submits the sbatch scripts of examples/slurm/ from the built examples' directory,
# waits for them and checks their output. The daemons (slurm_bed.sh) run in the background of
# this script and are stopped by PID on every exit. Prints "SKIP: <reason>" and exits 77 when
# it cannot run.
# usage: slurm_test.sh STATE_DIR EXAMPLES_BUILD_DIR SBATCH_DIR [DEAD_RANK_DIR]
# With DEAD_RANK_DIR (where mpp_mpi_dead_rank is built), also checks that a job whose rank dies
# mid-call ends failed within seconds.
set -u
source "$(dirname "$0")/slurm_bed.sh"
state=$1 bin=$2 scripts=$3 dead=${4:-}

slurm_up "$state"

# Submits every script at once from the examples' directory (Slurm runs them one after the
# other on this node), polls until they are done, and checks their output.
declare -A ids
for name in hybrid_hello mpi_pi mpi_primes; do
  ids[$name]=$(submit "$name" --chdir="$bin" "$scripts/$name.sbatch") ||
    fail "sbatch $name.sbatch was refused"
done
for name in hybrid_hello mpi_pi mpi_primes; do
  st=$(wait_job "${ids[$name]}")
  echo "job $name (${ids[$name]}): $st"
  cat "$state/jobs/$name.out" 2>/dev/null
  [ "$st" = COMPLETED ] || fail "job $name ended as '$st'"
done

check() {
  grep -Eq "$2" "$state/jobs/$1.out" || fail "job $1: output does not match '$2'"
  echo "ok: $1"
}
check hybrid_hello "hello from rank 1 of 2 on .* with 1 threads"
check mpi_pi "pi ~= 3\.1[0-9]* from 12800000 samples on 2 ranks x 1 threads"
check mpi_primes "17984 primes below 200000"

if [ -n "$dead" ]; then
  id=$(submit dead_rank --chdir="$dead" "$(dirname "$0")/dead_rank.sbatch") ||
    fail "sbatch dead_rank.sbatch was refused"
  st=$(wait_job "$id")
  end=$(date +%s.%N)
  cat "$state/jobs/dead_rank.out" 2>/dev/null
  died=$(sed -n 's/^rank [0-9]* dies at \([0-9.]*\)$/\1/p' "$state/jobs/dead_rank.out" | head -1)
  [ -n "$died" ] || fail "dead_rank: the rank did not report its death"
  elapsed=$(awk -v a="$died" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  echo "job dead_rank ($id): $st, noticed ${elapsed} s after the rank died (polling every 0.2 s)"
  case "$st" in FAILED|CANCELLED|NODE_FAIL) ;; *) fail "dead_rank ended as '$st'" ;; esac
  awk -v e="$elapsed" 'BEGIN { exit !(e < 30) }' || fail "dead_rank took more than 30 s to end"
fi
echo "PASS: all sbatch examples ran on Slurm"
