#include "mpp/errors.hpp"

#include <csignal>
#include <exception>
#include <sstream>

namespace mpp::detail {

void throw_invalid_argument(const std::string& what) {
  throw std::invalid_argument("mpp: " + what);
}

void throw_pool_not_running(const char* call) {
  throw PoolStateError(std::string("mpp::Pool::") + call +
                       ": the pool is not running (close() or terminate() was called); "
                       "create a new Pool to submit more work");
}

void throw_join_while_running() {
  throw PoolStateError(
      "mpp::Pool::join: the pool is still running; call close() or terminate() before join()");
}

void throw_join_from_worker() {
  throw PoolStateError(
      "mpp::Pool: join() or the destructor was called from one of the pool's own tasks, which "
      "would wait for itself forever; join the pool from a thread outside it");
}

void throw_not_ready() {
  throw NotReadyError(
      "mpp::AsyncResult::successful: the result is not ready yet; call wait() or check ready() "
      "first");
}

void throw_timeout(double seconds) {
  std::ostringstream os;
  os << "mpp::AsyncResult::get: the result was not ready within " << seconds
     << " s; the task keeps running, so get() may be called again";
  throw TimeoutError(os.str());
}

void throw_as_completed_timeout(double seconds, std::size_t pending) {
  std::ostringstream os;
  os << "mpp::as_completed: " << pending << " result" << (pending == 1 ? " was" : "s were")
     << " not ready within " << seconds << " s; their tasks keep running";
  throw TimeoutError(os.str());
}

void throw_stream_timeout(double seconds) {
  std::ostringstream os;
  os << "mpp::ResultStream::next: no result arrived within " << seconds
     << " s; the stream stays usable, so next() may be called again";
  throw TimeoutError(os.str());
}

void throw_task_timeout(std::optional<std::size_t> index, std::chrono::nanoseconds elapsed,
                        std::chrono::nanoseconds limit, bool nest_current) {
  using Seconds = std::chrono::duration<double>;
  std::ostringstream os;
  os << "mpp: ";
  if (index) {
    os << "item " << *index;
  } else {
    os << "the task";
  }
  os << " ran " << Seconds(elapsed).count() << " s, past its time limit of "
     << Seconds(limit).count() << " s, and " << (nest_current ? "threw" : "returned") << ' '
     << Seconds(elapsed - limit).count()
     << " s after its stop token was set (mpp::this_task::stop_requested()); a thread cannot be "
        "killed, so a task that does not check its stop token runs to its end";
  TaskTimeoutError error(os.str(), index, elapsed, limit);
  if (nest_current) std::throw_with_nested(std::move(error));
  throw error;
}

void throw_empty_result() {
  throw std::logic_error(
      "mpp::AsyncResult: this handle holds no task (default-constructed or moved from)");
}

void throw_cancelled(const char* why) {
  throw CancelledError(std::string("mpp: ") + why);
}

void throw_forked_child() {
  throw ForkError(
      "mpp::Pool: this process was made by fork() after its parent had used a pool; oneTBB's "
      "worker threads are not copied by fork(), so a pool here would never run its tasks. Fork "
      "before the first pool is created, or start a fresh program in the child (exec, "
      "posix_spawn), or use mpp::mpi for several processes");
}

void throw_forked_pool(const char* call) {
  throw ForkError(std::string("mpp::Pool::") + call +
                  ": this pool was created before fork() and its threads exist only in the "
                  "parent process; in the child, drop it (its destructor does not wait) and do "
                  "not use pools, or exec a fresh program");
}

void throw_initializer_failed(const std::exception_ptr& cause) {
  try {
    std::rethrow_exception(cause);
  } catch (...) {
    std::throw_with_nested(InitializerError(
        "mpp::Pool: the pool's initializer threw on a worker thread, so the pool runs no more "
        "tasks; the initializer's exception is nested in this one (std::rethrow_if_nested)"));
  }
}

void throw_checkpoint(const std::string& path, const std::string& what) {
  throw CheckpointError("mpp: checkpoint journal '" + path + "': " + what);
}

void throw_interrupted(int signal_number, const std::string& path, std::size_t done,
                       std::size_t chunks) {
  std::ostringstream os;
  os << "mpp::Pool::map: interrupted by " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
     << "; " << done << " of " << chunks << " chunks are saved in '" << path
     << "'; run the same map again to resume (a second Ctrl-C while a map stops ends the "
        "process at once, and loses no finished chunk either)";
  throw InterruptedError(os.str(), signal_number);
}

}  // namespace mpp::detail
