#pragma once
// How an mpp::mpi::Pool's maps run across ranks: each call is planned on every rank (the ranks
// compare what they were called with, see plan.hpp), its items are shared out, each rank runs
// its share on its local pool, and the results are gathered, or streamed to the root.

#include <cstdint>
#include <functional>
#include <memory>
#include <ranges>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mpp/detail/policy.hpp"
#include "mpp/errors.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/distribute.hpp"
#include "mpp/mpi/detail/gathered_map.hpp"
#include "mpp/mpi/detail/plan.hpp"
#include "mpp/mpi/detail/stream_start.hpp"
#include "mpp/mpi/detail/streamed_map.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/stream.hpp"
#include "mpp/options.hpp"
#include "mpp/pool.hpp"

namespace mpp::mpi::detail {

// The maps of one pool, over its communicator and its rank's local pool. Collective: every rank
// makes the same calls in the same order (the pool's CallOrder sees to it within a rank).
class MapDriver {
 public:
  MapDriver(Comm& comm, mpp::Pool& local) : comm_(comm), local_(local) {}

  // The retries and deadline of each item, checked (`call` names the map in messages); the local
  // pool's timer watches the deadlines.
  mpp::detail::ItemPolicy item_policy(const MapOptions& options, const char* call) {
    return mpp::detail::item_policy(options, &mpp::detail::core_of(local_), call);
  }

  // A map over items present on every rank; results on the root, or on every rank.
  template <class F, class Range>
  auto everywhere(const char* call, F& f, Range& items, const MapOptions& options,
                  bool every_rank) {
    using R = mpp::detail::map_result_t<F, Range>;
    using T = std::ranges::range_value_t<Range>;
    require_transferable<R>();
    if (comm_.size() == 1) return local_.map(f, items, options);
    (void)item_policy(options, call);  // refused on every rank before the collective calls
    mpp::detail::ItemAccess<Range> access(items);
    const Plan plan =
        comm_.plan(header(signature_of<F, R, T>(call), static_cast<std::int64_t>(access.size()),
                          options, every_rank, false),
                   call);
    return run<R>([&](std::size_t i) -> R { return std::invoke(f, access[i]); }, access, plan,
                  options, every_rank);
  }

  // A map over items on the root only, sent out to the ranks.
  template <class F, class View>
  auto rooted(const char* call, F& f, View& items, const MapOptions& options, bool every_rank) {
    using R = mpp::detail::map_result_t<F, View>;
    using T = std::ranges::range_value_t<View>;
    require_transferable<T>();
    require_transferable<R>();
    if (comm_.size() == 1) return local_.map(f, items, options);
    (void)item_policy(options, call);  // refused on every rank before the collective calls
    const bool root = comm_.rank() == 0;
    mpp::detail::ItemAccess<View> access(items);
    const std::int64_t n = root ? static_cast<std::int64_t>(access.size()) : -1;
    const Plan plan =
        comm_.plan(header(signature_of<F, R, T>(call), n, options, every_rank, true), call);
    std::vector<T> mine;  // the items this rank received
    std::size_t offset = 0;
    if (!plan.dynamic) {
      offset = plan.block(comm_.rank()).first;
      scatter_items<T>(comm_, access, items, plan, mine);
    } else {
      broadcast_items<T>(comm_, access, items, plan, mine);
    }
    const auto get = [&](std::size_t i) -> R {
      if (root) return std::invoke(f, access[i]);
      return std::invoke(f, mine[i - offset]);
    };
    return run<R>(get, access, plan, options, every_rank);
  }

  // Plans an imap on every rank and starts its stream (the other ranks compute their share).
  template <class R, class T, class Inputs>
  mpp::mpi::Stream<R> open_stream(const std::shared_ptr<Inputs>& inputs, const char* call,
                                  const MapOptions& options, bool from_root, bool ordered) {
    using F = decltype(inputs->f);
    require_transferable<R>();
    const mpp::detail::ItemPolicy policy = item_policy(options, call);  // before the collectives
    const bool root = comm_.rank() == 0;
    const std::int64_t n =
        from_root && !root ? -1 : static_cast<std::int64_t>(inputs->access.size());
    Plan plan = comm_.plan(header(signature_of<F, R, T>(call), n, options, false, from_root), call);
    if (plan.checkpoint) {
      mpp::detail::throw_invalid_argument(
          std::string("mpp::mpi::Pool::") + call +
          ": checkpoint works with map and starmap, whose results are complete at the end; not "
          "with streams");
    }
    return start_stream<R, T>(comm_, local_, inputs, std::move(plan), options, policy, call,
                              &open_stream_, from_root, ordered);
  }

  // The pool's next collective call first completes a stream still open, so calls stay in step.
  void finish_open_stream() noexcept {
    if (open_stream_ != nullptr) open_stream_->finish();
  }

 private:
  template <class F, class R, class T>
  static std::uint64_t signature_of(const char* call) {
    return signature({call, typeid(F).name(), typeid(R).name(), typeid(T).name()});
  }

  MapHeader header(std::uint64_t signature, std::int64_t n, const MapOptions& options,
                   bool every_rank, bool from_root) const {
    return MapHeader{.signature = signature,
                     .n = n,
                     .chunksize = options.chunksize.value_or(0),
                     .has_chunksize = options.chunksize.has_value() ? 1 : 0,
                     .schedule = static_cast<std::int32_t>(options.schedule),
                     .threads = local_.threads(),
                     .from_root = from_root ? 1 : 0,
                     .every_rank = every_rank ? 1 : 0,
                     .checkpoint = options.checkpoint.empty() ? 0 : 1,
                     .progress = options.progress ? 1 : 0};
  }

  // Runs a planned map on every rank: streamed to the root (checkpoint, progress), or gathered
  // at the end. `access` is read on the root only.
  template <class R, class Get, class Access>
  std::vector<R> run(const Get& get, const Access& access, const Plan& plan,
                     const MapOptions& options, bool every_rank) {
    if (plan.streamed)
      return streamed_map<R>(comm_, local_, get, access, plan, options, every_rank);
    return gathered_map<R>(comm_, local_, get, plan, options, every_rank);
  }

  Comm& comm_;
  mpp::Pool& local_;
  OpenStream* open_stream_ = nullptr;  // an imap whose collective part may still run
};

}  // namespace mpp::mpi::detail
