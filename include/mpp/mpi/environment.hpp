#pragma once
/// @file
/// `mpp::mpi::Environment`: MPI's initialization and finalization as a scope.

#include <string>

namespace mpp::mpi {

/// The thread support levels of MPI, weakest first (`MPI_THREAD_SINGLE` ...).
enum class thread_level { single, funneled, serialized, multiple };

/// Initializes MPI for the lifetime of the object (`MPI_Init_thread`) and finalizes it at the
/// end of the scope; a no-op when the application (or mpi4py, or another library) already
/// initialized MPI, in which case finalizing stays the application's job.
///
/// It asks for `MPI_THREAD_MULTIPLE`. mpp works with less: with `serialized` it takes a
/// process-wide lock around each of its MPI calls, and with `funneled` (or `single`) every mpp
/// MPI object must be used from the main thread, which mpp checks (`mpp::mpi::UsageError`).
/// mpp never calls MPI from its worker threads.
///
/// If the scope is left by an exception, the destructor calls `MPI_Abort` instead of
/// `MPI_Finalize`, so the other ranks of the job stop too instead of waiting forever.
///
/// ```cpp
/// int main(int argc, char** argv) {
///   mpp::mpi::Environment env(argc, argv);
///   mpp::mpi::Pool cluster;
///   ...
/// }
/// ```
///
/// Create one, on the main thread, before any other mpp MPI object; not thread-safe.
class Environment {
 public:
  /// Initializes MPI with `MPI_Init_thread(&argc, &argv, requested, ...)` unless it already is.
  /// Throws `mpp::mpi::UsageError` if MPI was already finalized.
  Environment(int& argc, char**& argv, thread_level requested = thread_level::multiple);
  /// As above, without command-line arguments (`MPI_Init_thread(nullptr, nullptr, ...)`).
  explicit Environment(thread_level requested = thread_level::multiple);
  /// Finalizes MPI if this object initialized it (aborts the job if an exception is leaving
  /// the scope).
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  /// The thread support MPI provides (`MPI_Query_thread`).
  thread_level provided() const;
  /// Whether this object initialized MPI and will finalize it.
  bool owns() const noexcept { return owns_; }
  /// Whether MPI is initialized and not finalized yet.
  static bool active();
  /// This process's `MPI_Get_processor_name`, usually the host name.
  static std::string processor_name();

 private:
  void init(int* argc, char*** argv, thread_level requested);
  bool owns_ = false;
  int uncaught_ = 0;
};

}  // namespace mpp::mpi
