#!/usr/bin/env bash
# Checks mpp-info's report: usage <mpp-info> [<mpiexec>]
set -euo pipefail
info=$1
mpiexec=${2:-}
fail() { echo "FAIL: $*" >&2; exit 1; }
expect() {  # expect <pattern> <text> <what>
  grep -qE -- "$1" <<<"$2" || { echo "$2" >&2; fail "$3: no match for '$1'"; }
}

out=$(env -u MPP_NUM_THREADS "$info")
echo "$out"
expect 'mpp::available_cpus\(\) +[0-9]+' "$out" "plain report"
expect 'default concurrency +[0-9]+' "$out" "TBB concurrency"

json=$(env -u MPP_NUM_THREADS "$info" --json)
/usr/bin/python3 - "$json" <<'PY' || fail "--json"
import json, sys
d = json.loads(sys.argv[1])
assert d["available_cpus"] >= 1, d
assert d["affinity"]["count"] == len(d["affinity"]["cpus"]) >= 1, d
assert d["tbb"]["default_concurrency"] >= 1, d
assert isinstance(d["warnings"], list), d
PY

out=$(MPP_NUM_THREADS=3 "$info")
expect 'MPP_NUM_THREADS=3 overrides' "$out" "MPP_NUM_THREADS explained"
out=$(MPP_NUM_THREADS=zero "$info")
expect 'warning: mpp::available_cpus\(\) throws' "$out" "invalid MPP_NUM_THREADS"

if [ "$(nproc --all)" -gt 1 ] && command -v taskset >/dev/null; then
  out=$(env -u MPP_NUM_THREADS taskset -c 0 "$info")
  expect 'bound to a single CPU' "$out" "one-CPU binding"
fi

if [ -n "$mpiexec" ]; then
  # The report names the MPI it was built against and, under the launcher, the one it runs on.
  if "$mpiexec" --version 2>&1 | grep -Eq "Open MPI|OpenRTE"; then mpi="Open MPI"; else mpi="MPICH"; fi
  expect "built against +$mpi" "$out" "MPI named"
  out=$(env -u MPP_NUM_THREADS "$mpiexec" -np 1 "$info")
  echo "$out"
  expect "library +$mpi" "$out" "MPI library at run time"
fi
if [ -n "$mpiexec" ] && [ "$(nproc --all)" -gt 1 ]; then
  # The classic mistake: the launcher binds each of 2 ranks to one core, so pools get 1 thread
  # each (Open MPI does so by default at np <= 2; Hydra when asked).
  out=$(env -u MPP_NUM_THREADS "$mpiexec" -np 2 --bind-to core "$info")
  echo "$out"
  expect 'ranks +2' "$out" "MPI ranks"
  expect 'bound to a single core each' "$out" "mis-bound ranks"
  # And oversubscription: unbound ranks each sizing their pool to the whole machine.
  out=$(env -u MPP_NUM_THREADS "$mpiexec" -np 2 --bind-to none "$info" --json)
  expect 'oversubscribed' "$out" "oversubscribed ranks"
fi
echo "mpp-info: ok"
