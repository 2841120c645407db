#pragma once
/// @file
/// The exceptions of mpp's MPI layer: failures on other ranks, and collective calls that the
/// ranks did not make alike.

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace mpp::mpi {

/// An exception thrown by a task on another rank, delivered to this one. It carries where it
/// happened and what it was; the original object cannot cross processes, so its type survives as
/// a name. Thrown on every rank of a collective call that failed elsewhere (the failing rank
/// rethrows its own original exception), and by `Executor` futures of tasks that threw.
///
/// ```cpp
/// try {
///   cluster.map(simulate, xs);
/// } catch (const mpp::mpi::RemoteError& e) {
///   std::fprintf(stderr, "rank %d (%s), item %zu: %s\n", e.rank(), e.host().c_str(),
///                e.item().value_or(0), e.message().c_str());
/// }
/// ```
///
/// Thread-safe to read from several threads (all members are const).
class RemoteError : public std::runtime_error {
 public:
  /// @param rank the failing rank in the pool's communicator; @param host its processor name;
  /// @param item the index of the failing item in the map's input (or of the task), -1 if
  /// unknown; @param type_name the demangled type of the exception; @param message its `what()`.
  RemoteError(int rank, std::string host, std::int64_t item, std::string type_name,
              std::string message);

  /// The rank, in the communicator of the pool or executor, where the exception was thrown.
  int rank() const noexcept { return rank_; }
  /// The processor name (`MPI_Get_processor_name`) of that rank, usually its host name.
  const std::string& host() const noexcept { return host_; }
  /// The index of the failing item in the input of `map` / `starmap` (of the task for
  /// `Executor::submit`), if known.
  std::optional<std::size_t> item() const noexcept {
    if (item_ < 0) return std::nullopt;
    return static_cast<std::size_t>(item_);
  }
  /// The demangled type name of the original exception, e.g. `std::runtime_error`.
  const std::string& type_name() const noexcept { return type_name_; }
  /// The original exception's `what()`.
  const std::string& message() const noexcept { return message_; }

 private:
  int rank_;
  std::string host_;
  std::int64_t item_;
  std::string type_name_;
  std::string message_;
};

/// The ranks made different collective calls: another function or item type, another number of
/// items, other options, or calls in another order. Thrown on every rank, so none waits forever.
class CollectiveMismatchError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// mpp's MPI layer was used in a way MPI does not allow here: before `MPI_Init` or after
/// `MPI_Finalize`, or from a thread other than the main one when MPI provides only
/// `MPI_THREAD_FUNNELED`.
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// An `Executor` can run no more tasks because the initializer threw on one of its ranks
/// (Python's `concurrent.futures.BrokenExecutor`, as `MPIPoolExecutor(initializer=...)` raises
/// it). Every future pending when the root learnt it, every later `submit` and `map` throw it;
/// `shutdown` still returns and releases every worker. It names the rank, its host and the
/// initializer's exception.
///
/// ```cpp
/// try {
///   auto n = executor.submit(count_primes, 0L, 1000L).get();
/// } catch (const mpp::mpi::BrokenExecutor& e) {
///   std::fprintf(stderr, "rank %d: %s\n", e.rank(), e.message().c_str());
/// }
/// ```
///
/// Thread-safe to read from several threads (all members are const).
class BrokenExecutor : public std::runtime_error {
 public:
  /// @param rank the rank whose initializer threw; @param host its processor name;
  /// @param type_name the demangled type of the initializer's exception; @param message its
  /// `what()`.
  BrokenExecutor(int rank, std::string host, std::string type_name, std::string message);

  /// The rank, in the executor's communicator, whose initializer threw.
  int rank() const noexcept { return rank_; }
  /// The processor name of that rank.
  const std::string& host() const noexcept { return host_; }
  /// The demangled type name of the initializer's exception.
  const std::string& type_name() const noexcept { return type_name_; }
  /// The initializer's exception's `what()`.
  const std::string& message() const noexcept { return message_; }

 private:
  int rank_;
  std::string host_;
  std::string type_name_;
  std::string message_;
};

namespace detail {

// What one rank reports about an exception it caught; crosses ranks as bytes.
struct ErrorRecord {
  int rank = -1;
  std::string host;
  std::int64_t item = -1;
  std::string type_name;
  std::string message;
};

// Describes `error` (type name and what()), thrown on `rank`/`host` at `item`.
ErrorRecord describe(const std::exception_ptr& error, int rank, const std::string& host,
                     std::int64_t item);
std::string encode(const ErrorRecord& record);
ErrorRecord decode_error(const char* data, std::size_t size);

// Every throw of the MPI layer goes through these, so messages stay consistent.
[[noreturn]] void throw_remote(const ErrorRecord& record);
// The initializer failed as `record` says (on its rank): BrokenExecutor.
[[noreturn]] void throw_broken(const ErrorRecord& record);
[[noreturn]] void throw_mismatch(const std::string& what);
[[noreturn]] void throw_mpi_failed(const char* call, int code);
// Throws as throw_mpi_failed unless `code` is MPI_SUCCESS.
inline void check_mpi(int code, const char* call) {
  if (code != MPI_SUCCESS) throw_mpi_failed(call, code);
}

// Ends the whole job: prints `message` (one line) on stderr, gives the launcher a moment to
// forward it (Hydra loses a rank's last output when MPI_Abort tears the job down at once), then
// MPI_Abort(MPI_COMM_WORLD, 1).
[[noreturn]] void abort_job(const std::string& message) noexcept;
[[noreturn]] void throw_usage(const std::string& what);
[[noreturn]] void throw_too_large(const char* call, std::size_t bytes);
// The root's journal cannot be used: every rank throws mpp::CheckpointError with its message.
[[noreturn]] void throw_checkpoint_of_root(const std::string& message);

}  // namespace detail

}  // namespace mpp::mpi
