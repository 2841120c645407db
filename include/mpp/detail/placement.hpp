#pragma once
// Keeps the threads that drain a pool's task queue on different CPUs; opt-in, see
// PoolOptions::placement.

#include <chrono>
#include <optional>

namespace mpp::detail {

// A drainer's place among the CPUs, registered for its lifetime. Linux places a thread when it
// wakes up and rarely moves a runnable one later: two workers woken while the submitting thread
// held the other CPU can end up sharing one CPU for a whole burst of tasks, which never lets
// them sleep, while the other CPU idles. check() notices that and moves the calling thread to a
// CPU where no drainer runs.
class Placement {
 public:
  Placement() noexcept;
  ~Placement();
  Placement(const Placement&) = delete;
  Placement& operator=(const Placement&) = delete;

  // Called every few tasks: if another drainer shares this thread's CPU while a CPU it may use
  // has none, moves there (at most once a millisecond; the thread's affinity is left as it was).
  void check() noexcept;

  // Whether a pool places its drainers: `option` when set, else the environment variable
  // MPP_PLACEMENT ("1": on; unset, empty or "0": off; anything else throws
  // std::invalid_argument).
  static bool wanted(const std::optional<bool>& option);

  // The number of drainers registered on `cpu` (for tests).
  static int drainers_on(int cpu) noexcept;

 private:
  void enter() noexcept;
  void leave() noexcept;

  int cpu_ = -1;
  std::chrono::steady_clock::time_point last_move_{};
};

}  // namespace mpp::detail
