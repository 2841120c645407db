#pragma once
/// @file
/// `CallOrder`: the collective calls of one `mpp::mpi::Pool` run one at a time, in the order they
/// were made.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

namespace mpp::mpi::detail {

// Collective calls on one pool must run one at a time, in the order they were made on this rank
// (the same order on every rank), even when map_async runs them on a thread of its own. Each
// call takes a ticket in the calling thread, in order, and waits for its turn before it
// communicates.
class CallOrder {
 public:
  // A call's turn, held for a scope: waits for it, and ends it on leaving.
  class Turn {
   public:
    // Takes the next ticket and waits for its turn.
    explicit Turn(CallOrder& order) : Turn(order, order.take()) {}
    // Waits for the turn of `ticket` (taken earlier with take()).
    Turn(CallOrder& order, std::uint64_t ticket);
    ~Turn() { order_.end(ticket_); }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    CallOrder& order_;
    std::uint64_t ticket_;
  };

  // The next ticket; on the thread that makes the pool's calls only.
  std::uint64_t take() noexcept { return next_++; }
  // Ends the turn of `ticket`, now or, if earlier calls still run, as soon as its turn comes,
  // so that a call that never ran (its thread could not start) does not stop every later one.
  void end(std::uint64_t ticket) noexcept;
  // Waits until every ticket taken has ended.
  void wait_all();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t next_ = 0;         // the calling thread's
  std::uint64_t serving_ = 0;      // guarded by mutex_
  std::set<std::uint64_t> ended_;  // ended before their turn came; mutex_
};

}  // namespace mpp::mpi::detail
