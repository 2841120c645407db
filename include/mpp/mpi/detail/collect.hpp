#pragma once
// How the results of an mpi::Pool map that ends in one gather reach the root, and every rank
// with results::on_every_rank: each rank sends its results (raw bytes straight into place for
// a static_ map of trivially copyable results, cereal otherwise), the root puts them at their
// items' places, and a failure anywhere is settled on every rank.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/distribute.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/mpi/transfer.hpp"

namespace mpp::mpi::detail {

// The index in the map's input of the first of rank `me`'s results `mine` (computed in the
// batches `ids`) that cannot be serialized, or -1 if each can alone.
template <class R>
std::int64_t unencodable_item(const std::vector<R>& mine, const std::vector<std::uint64_t>& ids,
                              const Plan& plan, int me) {
  std::size_t j = 0;
  for (std::uint64_t id : ids) {
    const auto [lo, hi] = plan.batch(me, id);
    for (std::size_t i = lo; i < hi && j < mine.size(); ++i, ++j) {
      try {
        detail::Writer writer;
        writer.value(mine[j]);
      } catch (...) {
        return static_cast<std::int64_t>(i);
      }
    }
  }
  return -1;
}

// Root: puts every rank's results at their items' places; its own, `own`, were not sent.
template <class R>
void assemble(const Gathered& g, const Plan& plan, int ranks, std::vector<R>& own,
              std::vector<R>& out) {
  for (std::size_t r = 0; r < static_cast<std::size_t>(ranks); ++r) {
    const char* bytes = g.payload.data() + g.payload_offsets[r];
    const std::size_t length = g.reports[r].payload_bytes;
    const auto rank_ids = std::span<const std::uint64_t>(g.ids).subspan(
        g.id_offsets[r], g.id_offsets[r + 1] - g.id_offsets[r]);
    if constexpr (bytes_transferable<R>) {
      if (r == 0) bytes = reinterpret_cast<const char*>(own.data());  // never sent
      for (std::uint64_t id : rank_ids) {
        const auto [lo, hi] = plan.batch(static_cast<int>(r), id);
        std::memcpy(static_cast<void*>(out.data() + lo), bytes, (hi - lo) * sizeof(R));
        bytes += (hi - lo) * sizeof(R);
      }
    } else {
      std::vector<R> part;
      if (r == 0) {
        part = std::move(own);
      } else {
        detail::decode_all(std::span<const char>(bytes, length), part);
      }
      std::size_t j = 0;
      for (std::uint64_t id : rank_ids) {
        const auto [lo, hi] = plan.batch(static_cast<int>(r), id);
        for (std::size_t i = lo; i < hi; ++i) out[i] = std::move(part[j++]);
      }
    }
  }
}

// Sends the root's results to every rank.
template <class R>
void share(Comm& comm, std::vector<R>& out, std::size_t n) {
  if constexpr (bytes_transferable<R>) {
    out.resize(n);
    comm.broadcast(out.data(), n * sizeof(R));
  } else {
    const std::string blob = broadcast_blob(comm, [&] {
      std::string bytes;
      detail::encode_all(out, bytes);
      return bytes;
    });
    if (comm.rank() != 0) detail::decode_all(std::span<const char>(blob.data(), blob.size()), out);
  }
}

// Gathers this rank's results `mine` (computed in the batches `ids`, or its block) and its
// failure, if any, on the root, settles failures on every rank, and returns the results in
// input order on the root (every rank with `every_rank`), an empty vector elsewhere.
template <class R>
std::vector<R> collect_results(Comm& comm, const Plan& plan, FirstFailure& failure,
                               std::vector<R>& mine, std::vector<std::uint64_t>& ids,
                               bool every_rank) {
  const int me = comm.rank();
  const bool root = me == 0;
  const bool direct = bytes_transferable<R> && !plan.dynamic;
  std::string storage, error;
  std::span<const char> payload;
  if (!failure.failed() && (direct || !root)) {  // the root places its own results itself
    try {
      payload = detail::encode_all(mine, storage);
    } catch (...) {
      // A result that cannot be serialized fails the map like its item would: this rank must
      // still take part in the gather, or the root would wait for it forever.
      failure.record(unencodable_item(mine, ids, plan, me), std::current_exception());
      payload = {};
    }
  }
  if (failure.failed()) {
    ids.clear();
    error = detail::encode(detail::describe(failure.error(), me, comm.host(), failure.item()));
  }
  const RankReport report{.failed = failure.failed() ? 1 : 0,
                          .error_item = failure.item(),
                          .ids = ids.size(),
                          .payload_bytes = payload.size(),
                          .error_bytes = error.size()};
  std::vector<R> out;
  std::vector<std::size_t> displacements;
  if (root) {
    out.resize(plan.n);
    if (direct) {
      for (int r = 0; r < comm.size(); ++r)
        displacements.push_back(plan.block(r).first * sizeof(R));
    }
  }
  char* in_place = nullptr;
  if constexpr (bytes_transferable<R>) {
    if (direct && root) in_place = reinterpret_cast<char*>(out.data());
  }
  const Gathered gathered =
      comm.gather(report, ids, payload, {error.data(), error.size()}, in_place, displacements);
  if (plan.dynamic && root) comm.claims().reset();
  comm.settle(gathered, failure.error());

  if (root && !direct) assemble(gathered, plan, comm.size(), mine, out);
  if (every_rank) share(comm, out, plan.n);
  return out;
}

}  // namespace mpp::mpi::detail
