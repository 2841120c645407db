#!/usr/bin/env bash
# Brings up a real single-node Slurm (Debian's slurm-wlm and munge) with every file under
# STATE_DIR, submits the sbatch scripts of examples/slurm/ from the built examples' directory,
# waits for them and checks their output. The daemons run in the foreground of this script and
# are stopped by PID on every exit. Prints "SKIP: <reason>" and exits 77 when it cannot run.
# usage: slurm_test.sh STATE_DIR EXAMPLES_BUILD_DIR SBATCH_DIR [DEAD_RANK_DIR]
# With DEAD_RANK_DIR (where mpp_mpi_dead_rank is built), also checks that a job whose rank dies
# mid-call ends failed within seconds.
set -u
state=$1 bin=$2 scripts=$3 dead=${4:-}

skip() { echo "SKIP: $*"; exit 77; }
fail() {
  echo "FAIL: $*"
  for log in "$state"/logs/slurmctld.log "$state"/logs/slurmd.log; do
    [ -f "$log" ] && { echo "--- last lines of $log"; tail -15 "$log"; }
  done
  exit 1
}

[ "$(id -u)" -eq 0 ] || skip "not root: slurmd and munged of this test must run as root"
for c in munged slurmctld slurmd sbatch sinfo scontrol; do
  command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
  command -v "$c" >/dev/null 2>&1 || skip "'$c' not found: apt-get install slurm-wlm munge"
done
[ -f /usr/lib/x86_64-linux-gnu/slurm-wlm/mpi_pmix.so ] || ls /usr/lib/*/slurm*/mpi_pmix*.so >/dev/null 2>&1 ||
  skip "Slurm's PMIx plugin (mpi_pmix.so) is missing"

rm -rf "$state"
mkdir -p "$state"/{munge,spool,state,logs,jobs}
chmod 700 "$state/munge"
host=$(hostname -s)
cpus=$(nproc)
# Free ports of our own, so an existing Slurm on the machine is left alone.
port=$((20000 + RANDOM % 20000))

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
}
trap cleanup EXIT
trap 'exit 1' INT TERM

dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$state/munge/munge.key"
socket=$state/munge/munge.socket
munged -F -f --key-file="$state/munge/munge.key" --socket="$socket" \
  --pid-file="$state/munge/munged.pid" --log-file="$state/logs/munged.log" \
  --seed-file="$state/munge/munged.seed" >"$state/logs/munged.out" 2>&1 &
pids+=($!)

cat >"$state/slurm.conf" <<CONF
ClusterName=mpptest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/logs/slurmctld.log
SlurmdLogFile=$state/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=10 State=UP
CONF
export SLURM_CONF=$state/slurm.conf

for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { cat "$state/logs/munged.log" 2>/dev/null; fail "munged did not start"; }

slurmctld -D -f "$SLURM_CONF" >"$state/logs/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$state/logs/slurmd.out" 2>&1 &
pids+=($!)

idle=""
for _ in $(seq 150); do
  idle=$(sinfo -h -o %T 2>/dev/null | head -1)
  [ "$idle" = idle ] && break
  sleep 0.2
done
if [ "$idle" != idle ]; then
  tail -20 "$state"/logs/slurmctld.log "$state"/logs/slurmd.log 2>/dev/null
  fail "the node did not become idle (state '$idle')"
fi
echo "Slurm is up on $host ($cpus CPUs)"

# Submits every script at once from the examples' directory (Slurm runs them one after the
# other on this node), polls until they are done, and checks their output.
declare -A ids
for name in hybrid_hello mpi_pi mpi_primes; do
  ids[$name]=$(sbatch --parsable --chdir="$bin" --output="$state/jobs/$name.out" \
    "$scripts/$name.sbatch") || fail "sbatch $name.sbatch was refused"
done
job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
for name in hybrid_hello mpi_pi mpi_primes; do
  for _ in $(seq 450); do
    st=$(job_state "${ids[$name]}")
    case "$st" in PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 0.2 ;; *) break ;; esac
  done
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
  start=$(date +%s.%N)
  id=$(sbatch --parsable --chdir="$dead" --output="$state/jobs/dead_rank.out" \
    "$(dirname "$0")/dead_rank.sbatch") || fail "sbatch dead_rank.sbatch was refused"
  for _ in $(seq 450); do
    st=$(job_state "$id")
    case "$st" in PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 0.2 ;; *) break ;; esac
  done
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
