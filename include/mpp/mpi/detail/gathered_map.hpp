#pragma once
// An mpi::Pool map whose results reach the root in one gather at the end (no checkpoint, no
// progress): each rank computes its block (static_) or the batches of chunks it claims from the
// shared counter (dynamic schedules) on its local pool, then collect_results() gathers and settles.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <ranges>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/detail/policy.hpp"
#include "mpp/mpi/detail/collect.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/options.hpp"
#include "mpp/pool.hpp"

namespace mpp::mpi::detail {

// Computes this rank's share as `plan` says, gathers the results on the root, and settles
// failures on every rank.
template <class R, class Get>
std::vector<R> gather_results(Comm& comm, mpp::Pool& local, const Get& get, const Plan& plan,
                              const MapOptions& options, bool every_rank) {
  const int me = comm.rank();
  FirstFailure failure;
  const mpp::detail::ItemPolicy policy =
      mpp::detail::item_policy(options, &mpp::detail::core_of(local), "map");
  const auto body = [&](std::size_t i) -> R {
    try {
      return mpp::detail::run_item(policy, i, [&] { return get(i); });
    } catch (...) {
      failure.record(static_cast<std::int64_t>(i), std::current_exception());
      throw;
    }
  };
  std::vector<R> mine;
  std::vector<std::uint64_t> ids;
  // Runs items [lo, hi) on the local pool; false if one failed. The calling thread works as
  // one of the pool's threads, except on a root that serves claims as messages: it waits
  // apart and answers claims while the pool computes.
  const auto compute = [&](std::size_t lo, std::size_t hi, const MapOptions& local_options) {
    if (lo >= hi) return true;
    try {
      std::vector<R> part;
      if (plan.dynamic && comm.claims().serves_claims()) {
        auto pending = local.map_async(body, std::views::iota(lo, hi), local_options);
        while (!pending.wait(std::chrono::microseconds(200))) comm.progress();
        part = std::move(pending).get();
      } else {
        part = local.map(body, std::views::iota(lo, hi), local_options);
      }
      if (mine.empty()) {
        mine = std::move(part);
      } else {
        mine.insert(mine.end(), std::make_move_iterator(part.begin()),
                    std::make_move_iterator(part.end()));
      }
      return true;
    } catch (...) {
      failure.record(-1, std::current_exception());
      return false;
    }
  };

  if (!plan.dynamic) {
    const auto [lo, hi] = plan.block(me);
    compute(lo, hi, {.chunksize = options.chunksize, .schedule = options.schedule});
    ids.push_back(static_cast<std::uint64_t>(me));
  } else {
    MapOptions local_options{.chunksize = plan.k, .schedule = mpp::schedule::dynamic};
    if (options.schedule == mpp::schedule::adaptive) {
      local_options = {.chunksize = options.chunksize, .schedule = mpp::schedule::adaptive};
    }
    const auto chunks = static_cast<std::int64_t>(plan.chunks);
    const auto step = static_cast<std::int64_t>(plan.threads[static_cast<std::size_t>(me)]);
    comm.begin_map(chunks);
    for (std::int64_t c = comm.claims().claim(step); c < chunks; c = comm.claims().claim(step)) {
      ids.push_back(static_cast<std::uint64_t>(c));
      const auto [lo, hi] = plan.batch(me, static_cast<std::uint64_t>(c));
      if (!compute(lo, hi, local_options)) {
        comm.claims().stop();  // the others stop claiming too
        break;
      }
    }
    comm.claims().end();
  }
  return collect_results(comm, plan, failure, mine, ids, every_rank);
}

// The collective part shared by every gathered map. std::vector<bool> packs bits, so bool
// results are computed, sent and placed as bytes, and packed once at the end.
template <class R, class Get>
std::vector<R> gathered_map(Comm& comm, mpp::Pool& local, const Get& get, const Plan& plan,
                            const MapOptions& options, bool every_rank) {
  if constexpr (std::is_same_v<R, bool>) {
    const auto bytes = gather_results<unsigned char>(
        comm, local, [&get](std::size_t i) -> unsigned char { return get(i) ? 1 : 0; }, plan,
        options, every_rank);
    return std::vector<bool>(bytes.begin(), bytes.end());
  } else {
    return gather_results<R>(comm, local, get, plan, options, every_rank);
  }
}

}  // namespace mpp::mpi::detail
