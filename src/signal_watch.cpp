#include "mpp/detail/signal_watch.hpp"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace mpp::detail {

namespace {

constexpr int watched_signals[] = {SIGINT, SIGTERM};
// A SIGTERM this soon after a first SIGTERM is the same request, sent again (see
// SignalHub::dispatch).
constexpr auto duplicate_window = std::chrono::seconds(10);

// The one Asio watcher that every live SignalWatch shares. The first watch saves the signals'
// dispositions and starts it; the last one stops it and puts the saved dispositions back, since
// Asio's signal_set only ever restores SIG_DFL.
class SignalHub {
 public:
  static SignalHub& instance() {
    static SignalHub hub;
    return hub;
  }

  std::uint64_t subscribe(std::function<void(int)> on_signal) {
    std::lock_guard life(lifecycle_);
    if (subscribers_count_ == 0) start();
    ++subscribers_count_;
    std::lock_guard lock(mutex_);
    subscribers_.emplace(++last_id_, std::move(on_signal));
    return last_id_;
  }

  void unsubscribe(std::uint64_t id) {
    std::lock_guard life(lifecycle_);
    {
      // Waits for a dispatch in progress: the callback never runs after its watch ended.
      std::lock_guard lock(mutex_);
      subscribers_.erase(id);
    }
    if (--subscribers_count_ == 0) stop();
  }

 private:
  void start() {
    signalled_ = false;
    io_ = std::make_unique<boost::asio::io_context>();
    signals_ = std::make_unique<boost::asio::signal_set>(*io_);
    for (std::size_t i = 0; i < std::size(watched_signals); ++i) {
      ::sigaction(watched_signals[i], nullptr, &previous_[i]);
      const bool ignored =
          (previous_[i].sa_flags & SA_SIGINFO) == 0 && previous_[i].sa_handler == SIG_IGN;
      watched_[i] = !ignored;  // a background job's ignored SIGINT stays ignored
      if (watched_[i]) signals_->add(watched_signals[i]);
    }
    arm();
    thread_ = std::thread([io = io_.get()] { io->run(); });
  }

  void stop() {
    signals_->cancel();
    io_->stop();
    thread_.join();
    // Asio sets SIG_DFL here (unless another signal_set of the process watches the signal);
    // for the microseconds until the next lines, a signal takes its default action.
    signals_.reset();
    io_.reset();
    restore();
  }

  void restore() {
    for (std::size_t i = 0; i < std::size(watched_signals); ++i) {
      if (watched_[i]) ::sigaction(watched_signals[i], &previous_[i], nullptr);
    }
  }

  void arm() {
    signals_->async_wait([this](const boost::system::error_code& error, int signo) {
      if (error) return;  // cancelled by stop()
      dispatch(signo);
      arm();
    });
  }

  void dispatch(int signo) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    // Batch systems send one request more than once: at a time limit Slurm signals the step,
    // the job, and srun forwards its own SIGTERM, so a task gets SIGTERM two or three times, the
    // last one seconds later on a busy node. A repeated SIGTERM within the window is that; a
    // second Ctrl-C (SIGINT, which a terminal sends once per key press) or a SIGTERM after the
    // window is the user's second request.
    if (signalled_ && signo == SIGTERM && first_signo_ == SIGTERM &&
        now - first_signal_ < duplicate_window) {
      return;
    }
    if (signalled_) {
      // The second signal: the user does not want to wait for the running chunks. Finished
      // chunks are already in the kernel (JournalFile::append), so ending the process loses none.
      restore();
      ::kill(::getpid(), signo);
      return;  // the application's own handler ran, or it ignores the signal: carry on
    }
    signalled_ = true;
    first_signal_ = now;
    first_signo_ = signo;
    for (auto& [id, on_signal] : subscribers_) on_signal(signo);
  }

  std::mutex lifecycle_;  // start and stop, and the count that decides them
  std::size_t subscribers_count_ = 0;
  std::mutex mutex_;  // subscribers_ and signalled_, and every dispatch
  std::map<std::uint64_t, std::function<void(int)>> subscribers_;
  std::uint64_t last_id_ = 0;
  bool signalled_ = false;
  std::chrono::steady_clock::time_point first_signal_;
  int first_signo_ = 0;
  struct sigaction previous_[std::size(watched_signals)] = {};
  bool watched_[std::size(watched_signals)] = {};
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<boost::asio::signal_set> signals_;
  std::thread thread_;
};

}  // namespace

SignalWatch::SignalWatch(std::function<void(int)> on_signal)
    : id_(SignalHub::instance().subscribe(std::move(on_signal))) {}

SignalWatch::~SignalWatch() {
  SignalHub::instance().unsubscribe(id_);
}

}  // namespace mpp::detail
