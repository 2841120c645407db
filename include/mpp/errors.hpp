#pragma once
/// @file
/// The exception types mpp throws. Misuse of an object is a `std::logic_error`; a result that
/// did not arrive in time, or was cancelled, is a `std::runtime_error`.

#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace mpp {

/// `get(timeout)` ran out of time before the result was ready (Python's
/// `multiprocessing.TimeoutError`). The task keeps running; calling `get` again may succeed.
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A task or map item ran past its time limit (`MapOptions::task_timeout`,
/// `ApplyOptions::timeout`). At the limit its stop token was set; this error is what it completed
/// with once it returned or threw. If it threw, its exception is nested
/// (`std::rethrow_if_nested`). The message names the item, how long it ran and the limit; a
/// large `overdue()` means the task ignored its stop token, since a thread cannot be killed.
class TaskTimeoutError : public std::runtime_error {
 public:
  /// `index`: the item's position in the map's input, none for `apply_async`.
  TaskTimeoutError(const std::string& what, std::optional<std::size_t> index,
                   std::chrono::nanoseconds elapsed, std::chrono::nanoseconds limit)
      : std::runtime_error(what), index_(index), elapsed_(elapsed), limit_(limit) {}
  /// The item's position in the map's input; none for a task of `apply_async`.
  std::optional<std::size_t> index() const noexcept { return index_; }
  /// How long the task ran.
  std::chrono::nanoseconds elapsed() const noexcept { return elapsed_; }
  /// Its time limit.
  std::chrono::nanoseconds limit() const noexcept { return limit_; }
  /// How long it ran past the limit: the time it kept its thread after being asked to stop.
  std::chrono::nanoseconds overdue() const noexcept { return elapsed_ - limit_; }

 private:
  std::optional<std::size_t> index_;
  std::chrono::nanoseconds elapsed_;
  std::chrono::nanoseconds limit_;
};

/// The task never ran, or stopped early, because it was cancelled (`AsyncResult::cancel()`,
/// Python's `Future.cancel()`), the pool was terminated, or the map it belonged to failed or was
/// abandoned. A continuation of a cancelled result fails with it too.
class CancelledError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The pool's initializer threw on a worker; the pool runs no task after that. The initializer's
/// own exception is nested (`std::rethrow_if_nested`).
class InitializerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A call that the pool's state does not allow: submitting to a closed pool, `join()` before
/// `close()`, or joining from inside one of the pool's own tasks (Python's `ValueError`).
class PoolStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A pool was used in a child process made by `fork()` after the parent had used a pool.
/// oneTBB's worker threads do not survive `fork()` (only the forking thread is copied), so such a
/// pool could never run its tasks. Fork before using any pool, or start a fresh program in the
/// child (`exec`, `posix_spawn`), or use `mpp::mpi` for several processes.
class ForkError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// `AsyncResult::successful()` was asked before the result was ready (Python's `ValueError`).
class NotReadyError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A checkpoint journal cannot be used: it was written by a different map (other inputs or
/// size) or computation (another result type, function or `checkpoint_tag`), by another version
/// of mpp, another map is writing it, it is not a journal, or it cannot be read or written (a
/// full disk fails the map at once). The message names the file and what differs.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A checkpointed map stopped because the process received SIGINT or SIGTERM (a batch system's
/// time limit). Chunks that finished are in the journal; rerunning the same map resumes. (A
/// second Ctrl-C while the map stops ends the process instead, as SIGINT would without mpp; a
/// SIGTERM repeated within 10 s, as batch systems send it, is the same request.)
class InterruptedError : public std::runtime_error {
 public:
  /// `signal_number` is the signal received (`SIGTERM`, `SIGINT`).
  InterruptedError(const std::string& what, int signal_number)
      : std::runtime_error(what), signal_(signal_number) {}
  /// The signal that interrupted the map.
  int signal_number() const noexcept { return signal_; }

 private:
  int signal_;
};

/// The former name of `mpp::InterruptedError`.
using Interrupted [[deprecated("use mpp::InterruptedError")]] = InterruptedError;

namespace detail {
// Every throw of the library goes through these, so messages stay consistent.
[[noreturn]] void throw_invalid_argument(const std::string& what);
[[noreturn]] void throw_pool_not_running(const char* call);
[[noreturn]] void throw_join_while_running();
[[noreturn]] void throw_join_from_worker();
[[noreturn]] void throw_not_ready();
[[noreturn]] void throw_timeout(double seconds);
[[noreturn]] void throw_as_completed_timeout(double seconds, std::size_t pending);
[[noreturn]] void throw_stream_timeout(double seconds);
// Throws TaskTimeoutError; inside a catch block, with the exception being handled nested.
[[noreturn]] void throw_task_timeout(std::optional<std::size_t> index,
                                     std::chrono::nanoseconds elapsed,
                                     std::chrono::nanoseconds limit, bool nest_current);
[[noreturn]] void throw_empty_result();
[[noreturn]] void throw_initializer_failed(const std::exception_ptr& cause);
[[noreturn]] void throw_cancelled(const char* why);
[[noreturn]] void throw_forked_child();
[[noreturn]] void throw_forked_pool(const char* call);
[[noreturn]] void throw_checkpoint(const std::string& path, const std::string& what);
[[noreturn]] void throw_interrupted(int signal_number, const std::string& path, std::size_t done,
                                    std::size_t chunks);
}  // namespace detail

}  // namespace mpp
