#include "mpp/mpi/detail/claim_counter.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "mpp/mpi/detail/comm.hpp"

namespace mpp::mpi::detail {

namespace {

// The counter in an MPI window on the root: a claim is one MPI_Fetch_and_op, with no help from
// the root.
class WindowCounter final : public ClaimCounter {
 public:
  explicit WindowCounter(Comm& comm) : comm_(comm) {
    const bool root = comm.rank() == 0;
    const MPI_Aint bytes = root ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
    check_mpi(MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, comm.get(), &counter_,
                               &window_),
              "MPI_Win_allocate");
    if (root) *counter_ = 0;
    check_mpi(MPI_Win_set_errhandler(window_, MPI_ERRORS_RETURN), "MPI_Win_set_errhandler");
    check_mpi(MPI_Win_lock_all(MPI_MODE_NOCHECK, window_), "MPI_Win_lock_all");
    if (root) MPI_Win_sync(window_);
    check_mpi(MPI_Barrier(comm.get()), "MPI_Barrier");
  }

  void begin(std::int64_t chunks) override { chunks_ = chunks; }
  std::int64_t claim(std::int64_t increment) override {
    auto lock = mpi_guard(comm_.owner());
    return add(increment, MPI_SUM);
  }
  void stop() override {
    auto lock = mpi_guard(comm_.owner());
    (void)add(chunks_, MPI_SUM);
  }
  void end() override {}
  void reset() override {
    auto lock = mpi_guard(comm_.owner());
    (void)add(0, MPI_REPLACE);
  }
  bool serves_claims() const noexcept override { return false; }
  void serve() override {}
  void release() noexcept override {
    if (window_ == MPI_WIN_NULL) return;
    MPI_Win_unlock_all(window_);
    MPI_Win_free(&window_);
  }

 private:
  std::int64_t add(std::int64_t operand, MPI_Op op) {
    std::int64_t previous = 0;
    check_mpi(MPI_Fetch_and_op(&operand, &previous, MPI_INT64_T, 0, 0, op, window_),
              "MPI_Fetch_and_op");
    check_mpi(MPI_Win_flush(0, window_), "MPI_Win_flush");
    return previous;
  }

  Comm& comm_;
  MPI_Win window_ = MPI_WIN_NULL;
  std::int64_t* counter_ = nullptr;
  std::int64_t chunks_ = 0;  // of the current map
};

// The counter as a number on the root, which answers the others' claims (as messages) whenever
// it claims, waits or makes progress. With `serving` false (one rank, or nobody claims) it is
// just the root's number.
class MessageCounter final : public ClaimCounter {
 public:
  MessageCounter(Comm& comm, bool serving) : comm_(comm), serving_(serving) {}

  void begin(std::int64_t chunks) override {
    chunks_ = chunks;
    finished_ = 0;
  }
  std::int64_t claim(std::int64_t increment) override {
    auto lock = mpi_guard(comm_.owner());
    std::int64_t previous = 0;
    if (comm_.rank() == 0) {
      serve(false);
      previous = served_;
      served_ += increment;
    } else {
      check_mpi(MPI_Send(&increment, 1, MPI_INT64_T, 0, comm_tag::claim, comm_.get()), "MPI_Send");
      check_mpi(
          MPI_Recv(&previous, 1, MPI_INT64_T, 0, comm_tag::grant, comm_.get(), MPI_STATUS_IGNORE),
          "MPI_Recv");
    }
    return previous;
  }
  void stop() override {
    auto lock = mpi_guard(comm_.owner());
    std::int64_t increment = chunks_;
    if (comm_.rank() == 0) {
      served_ += increment;
    } else {
      check_mpi(MPI_Send(&increment, 1, MPI_INT64_T, 0, comm_tag::stop, comm_.get()), "MPI_Send");
    }
  }
  void end() override {
    if (!serves_claims()) return;
    auto lock = mpi_guard(comm_.owner());
    while (finished_ < comm_.size() - 1) serve(true);
  }
  void reset() override { served_ = 0; }
  bool serves_claims() const noexcept override { return serving_ && comm_.rank() == 0; }
  void serve() override {
    if (serving_) serve(false);
  }
  void release() noexcept override {}

 private:
  // Root: answers the claims waiting (or, with `block`, waits for at least one, ending the job
  // if a rank leaves meanwhile). It probes the claim tags themselves: another message first in
  // line (a stream's) must neither be taken for a claim nor make a blocking wait spin on it.
  void serve(bool block) {
    for (int spins = 0;;) {
      MPI_Status status;
      int flag = 0;
      for (const int tag : {comm_tag::claim, comm_tag::stop}) {
        check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, tag, comm_.get(), &flag, &status), "MPI_Iprobe");
        if (flag) break;
      }
      if (!flag) {
        if (!block) return;
        comm_.check_departures("map");
        if (++spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
        continue;
      }
      block = false;
      answer(status);
    }
  }

  // Takes the claim or stop that `status` describes and grants a claim its chunks.
  void answer(const MPI_Status& status) {
    std::int64_t increment = 0;
    check_mpi(MPI_Recv(&increment, 1, MPI_INT64_T, status.MPI_SOURCE, status.MPI_TAG, comm_.get(),
                       MPI_STATUS_IGNORE),
              "MPI_Recv");
    const std::int64_t previous = served_;
    served_ += increment;
    if (status.MPI_TAG == comm_tag::claim) {
      check_mpi(
          MPI_Send(&previous, 1, MPI_INT64_T, status.MPI_SOURCE, comm_tag::grant, comm_.get()),
          "MPI_Send");
      if (previous >= chunks_) ++finished_;
    } else {
      ++finished_;
    }
  }

  Comm& comm_;
  bool serving_;
  std::int64_t served_ = 0;  // root: the counter
  std::int64_t chunks_ = 0;  // of the current map
  int finished_ = 0;         // root: ranks that will claim no more in the current map
};

// Whether a window is safe for `parent`, unless MPP_MPI_COUNTER forces a choice.
bool use_window(MPI_Comm parent) {
  int same = MPI_UNEQUAL;
  MPI_Comm_compare(parent, MPI_COMM_WORLD, &same);
  bool window = same == MPI_IDENT || same == MPI_CONGRUENT;
  if (const char* forced = std::getenv("MPP_MPI_COUNTER")) {
    if (std::strcmp(forced, "window") == 0) window = true;
    if (std::strcmp(forced, "messages") == 0) window = false;
  }
  return window;
}

}  // namespace

std::unique_ptr<ClaimCounter> make_claim_counter(Comm& comm, MPI_Comm parent, bool with_counter) {
  const bool shared = with_counter && comm.size() > 1;
  if (shared && use_window(parent)) return std::make_unique<WindowCounter>(comm);
  return std::make_unique<MessageCounter>(comm, shared);
}

}  // namespace mpp::mpi::detail
