#pragma once
// Helpers shared by mpp's tests. Every wait here has a deadline, so a bug in the library makes a
// test fail instead of hanging it.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

namespace mpp_test {

using namespace std::chrono_literals;

/// How long a test waits for something that should happen at once before calling it a failure.
/// Generous, because the machines running the tests are small and shared.
inline constexpr auto patience = 10s;

/// A journal path of its own per test (`name` unique per test), removed at the end.
struct TempJournal {
  std::string path;
  explicit TempJournal(const char* name)
      : path((std::filesystem::temp_directory_path() /
              (std::string("mpp-") + name + "-" + std::to_string(::getpid()) + ".journal"))
                 .string()) {
    std::filesystem::remove(path);
  }
  ~TempJournal() { std::filesystem::remove(path); }
};

/// A one-shot event: `set()` once, `wait()` with a deadline.
class Event {
 public:
  void set() {
    {
      std::lock_guard lock(mutex_);
      set_ = true;
    }
    changed_.notify_all();
  }
  bool is_set() const {
    std::lock_guard lock(mutex_);
    return set_;
  }
  /// True if the event was set within `timeout`.
  bool wait(std::chrono::steady_clock::duration timeout = patience) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  bool set_ = false;
};

/// `n` parties meet: `arrive_and_wait()` returns true once all `n` have arrived, or false when
/// `timeout` passes first. Unlike `std::latch`, the wait is bounded.
class Rendezvous {
 public:
  explicit Rendezvous(int n) : expected_(n) {}
  bool arrive_and_wait(std::chrono::steady_clock::duration timeout = patience) {
    std::unique_lock lock(mutex_);
    ++arrived_;
    if (arrived_ >= expected_) {
      lock.unlock();
      changed_.notify_all();
      return true;
    }
    return changed_.wait_for(lock, timeout, [&] { return arrived_ >= expected_; });
  }
  int arrived() const {
    std::lock_guard lock(mutex_);
    return arrived_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int expected_;
  int arrived_ = 0;
};

/// Polls `done()` until it is true or `timeout` passes; returns its last value.
template <class Pred>
bool eventually(Pred done, std::chrono::steady_clock::duration timeout = patience) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(100us);
  }
  return true;
}

/// Sets (or unsets, with `std::nullopt`) an environment variable and restores the previous value
/// when it goes out of scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// How a child process ended: its exit code, or the signal that killed it, or a timeout.
struct ChildExit {
  bool exited = false;     ///< it returned or called exit(); `code` is its exit code
  int code = -1;           ///< the exit code when `exited`
  int signal = 0;          ///< the signal that killed it otherwise (SIGKILL after a timeout)
  bool timed_out = false;  ///< it was still running after the timeout and was killed
  std::string output;      ///< what it wrote to stdout (run_program only)
  bool ok() const { return exited && code == 0; }
};

/// Waits at most `timeout` for child `pid`, then kills it: a hung child fails the test instead
/// of hanging it.
inline ChildExit wait_for_child(pid_t pid, std::chrono::steady_clock::duration timeout = patience) {
  ChildExit result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(1ms);
  }
  if (WIFEXITED(status)) {
    result.exited = true;
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

/// Runs `program` with `args` in a child process (stdout captured, stderr inherited so that a
/// sanitizer's report shows) and waits for it at most `timeout`.
inline ChildExit run_program(const std::string& program, std::vector<std::string> args,
                             std::chrono::steady_clock::duration timeout = patience) {
  char out_name[] = "/tmp/mpp_test_child_XXXXXX";
  const int out = ::mkstemp(out_name);
  if (out < 0) return {};
  ::close(out);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_name, O_WRONLY | O_TRUNC, 0600);
  args.insert(args.begin(), program);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ChildExit result;
  if (spawned == 0) result = wait_for_child(pid, timeout);
  std::ifstream in(out_name);
  result.output.assign(std::istreambuf_iterator<char>(in), {});
  ::unlink(out_name);
  return result;
}

/// A slow item: enough work that other threads get to run, without a timing assertion on it.
inline void pause_briefly() {
  std::this_thread::sleep_for(200us);
}

/// The sequential reference every parallel result is compared with.
template <class F, class Range>
auto sequential_map(F f, const Range& items) {
  std::vector<decltype(f(*std::ranges::begin(items)))> out;
  for (auto&& item : items) out.push_back(f(item));
  return out;
}

}  // namespace mpp_test
