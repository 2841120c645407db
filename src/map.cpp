#include "mpp/detail/map.hpp"

#include <string>

#include "mpp/errors.hpp"
#include "mpp/worker.hpp"

namespace mpp::detail {

std::size_t checked_chunksize(const MapOptions& options, const char* call) {
  if (!options.chunksize) return 0;
  if (*options.chunksize == 0) {
    throw_invalid_argument(std::string("Pool::") + call +
                           ": chunksize must be at least 1; leave it unset for the schedule's "
                           "default");
  }
  return *options.chunksize;
}

std::size_t checked_buffersize(const MapOptions& options, int threads, const char* call) {
  if (!options.buffersize) return 4 * static_cast<std::size_t>(threads);
  if (*options.buffersize == 0) {
    throw_invalid_argument(std::string("Pool::") + call +
                           ": buffersize must be at least 1; leave it unset for 4 x threads");
  }
  return *options.buffersize;
}

void check_transform(const MapOptions& options, std::size_t input,
                     std::optional<std::size_t> output) {
  (void)checked_chunksize(options, "transform");
  if (!options.checkpoint.empty()) {
    throw_invalid_argument(
        "Pool::transform: checkpoint works with map, map_async and starmap, whose results the "
        "journal can rebuild; transform writes into the caller's buffer");
  }
  if (output && *output < input) {
    throw_invalid_argument("Pool::transform: the output has room for " + std::to_string(*output) +
                           " elements but the input has " + std::to_string(input) +
                           " items; give an output of at least the input's size");
  }
}

void check_collect(const MapOptions& options, const char* call) {
  if (!options.checkpoint.empty()) {
    throw_invalid_argument(std::string("Pool::") + call +
                           ": checkpoint does not combine with mpp::on_error::collect; the "
                           "journal stores values, not failures");
  }
}

bool retry_allowed() noexcept {
  return !this_task::stop_requested();
}

std::size_t python_chunksize(std::size_t n, int threads) noexcept {
  const std::size_t per = 4 * static_cast<std::size_t>(threads);
  return std::max<std::size_t>(1, (n + per - 1) / per);
}

}  // namespace mpp::detail
