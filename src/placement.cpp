#include "mpp/detail/placement.hpp"

#include <cstdlib>
#include <string>

#include "mpp/errors.hpp"

#ifdef __linux__
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <memory>
#endif

namespace mpp::detail {

bool Placement::wanted(const std::optional<bool>& option) {
  if (option) return *option;
  const char* text = std::getenv("MPP_PLACEMENT");
  if (text == nullptr || *text == '\0' || std::string(text) == "0") return false;
  if (std::string(text) == "1") return true;
  throw_invalid_argument(std::string("MPP_PLACEMENT='") + text +
                         "' is neither 1 (move a pool's busy workers apart) nor 0 (leave them "
                         "where the kernel puts them, the default); set it to one of these, or "
                         "unset it");
}

#ifdef __linux__
namespace {

// Drainers per CPU, process-wide: the drainers of different pools share the CPUs too. A count
// changes when a drainer starts, stops or moves, and is read every few tasks by the drainers
// on its CPU, so each count has a cache line of its own.
struct alignas(64) CpuCount {
  std::atomic<int> drainers{0};
};

class Occupancy {
 public:
  // Never destroyed: a pool alive at exit (a global, a static) still drains its queue while the
  // statics are destroyed, and this one is made after the pool, at its first task.
  static Occupancy& instance() {
    static auto* const occupancy = new Occupancy;
    return *occupancy;
  }

  // The CPU the calling thread runs on, or -1 if it cannot tell.
  int current_cpu() const noexcept {
    const int cpu = sched_getcpu();
    return cpu >= 0 && cpu < cpus_ ? cpu : -1;
  }

  int cpus() const noexcept { return cpus_; }
  std::atomic<int>& drainers(int cpu) noexcept { return counts_[cpu].drainers; }

  // A CPU of `allowed` where no drainer runs, or -1 when there is none or more drainers than
  // CPUs (sharing is then unavoidable).
  int free_cpu(const cpu_set_t& allowed) const noexcept {
    int found = -1;
    int drainers = 0;
    for (int cpu = 0; cpu < cpus_; ++cpu) {
      if (!CPU_ISSET(cpu, &allowed)) continue;
      const int here = counts_[cpu].drainers.load(std::memory_order_relaxed);
      drainers += here;
      if (here == 0 && found < 0) found = cpu;
    }
    return drainers < CPU_COUNT(&allowed) ? found : -1;
  }

 private:
  Occupancy() {
    const long configured = sysconf(_SC_NPROCESSORS_CONF);
    cpus_ = configured > 0 && configured < CPU_SETSIZE ? static_cast<int>(configured) : CPU_SETSIZE;
    counts_ = std::make_unique<CpuCount[]>(static_cast<std::size_t>(cpus_));
  }

  int cpus_;
  std::unique_ptr<CpuCount[]> counts_;
};

// Pins the calling thread to `cpu`, which makes the kernel move it there at once, then gives it
// back its mask: the kernel leaves a thread where it is while its CPU stays allowed.
void move_to(int cpu, const cpu_set_t& allowed) noexcept {
  cpu_set_t target;
  CPU_ZERO(&target);
  CPU_SET(cpu, &target);
  if (sched_setaffinity(0, sizeof(target), &target) == 0) {
    sched_setaffinity(0, sizeof(allowed), &allowed);
  }
}

}  // namespace

Placement::Placement() noexcept {
  enter();
}

Placement::~Placement() {
  leave();
}

void Placement::enter() noexcept {
  cpu_ = Occupancy::instance().current_cpu();
  if (cpu_ >= 0) Occupancy::instance().drainers(cpu_).fetch_add(1, std::memory_order_relaxed);
}

void Placement::leave() noexcept {
  if (cpu_ >= 0) Occupancy::instance().drainers(cpu_).fetch_sub(1, std::memory_order_relaxed);
  cpu_ = -1;
}

void Placement::check() noexcept {
  Occupancy& occupancy = Occupancy::instance();
  if (occupancy.current_cpu() != cpu_) {  // the kernel moved this thread: follow it
    leave();
    enter();
    return;
  }
  if (cpu_ < 0) return;
  std::atomic<int>& here = occupancy.drainers(cpu_);
  int sharing = here.load(std::memory_order_relaxed);
  if (sharing < 2) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_move_ < std::chrono::milliseconds(1)) return;
  last_move_ = now;
  // Of the drainers sharing this CPU, only the one that takes itself off its count moves.
  if (!here.compare_exchange_strong(sharing, sharing - 1, std::memory_order_relaxed)) return;
  cpu_ = -1;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
    if (const int cpu = occupancy.free_cpu(allowed); cpu >= 0) move_to(cpu, allowed);
  }
  enter();
}

int Placement::drainers_on(int cpu) noexcept {
  Occupancy& occupancy = Occupancy::instance();
  return cpu >= 0 && cpu < occupancy.cpus() ? occupancy.drainers(cpu).load() : 0;
}

#else  // Elsewhere the scheduler is left to place the threads.

Placement::Placement() noexcept = default;
Placement::~Placement() = default;
void Placement::check() noexcept {}
int Placement::drainers_on(int) noexcept {
  return 0;
}
void Placement::enter() noexcept {}
void Placement::leave() noexcept {}

#endif
}  // namespace mpp::detail
