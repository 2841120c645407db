#pragma once
// Stopping cleanly on SIGINT and SIGTERM: what a checkpointed map (MapOptions::checkpoint) and
// the MPI layer's resumable maps watch while they run.

#include <cstdint>
#include <functional>

namespace mpp::detail {

// While it lives, the first SIGINT or SIGTERM calls `on_signal(signo)` on a background thread
// (Boost.Asio signal_set), and a second one, while a watch that saw the first still lives, ends
// the process as that signal would have without mpp: the previous disposition returns and the
// signal is sent again. A SIGTERM within 10 s of a first SIGTERM is not a second one (a batch
// system repeating itself). Several watches share one Asio watcher; when the last one ends, the
// dispositions (handler, mask, flags) that were there before the first are restored. A signal
// the application ignores (SIG_IGN) is not watched: it stays ignored.
class SignalWatch {
 public:
  explicit SignalWatch(std::function<void(int)> on_signal);
  ~SignalWatch();
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

 private:
  std::uint64_t id_;
};

}  // namespace mpp::detail
