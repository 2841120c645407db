#include "workload.hpp"

namespace {

void serial(benchmark::State& state) {
  tree::run(state, tree::serial_sort);
}

const auto* registered = bench::serial(tree::baseline, serial);

}  // namespace
