// The main of every benchmark program of the suite: Google Benchmark's, with the speedup,
// efficiency and Karp-Flatt counters of mpp/benchmark.hpp.
#include <mpp/benchmark.hpp>

MPP_BENCHMARK_MAIN();
