#include "../common/map_reduce.hpp"
#include "workload.hpp"

namespace {
const bool registered = bench::map_reduce::async<primes::Workload>();
}  // namespace
