#include <cstdlib>
#include <string>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/executor_input.hpp"

namespace mpp::mpi::detail {

void check_map_options(const ExecutorMapOptions& options, const char* what) {
  const std::string call = std::string("mpi::Executor::") + what;
  if (options.chunksize && *options.chunksize == 0) {
    mpp::detail::throw_invalid_argument(call +
                                        ": chunksize must be at least 1 (as in "
                                        "MPIPoolExecutor.map)");
  }
  if (options.buffersize && *options.buffersize == 0) {
    mpp::detail::throw_invalid_argument(
        call +
        ": buffersize must be at least 1 task in flight (as in MPIPoolExecutor.map); leave it "
        "unset for the default");
  }
  if (options.timeout && options.timeout->count() < 0) {
    mpp::detail::throw_invalid_argument(call + ": timeout must not be negative");
  }
  mpp::detail::check_policy(options.backoff, options.task_timeout, call);
}

void refuse_checkpoint(const ExecutorMapOptions& options, const char* what) {
  if (options.checkpoint.empty()) return;
  mpp::detail::throw_invalid_argument(
      std::string("mpi::Executor::") + what +
      ": checkpoint works with map, starmap, map_async and starmap_async, which read every "
      "result; drop .checkpoint here, or call map");
}

std::optional<int> max_workers_of(const ExecutorOptions& options) {
  std::optional<int> n = options.max_workers;
  const char* from = "ExecutorOptions::max_workers";
  if (!n) {
    const char* text = std::getenv("MPP_MAX_WORKERS");
    if (text == nullptr || *text == '\0') return std::nullopt;
    from = "MPP_MAX_WORKERS";
    char* end = nullptr;
    const long value = std::strtol(text, &end, 10);
    n = *end == '\0' && value >= 1 && value <= 1'000'000'000 ? static_cast<int>(value) : 0;
  }
  if (*n < 1) {
    mpp::detail::throw_invalid_argument(std::string("mpi::Executor: ") + from +
                                        " must be a whole number of at least 1 worker");
  }
  return n;
}

}  // namespace mpp::mpi::detail
