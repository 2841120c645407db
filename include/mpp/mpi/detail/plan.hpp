#pragma once
// How a collective map is planned: what each rank says about its call, checked across ranks,
// and the plan every rank then follows (see Comm::plan).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace mpp::mpi::detail {

// What each rank says about a collective map call; compared across ranks before any work.
struct MapHeader {
  std::uint64_t signature = 0;  // call name and types
  std::int64_t n = 0;           // items, or -1 on the non-root ranks of a from_root map
  std::uint64_t chunksize = 0;
  std::int32_t has_chunksize = 0;
  std::int32_t schedule = 0;
  std::int32_t threads = 0;
  std::int32_t from_root = 0;
  std::int32_t every_rank = 0;
  std::int32_t checkpoint = 0;  // MapOptions::checkpoint given
  std::int32_t progress = 0;    // MapOptions::progress given
};

// How a map runs across ranks, the same on every rank.
struct Plan {
  std::size_t n = 0;
  bool dynamic = false;
  std::size_t k = 1;         // dynamic: items per chunk; ranks claim `threads` chunks at a time
  std::size_t chunks = 0;    // dynamic: ceil(n / k)
  std::vector<int> threads;  // per rank
  int size = 1;
  // The root's chunks stream to it as they finish (a checkpoint or progress on the root): every
  // schedule is then dynamic, in chunks of `k` items.
  bool streamed = false;
  bool checkpoint = false;  // the root journals the chunks

  // Static: the block of rank r, [first, second).
  std::pair<std::size_t, std::size_t> block(int r) const noexcept {
    const auto ur = static_cast<std::size_t>(r), us = static_cast<std::size_t>(size);
    return {n * ur / us, n * (ur + 1) / us};
  }
  // The items of a batch claimed or owned by rank r, starting at chunk c (static: c = r).
  std::pair<std::size_t, std::size_t> batch(int r, std::uint64_t c) const noexcept {
    if (!dynamic) return block(r);
    const std::size_t first = static_cast<std::size_t>(c) * k;
    const std::size_t last = (static_cast<std::size_t>(c) +
                              static_cast<std::size_t>(threads[static_cast<std::size_t>(r)])) *
                             k;
    return {std::min(n, first), std::min(n, last)};
  }
};

// Checks that every rank's header describes the same call (CollectiveMismatchError naming the
// difference otherwise; std::invalid_argument for a chunksize of 0) and returns the plan.
// `all` holds every rank's header, rank 0's first; `owner` and `call` name the call in messages.
Plan make_plan(const std::vector<MapHeader>& all, const char* owner, const char* call);

// FNV-1a over strings, the same in every process of one program.
std::uint64_t signature(std::initializer_list<const char*> parts) noexcept;

}  // namespace mpp::mpi::detail
