#!/usr/bin/env bash
# mpp-info under srun on a real single-node Slurm that binds tasks to CPUs (task/affinity):
# examples/slurm/mpp_info.sbatch as written (1 rank x 2 threads: no warning), the same script
# with 2 ranks of 1 CPU (bound to one core each), a step given fewer CPUs than the job's
# --cpus-per-task, and srun without PMIx. Checks that the report shows Slurm's variables and
# the ranks, and names each mistake.
# usage: slurm_mpp_info_test.sh STATE_DIR MPP_INFO SBATCH_DIR
set -u
source "$(dirname "$0")/slurm_bed.sh"
state=$1 info=$2 scripts=$3
[ "$(nproc)" -ge 2 ] || skip "needs 2 CPUs to bind ranks to one core each"

slurm_up "$state" TaskPlugin=task/affinity
dir=$(dirname "$info")
declare -A ids
ids[good]=$(submit good --chdir="$dir" "$scripts/mpp_info.sbatch") || fail "sbatch refused"
ids[one_core]=$(submit one_core --chdir="$dir" --ntasks=2 --cpus-per-task=1 \
  "$scripts/mpp_info.sbatch") || fail "sbatch refused"
ids[overcommit]=$(submit overcommit --chdir="$dir" --ntasks=1 --cpus-per-task=2 \
  --wrap="srun --mpi=pmix --ntasks=2 --overcommit ./mpp-info --json") || fail "sbatch refused"
ids[no_pmix]=$(submit no_pmix --chdir="$dir" --ntasks=2 --cpus-per-task=1 \
  --wrap="srun --mpi=none ./mpp-info") || fail "sbatch refused"
for name in good one_core overcommit no_pmix; do
  st=$(wait_job "${ids[$name]}")
  echo "=== job $name (${ids[$name]}): $st"
  cat "$state/jobs/$name.out"
  [ "$st" = COMPLETED ] || fail "job $name ended as '$st'"
done

expect() {  # expect <job> <extended regex> <what>
  grep -Eq -- "$2" "$state/jobs/$1.out" || fail "job $1: $3 (no line matches '$2')"
  echo "ok: $1: $3"
}
expect good "launched by +srun \(Slurm job [0-9]+, step [0-9]+, 1 task, 2 CPUs per task" \
  "srun step described"
expect good "SLURM_CPUS_PER_TASK +2" "Slurm's variables"
expect good "^  ranks +1$" "one rank"
expect good "^ +0  [^ ]+ +0-1 +2( |$)" "rank 0 has both CPUs and 2 pool threads"
expect good "No problems found: mpp::Pool\(\) will run 2 threads" "no warning when bound right"

expect one_core "SLURM_NTASKS +2" "Slurm's variables"
expect one_core "^  ranks +2$" "two ranks"
expect one_core "^ +1  [^ ]+ +[0-9]+ +1( |$)" "rank 1 bound to one CPU, 1 pool thread"
expect one_core "warning: 2 of 2 ranks on .* bound to a single core each" "one-core binding"
expect one_core "srun binds each task to the CPUs of its --cpus-per-task" "advice in srun's words"

/usr/bin/python3 - "$state/jobs/overcommit.out" <<'PY' || fail "job overcommit: --json report"
import json, sys
d = json.loads(open(sys.argv[1]).read())
assert d["launched_by"] == "srun", d["launched_by"]
assert d["slurm"]["SLURM_CPUS_PER_TASK"] == "2", d["slurm"]
assert d["mpi"]["size"] == 2 and [r["threads"] for r in d["mpi"]["ranks"]] == [1, 1], d["mpi"]
assert any("--cpus-per-task=2 but srun gave this task 1 CPU" in w for w in d["warnings"]), d
PY
echo "ok: overcommit: fewer CPUs than --cpus-per-task, in --json"

expect no_pmix "without PMIx" "srun without PMIx"
[ "$(grep -c '^mpp .* on ' "$state/jobs/no_pmix.out")" -eq 2 ] ||
  fail "job no_pmix: expected one report per task"
echo "PASS: mpp-info explains srun's binding"
