#include "../common/map_reduce.hpp"
#include "workload.hpp"

namespace {
const bool registered = bench::map_reduce::omp<pi::Workload>();
}  // namespace
