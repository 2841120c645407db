# shellcheck shell=bash
# A real single-node Slurm (Debian's slurm-wlm and munge) for the Slurm tests, sourced by them:
#
#     source slurm_bed.sh
#     slurm_up STATE_DIR [slurm.conf line ...]   # every file under STATE_DIR; skips (77) if it can't
#     id=$(submit NAME [sbatch option ...] SCRIPT)   # output in $state/jobs/NAME.out
#     st=$(wait_job "$id")                       # the final JobState, polling every 0.2 s
#
# The daemons run in the background of the sourcing script and are stopped by PID when it exits.
# Prints "SKIP: <reason>" and exits 77 when Slurm cannot run here.

skip() { echo "SKIP: $*"; exit 77; }
fail() {
  echo "FAIL: $*"
  for log in "$state"/logs/slurmctld.log "$state"/logs/slurmd.log; do
    [ -f "$log" ] && { echo "--- last lines of $log"; tail -15 "$log"; }
  done
  exit 1
}

slurm_pids=()
slurm_down() {
  for pid in "${slurm_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${slurm_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
}

# slurm_up STATE_DIR [extra slurm.conf lines]: munged, slurmctld and slurmd with all state under
# STATE_DIR; returns once the node is idle. Sets $state and exports SLURM_CONF.
slurm_up() {
  state=$1
  shift
  [ "$(id -u)" -eq 0 ] || skip "not root: slurmd and munged of this test must run as root"
  for c in munged slurmctld slurmd sbatch sinfo scontrol; do
    command -v "$c" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin
    command -v "$c" >/dev/null 2>&1 || skip "'$c' not found: apt-get install slurm-wlm munge"
  done
  [ -f /usr/lib/x86_64-linux-gnu/slurm-wlm/mpi_pmix.so ] ||
    ls /usr/lib/*/slurm*/mpi_pmix*.so >/dev/null 2>&1 ||
    skip "Slurm's PMIx plugin (mpi_pmix.so) is missing"

  rm -rf "$state"
  mkdir -p "$state"/{munge,spool,state,logs,jobs,tmp}
  chmod 700 "$state/munge"
  local host cpus port socket
  host=$(hostname -s)
  cpus=$(nproc)
  # Free ports of our own, so an existing Slurm on the machine is left alone.
  port=$((20000 + RANDOM % 20000))
  trap slurm_down EXIT
  trap 'exit 1' INT TERM

  dd if=/dev/urandom of="$state/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$state/munge/munge.key"
  socket=$state/munge/munge.socket
  munged -F -f --key-file="$state/munge/munge.key" --socket="$socket" \
    --pid-file="$state/munge/munged.pid" --log-file="$state/logs/munged.log" \
    --seed-file="$state/munge/munged.seed" >"$state/logs/munged.out" 2>&1 &
  slurm_pids+=($!)

  # TmpFS under the state directory: PMIx puts its per-step directories there, and one left in
  # /tmp by a killed step would make every later step with the same id fail.
  # KillWait: seconds between the time limit's SIGTERM and SIGKILL (30 by default; a few are
  # plenty to flush a journal). Time limits themselves are checked by slurmctld every 30 s.
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
TmpFS=$state/tmp
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/logs/slurmctld.log
SlurmdLogFile=$state/logs/slurmd.log
ProctrackType=proctrack/linuxproc
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
OverTimeLimit=0
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=10 State=UP
CONF
  # TaskPlugin=task/none unless the caller asks for another (e.g. task/affinity to bind tasks).
  local line task_plugin=TaskPlugin=task/none
  for line in "$@"; do
    case "$line" in TaskPlugin=*) task_plugin=$line ;; *) echo "$line" >>"$state/slurm.conf" ;; esac
  done
  echo "$task_plugin" >>"$state/slurm.conf"
  export SLURM_CONF=$state/slurm.conf

  for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
  [ -S "$socket" ] || { cat "$state/logs/munged.log" 2>/dev/null; fail "munged did not start"; }

  slurmctld -D -f "$SLURM_CONF" >"$state/logs/slurmctld.out" 2>&1 &
  slurm_pids+=($!)
  slurmd -D -f "$SLURM_CONF" >"$state/logs/slurmd.out" 2>&1 &
  slurm_pids+=($!)

  local idle=""
  for _ in $(seq 150); do
    idle=$(sinfo -h -o %T 2>/dev/null | head -1)
    [ "$idle" = idle ] && break
    sleep 0.2
  done
  [ "$idle" = idle ] || fail "the node did not become idle (state '$idle')"
  echo "Slurm is up on $host ($cpus CPUs, $task_plugin)"
}

# submit NAME SBATCH_ARGUMENTS...: prints the job id (fails as sbatch does); the output goes
# to $state/jobs/NAME.out. The arguments end with the script, or give --wrap.
submit() {
  local name=$1
  shift
  sbatch --parsable --output="$state/jobs/$name.out" "$@"
}

job_state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }

# wait_job ID [polls]: waits until the job has ended (at most polls x 0.2 s, 90 s by default) and
# prints its final state.
wait_job() {
  local st=""
  for _ in $(seq "${2:-450}"); do
    st=$(job_state "$1")
    case "$st" in PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED|"") sleep 0.2 ;; *) break ;; esac
  done
  echo "$st"
}
