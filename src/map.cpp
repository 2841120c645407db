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

bool retry_allowed() noexcept {
  return !this_task::stop_requested();
}

std::size_t python_chunksize(std::size_t n, int threads) noexcept {
  const std::size_t per = 4 * static_cast<std::size_t>(threads);
  return std::max<std::size_t>(1, (n + per - 1) / per);
}

}  // namespace mpp::detail
