#!/usr/bin/env bash
# Runs the MPI layer's benchmarks against mpi4py.futures on this machine, interleaving the
# contenders (A B A B) and printing the ratios of one run.
# usage: bench/mpi/run.sh BUILD_DIR   (a build with -DMPP_BUILD_BENCHMARKS=ON)
set -euo pipefail
build=${1:?usage: bench/mpi/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/bench/mpi
export OMPI_MCA_pml=ob1
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun_() { mpirun --oversubscribe --bind-to none "$@"; }
num() { sed -n "s/.*: \([0-9.]*\) $1.*/\1/p" | head -1; }

echo "machine: $(nproc) CPUs, load: $(cut -d' ' -f1-3 /proc/loadavg)"
np=${NP:-3}
mpp_t=() py_t=()
for round in 1 2; do
  out=$(mpirun_ -np "$np" "$bin/mpp_bench_tiny_tasks" 10000 5); echo "$out"
  mpp_t+=("$(echo "$out" | num us)")
  out=$(mpirun_ -np "$np" /usr/bin/python3 -m mpi4py.futures "$here/tiny_tasks.py" 2000 3); echo "$out"
  py_t+=("$(echo "$out" | num us)")
done
best() { printf '%s\n' "$@" | sort -g | head -1; }
m=$(best "${mpp_t[@]}") p=$(best "${py_t[@]}")
awk -v m="$m" -v p="$p" -v np="$np" 'BEGIN { printf "tiny tasks, chunksize 1, np %d: mpp %.2f us, mpi4py %.2f us per task -> %.1fx mpi4py throughput\n", np, m, p, p / m }'

t1=() t2=() p1=() p2=()
for round in 1 2; do
  out=$(mpirun_ -np 1 "$bin/mpp_bench_primes" 3000000 1 3); echo "$out"
  t1+=("$(echo "$out" | num s)"); p1+=("$(echo "$out" | num plain)")
  out=$(mpirun_ -np 2 "$bin/mpp_bench_primes" 3000000 1 3); echo "$out"
  t2+=("$(echo "$out" | num s)"); p2+=("$(echo "$out" | num plain)")
done
a=$(best "${t1[@]}") b=$(best "${t2[@]}") c=$(best "${p1[@]}") d=$(best "${p2[@]}")
awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" 'BEGIN { printf "primes, np 2 x 1 thread vs np 1: mpp efficiency %.2f; plain MPI loop on this machine now: %.2f\n", a / (2 * b), c / (2 * d) }'

mpirun_ -np 2 "$bin/mpp_bench_overhead" 20000 5
