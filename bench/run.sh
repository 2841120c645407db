#!/usr/bin/env bash
# The benchmark suite and its scaling report, in one command:
#
#     bash bench/run.sh
#
# installs the Debian packages it needs when they are missing, configures and builds the `bench`
# preset (Release), runs every workload over 1 ... mpp::available_cpus() threads with progress,
# runs the Python peers and the MPI layer against mpi4py.futures, and writes
# build/bench/results/report.md, its plots and the per-run JSON files. bench/results holds the
# published report of a release: write it there with MPP_BENCH_OUT=bench/results.
# About 15 minutes on 2 cores.
#
# Environment (see bench/README.md):
#   MPP_BENCH_REPS=5          repetitions per benchmark (medians are reported)
#   MPP_BENCH_MIN_TIME=0.2    seconds per repetition (at least one iteration)
#   MPP_BENCH_THREADS=1,2     thread counts (default 1, 2, 4, ..., available CPUs)
#   MPP_BENCH_SCALE=0.01      multiplies every problem size (quick runs)
#   MPP_BENCH_ONLY="tasks fib"  run only these workloads (the report shows what it finds);
#                             "mpi" names the MPI comparison
#   MPP_BENCH_NO_PYTHON=1     skip the Python peers
#   MPP_BENCH_NO_MPI=1        skip the MPI layer against mpi4py.futures (bench/mpi/run.sh)
#   MPP_BENCH_OUT=dir         where to write (default build/bench/results)
#   MPP_BENCH_NICE=-10        nice level of the runs (default -10 as root, else 0)
#   MPP_BENCH_BUILD=dir       the build tree (default build/bench, configured by the bench preset)
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/need_packages.sh

need_packages cmake make g++ libtbb-dev libcereal-dev libbenchmark-dev libboost-dev gnuplot-nox python3

workloads=(overhead tasks mandelbrot primes pi bandwidth streaming fib tree)
skip_mpi=${MPP_BENCH_NO_MPI:+MPP_BENCH_NO_MPI is set}
if [ -n "${MPP_BENCH_ONLY:-}" ]; then
  read -r -a workloads <<<"$MPP_BENCH_ONLY"
  [[ " ${workloads[*]} " == *" mpi "* ]] || skip_mpi=${skip_mpi:-not in MPP_BENCH_ONLY}
  # "mpi" is not a Google Benchmark program: bench/mpi/run.sh runs it.
  for i in "${!workloads[@]}"; do [ "${workloads[$i]}" = mpi ] && unset "workloads[$i]"; done
  workloads=("${workloads[@]}")
fi
# The MPI comparison needs Open MPI and mpi4py; it is skipped, saying why, when they are missing
# and cannot be installed.
if [ -z "$skip_mpi" ]; then
  (need_packages libopenmpi-dev openmpi-bin python3-mpi4py) || skip_mpi="Open MPI or mpi4py missing"
fi
reps=${MPP_BENCH_REPS:-5}
min_time=${MPP_BENCH_MIN_TIME:-0.2}
out=${MPP_BENCH_OUT:-build/bench/results}
jobs=$(nproc 2>/dev/null || echo 2)
if [ "$(id -u)" -eq 0 ]; then nice_level=${MPP_BENCH_NICE:--10}; else nice_level=${MPP_BENCH_NICE:-0}; fi
# On a shared machine, a higher priority keeps background jobs from preempting the runs.
run() { nice -n "$nice_level" "$@"; }
mkdir -p "$out"
build=${MPP_BENCH_BUILD:-build/bench}
logs=$build/logs
mkdir -p "$logs"

step=0
steps=$(( ${#workloads[@]} + 5 ))
progress() { step=$((step + 1)); printf '\n==> [%d/%d %s] %s\n' "$step" "$steps" "$(date +%H:%M:%S)" "$*"; }

progress "configure and build (cmake --preset bench -B $build)"
cmake --preset bench -B "$build" >"$logs/configure.log"
targets=()
for w in "${workloads[@]}"; do targets+=(--target "mpp-bench-$w"); done
if [ -z "$skip_mpi" ]; then
  if grep -q '^MPP_WITH_MPI:BOOL=ON' "$build/CMakeCache.txt"; then
    targets+=(--target mpp_bench_tiny_tasks --target mpp_bench_primes --target mpp_bench_overhead)
  else
    skip_mpi="the MPI layer is not built (MPP_WITH_MPI is off)"
  fi
fi
cmake --build "$build" -j "$jobs" "${targets[@]}" --target mpp-bench-memory
bin=$build/bench

load_before=$(uptime | sed 's/.*load average: //')
echo "load average before: $load_before (runs at nice $nice_level)"
start=$(date +%s)

# A run of the overhead workload takes ~0.25 ms, while this kind of machine's speed drifts over
# tenths of a second: 4 times the repetitions, each a quarter as long, give its medians more
# samples spread over time at the same cost.
short_reps=$((reps * 4))
short_min_time=$(awk -v t="$min_time" 'BEGIN { print t / 4 }')
for w in "${workloads[@]}"; do
  w_reps=$reps w_min_time=$min_time
  if [ "$w" = overhead ]; then w_reps=$short_reps w_min_time=$short_min_time; fi
  progress "$w (${w_reps} repetitions, interleaved; log: $logs/$w.txt)"
  run "$bin/mpp-bench-$w" --benchmark_repetitions="$w_reps" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_min_time="$w_min_time" \
    --benchmark_report_aggregates_only=true \
    --benchmark_out="$out/$w.json" --benchmark_out_format=json \
    --benchmark_color=false | tee "$logs/$w.txt" | grep --line-buffered -E "_median|ERROR" || true
done

progress "memory: map allocations per item, imap peak RSS"
run "$bin/mpp-bench-memory" | tee "$out/memory.json"

if [ -z "${MPP_BENCH_NO_PYTHON:-}" ]; then
  progress "Python peers (multiprocessing.Pool, ProcessPoolExecutor)"
  run /usr/bin/python3 bench/python/peers.py "$out/python.json"
else
  progress "Python peers skipped (MPP_BENCH_NO_PYTHON)"
fi

if [ -z "$skip_mpi" ]; then
  progress "MPI layer vs mpi4py.futures (bench/mpi/run.sh; log: $logs/mpi.txt)"
  run bash bench/mpi/run.sh "$build" "$out/mpi.json" | tee "$logs/mpi.txt"
else
  progress "MPI layer vs mpi4py.futures skipped ($skip_mpi)"
fi

load_after=$(uptime | sed 's/.*load average: //')
progress "report ($out/report.md)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)
os=$(. /etc/os-release && echo "$PRETTY_NAME")
cxx=$(g++ --version | head -1)
tbb=$(dpkg-query -W -f='${Version}' libtbb-dev 2>/dev/null || echo '?')
cat >"$out/meta.json" <<JSON
{"date": "$(date -u '+%Y-%m-%d %H:%M UTC')", "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo '?')",
 "cpu": "$cpu", "cpus": $cpus, "memory": "$mem", "os": "$os", "compiler": "$cxx", "tbb": "$tbb",
 "load_before": "$load_before", "load_after": "$load_after", "repetitions": $reps, "nice": $nice_level,
 "min_time": $min_time, "overhead_repetitions": $short_reps, "overhead_min_time": $short_min_time, "seconds": $(( $(date +%s) - start ))}
JSON
/usr/bin/python3 bench/report.py "$out"
echo "done in $(( $(date +%s) - start )) s: $out/report.md"
