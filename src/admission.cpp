// Admission of pools into the process: fork detection, the oneTBB worker limit all pools share,
// and the checks a new pool's options must pass.
#include "admission.hpp"

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>

#include <pthread.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "mpp/cpus.hpp"
#include "mpp/detail/placement.hpp"
#include "mpp/errors.hpp"

namespace mpp::detail {
namespace {

// fork() copies only the calling thread: in the child, oneTBB's scheduler still counts the
// parent's workers, which are gone, so enqueued work would never run (oneTBB 2021.8 cannot be
// restarted while any arena exists). The child's pools therefore refuse work with ForkError.
// Both flags are lock-free atomics, safe in pthread_atfork's child handler.
std::atomic<unsigned> forks{0};                // forks between the first process and this one
std::atomic<bool> scheduler_started{false};    // this process (or its parent) created a pool
std::atomic<bool> scheduler_inherited{false};  // ... and this process was forked after that

void on_fork_child() noexcept {
  forks.fetch_add(1);
  if (scheduler_started.load()) scheduler_inherited.store(true);
}

// Registers on_fork_child once, at the first pool.
void watch_forks() {
  static const bool registered = pthread_atfork(nullptr, nullptr, &on_fork_child) == 0;
  (void)registered;
}

// oneTBB starts default_concurrency() - 1 shared workers. Each Pool(n) promises n tasks at once
// whatever the other pools do (Python gives each pool its own processes), so while pools live we
// keep one global_control raising the limit to the sum of their threads, plus one for a calling
// thread (the smallest active limit wins, so there must be only one). The application's own,
// lower limit still wins: a pool that cannot keep its promise under it is refused.
class WorkerLimit {
 public:
  // Never destroyed: a pool alive at exit (a global, a static) releases its need while the
  // statics are destroyed, possibly after a function-local static made later than it.
  static WorkerLimit& instance() {
    static auto* const limit = new WorkerLimit;
    return *limit;
  }

  // Reserves the pool's threads (`requested`, or mpp::available_cpus()) and returns how many.
  int acquire(const std::optional<int>& requested) {
    std::lock_guard lock(mutex_);
    int threads = requested ? *requested : available_cpus();
    update(total_ + threads);
    const int room = static_cast<int>(tbb::global_control::active_value(
                         tbb::global_control::max_allowed_parallelism)) -
                     1 - total_;
    if (threads > room) {
      if (requested || room < 1) {
        update(total_);
        throw_limited(threads, room);
      }
      threads = room;  // Pool(): as many as the application's limit leaves
    }
    total_ += threads;
    return threads;
  }

  void release(int threads) {
    std::lock_guard lock(mutex_);
    total_ -= threads;
    update(total_);
  }

 private:
  void update(int pool_threads) {
    const int need = pool_threads == 0 ? 0 : pool_threads + 1;
    const int wanted = need > tbb::info::default_concurrency() ? need : 0;
    if (wanted == current_) return;
    control_.reset();
    if (wanted != 0) {
      control_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                       static_cast<std::size_t>(wanted));
    }
    current_ = wanted;
  }

  void throw_limited(int threads, int room) const {
    const auto limit =
        tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
    std::string message = "Pool: " + std::to_string(threads) + " threads need oneTBB to run " +
                          std::to_string(total_ + threads + 1) + " threads";
    if (total_ > 0) message += " (other pools alive hold " + std::to_string(total_) + ")";
    message += ", but a tbb::global_control limits max_allowed_parallelism to " +
               std::to_string(limit) + "; ";
    message +=
        room >= 1 ? "ask for at most " + std::to_string(room) + " threads, or raise" : "raise";
    throw_invalid_argument(message + " or remove that limit");
  }

  std::mutex mutex_;
  int total_ = 0;  // threads of the pools alive
  std::unique_ptr<tbb::global_control> control_;
  int current_ = 0;
};

}  // namespace

int admit_pool(const PoolOptions& options) {
  watch_forks();
  if (scheduler_inherited.load()) throw_forked_child();
  if (options.threads && *options.threads <= 0) {
    throw_invalid_argument("Pool: threads must be positive, got " +
                           std::to_string(*options.threads) +
                           "; leave it unset to use mpp::available_cpus()");
  }
  return WorkerLimit::instance().acquire(options.threads);
}

bool admit_placement(const PoolOptions& options, int threads) {
  try {
    return Placement::wanted(options.placement);
  } catch (...) {
    release_pool(threads);
    throw;
  }
}

void release_pool(int threads) {
  WorkerLimit::instance().release(threads);
}

unsigned fork_generation() noexcept {
  return forks.load(std::memory_order_relaxed);
}

void mark_scheduler_started() noexcept {
  scheduler_started.store(true);
}

}  // namespace mpp::detail
