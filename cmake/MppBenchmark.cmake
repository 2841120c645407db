# mpp::benchmark: the header-only scaling helpers of include/mpp/benchmark.hpp for users' Google
# Benchmark programs (component "benchmark" of the package). Defined when Google Benchmark is
# found; mpp::mpp itself never depends on it.
find_package(benchmark CONFIG QUIET)
set(MPP_WITH_BENCHMARK ${benchmark_FOUND})
if(NOT benchmark_FOUND)
  return()
endif()
add_library(mpp_benchmark INTERFACE)
add_library(mpp::benchmark ALIAS mpp_benchmark)
set_target_properties(mpp_benchmark PROPERTIES EXPORT_NAME benchmark)
target_link_libraries(mpp_benchmark INTERFACE mpp::mpp benchmark::benchmark)
if(MPP_INSTALL)
  install(TARGETS mpp_benchmark EXPORT mppTargets)
endif()
