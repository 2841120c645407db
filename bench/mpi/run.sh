#!/usr/bin/env bash
# Runs the MPI layer's benchmarks against mpi4py.futures on this machine, interleaving the
# contenders (A B A B), prints the ratios of one run and, given OUT_JSON, writes every figure
# there for bench/report.py ("MPI layer vs mpi4py.futures" in report.md).
# usage: bench/mpi/run.sh BUILD_DIR [OUT_JSON]   (a build with -DMPP_BUILD_BENCHMARKS=ON)
#
# Environment: NP (ranks of the tiny-task run, default 3: a driver and 2 workers, as
# mpi4py.futures needs), MPP_BENCH_SCALE (multiplies the problem sizes), MPP_BENCH_REPS
# (repetitions inside each program; the best of 2 interleaved rounds is kept),
# MPP_BENCH_LARGE_GIB (the size of the large round trip, default 1).
set -euo pipefail
build=${1:?usage: bench/mpi/run.sh BUILD_DIR [OUT_JSON]}
json=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bench/mpi
export OMPI_MCA_pml=ob1
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun_() { mpirun --oversubscribe --bind-to none "$@"; }
num() { sed -n "s/.*: \([0-9.]*\) $1.*/\1/p" | head -1; }
best() { printf '%s\n' "$@" | sort -g | head -1; }
scaled() { awk -v n="$1" -v s="${MPP_BENCH_SCALE:-1}" 'BEGIN { v = int(n * s); print (v < 10 ? 10 : v) }'; }

reps=${MPP_BENCH_REPS:-5}
np=${NP:-3}
tiny_mpp=$(scaled 10000) tiny_py=$(scaled 2000) primes_n=$(scaled 3000000) chunks=$(scaled 20000)
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "machine: $(nproc) CPUs, load: $load"

# Tiny tasks at chunksize 1: per-task time of Executor.map against MPIPoolExecutor.map.
mpp_t=() py_t=()
for _ in 1 2; do
  out=$(mpirun_ -np "$np" "$bin/mpp_bench_tiny_tasks" "$tiny_mpp" "$reps"); echo "$out"
  mpp_t+=("$(echo "$out" | num us)")
  out=$(mpirun_ -np "$np" /usr/bin/python3 -m mpi4py.futures "$here/tiny_tasks.py" "$tiny_py" \
    "$reps"); echo "$out"
  py_t+=("$(echo "$out" | num us)")
done
m=$(best "${mpp_t[@]}") p=$(best "${py_t[@]}")
awk -v m="$m" -v p="$p" -v np="$np" 'BEGIN { printf "tiny tasks, chunksize 1, np %d: mpp %.2f us, mpi4py %.2f us per task -> %.1fx mpi4py throughput\n", np, m, p, p / m }'

# mpp::as_completed over Executor futures against a get() loop (the ratio is printed).
mpirun_ -np "$np" "$bin/mpp_bench_as_completed" "$(scaled 20000)" "$reps"

# The root's peak memory while 10^8 items stream through imap at np 3, both cluster types.
for kind in executor pool; do
  mpirun_ -np 3 "$bin/mpp_bench_imap_memory" "$(scaled 100000000)" "$kind"
done

# Executor::map at np 2 with the root only driving (as mpi4py's) and with root_computes.
mpirun_ -np 2 "$bin/mpp_bench_root_computes" "$(scaled 200)" "$reps"

# Primes at np 1 and np 2 x 1 thread, and a plain MPI loop as the machine's own scaling.
t1=() t2=() p1=() p2=()
for _ in 1 2; do
  out=$(mpirun_ -np 1 "$bin/mpp_bench_primes" "$primes_n" 1 "$reps"); echo "$out"
  t1+=("$(echo "$out" | num s)"); p1+=("$(echo "$out" | num plain)")
  out=$(mpirun_ -np 2 "$bin/mpp_bench_primes" "$primes_n" 1 "$reps"); echo "$out"
  t2+=("$(echo "$out" | num s)"); p2+=("$(echo "$out" | num plain)")
done
a=$(best "${t1[@]}") b=$(best "${t2[@]}") c=$(best "${p1[@]}") d=$(best "${p2[@]}")
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN { printf "primes, np 2 x 1 thread vs np 1: mpp efficiency %.2f; plain MPI loop on this machine now: %.2f\n", a / (2 * b), c / (2 * d) }'

# Per-chunk overhead of the dynamic schedule next to the MPI round trip.
out=$(mpirun_ -np 2 "$bin/mpp_bench_overhead" "$chunks" "$reps"); echo "$out"
chunk_us=$(echo "$out" | sed -n 's/.*: \([0-9.]*\) us per chunk.*/\1/p' | head -1)
trip_us=$(echo "$out" | sed -n 's/^MPI round trip.*: \([0-9.]*\) us.*/\1/p' | head -1)

# A large value there and back (Executor::submit) against MPI_Send/Recv of the same bytes.
# MPP_BENCH_LARGE_GIB sets the size (default 1; the figure in the notes is 3).
out=$(mpirun_ -np 2 "$bin/mpp_bench_large_roundtrip" "${MPP_BENCH_LARGE_GIB:-1}" 3); echo "$out"

[ -n "$json" ] || exit 0
mpi4py=$(/usr/bin/python3 -c 'import mpi4py; print(mpi4py.__version__)')
library=$(ompi_info --version 2>/dev/null | head -1 || echo '?')
cat >"$json" <<JSON
{"load": "$load", "repetitions": $reps, "mpi4py": "$mpi4py", "mpi": "$library",
 "tiny_tasks": {"np": $np, "chunksize": 1, "mpp_tasks": $tiny_mpp, "mpi4py_tasks": $tiny_py,
                "mpp_us_per_task": $m, "mpi4py_us_per_task": $p},
 "primes": {"n": $primes_n, "threads_per_rank": 1, "mpp_np1_s": $a, "mpp_np2_s": $b,
            "plain_np1_s": $c, "plain_np2_s": $d},
 "overhead": {"np": 2, "chunks": $chunks, "mpp_us_per_chunk": $chunk_us,
              "mpi_round_trip_us": $trip_us}}
JSON
echo "wrote $json"
