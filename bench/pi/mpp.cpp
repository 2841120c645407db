#include "../common/map_reduce.hpp"
#include "workload.hpp"

namespace {
const bool registered = bench::map_reduce::mpp<pi::Workload>();
}  // namespace
