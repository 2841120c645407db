#pragma once
// How an imap of mpi::Pool starts once every rank has planned it: the inputs its stream keeps
// alive, the items sent out when only the root has them, the chunks, and the window that paces
// the ranks behind the root's loop.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "mpp/detail/map.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/distribute.hpp"
#include "mpp/mpi/detail/stream.hpp"
#include "mpp/mpi/stream.hpp"
#include "mpp/options.hpp"
#include "mpp/pool.hpp"

namespace mpp::mpi::detail {

// What an imap reads, kept alive by its stream: the function, the items (on the root only
// with from_root, when every other rank gets a copy in `received`).
template <class F, class View, class T>
struct StreamInputs {
  StreamInputs(F function, View view) : f(std::move(function)), items(std::move(view)) {}
  F f;
  View items;
  mpp::detail::ItemAccess<View> access{items};
  std::vector<T> received;
  bool use_received = false;
};

// How many chunks past the root's loop the ranks may compute: `buffersize` (default 4 x the
// threads of all ranks), and at least two batches of the largest rank.
inline std::size_t stream_window(const Plan& plan, const MapOptions& options, const char* call) {
  int threads = 0, widest = 1;
  for (int t : plan.threads) {
    threads += t;
    widest = std::max(widest, t);
  }
  return std::max(mpp::detail::checked_buffersize(options, threads, call),
                  2 * static_cast<std::size_t>(widest));
}

// Starts the stream of an imap planned as `plan` on every rank (the other ranks compute their
// share); `slot` is the pool's open stream. With `from_root`, every rank first receives all the
// items, since any rank may claim any chunk.
template <class R, class T, class Inputs>
Stream<R> start_stream(Comm& comm, mpp::Pool& local, const std::shared_ptr<Inputs>& inputs,
                       Plan plan, const MapOptions& options, mpp::detail::ItemPolicy policy,
                       const char* call, OpenStream** slot, bool from_root, bool ordered) {
  if (from_root) {
    plan.dynamic = true;  // every rank may compute any item
    broadcast_items<T>(comm, inputs->access, inputs->items, plan, inputs->received);
    inputs->use_received = comm.rank() != 0;
  }
  std::size_t k = plan.k;
  if (!plan.dynamic) {
    std::size_t threads = 0;
    for (int t : plan.threads) threads += static_cast<std::size_t>(t);
    k = options.chunksize.value_or(std::max<std::size_t>(1, (plan.n + threads - 1) / threads));
  }
  StreamPlan chunks{
      .n = plan.n, .k = k, .todo = {}, .step = plan.threads[static_cast<std::size_t>(comm.rank())]};
  for (std::uint64_t c = 0; c < chunks.chunks(); ++c) chunks.todo.push_back(c);
  const std::size_t window = stream_window(plan, options, call);
  Inputs* in = inputs.get();
  return Stream<R>(std::make_unique<StreamState<R>>(
      comm, local, std::move(chunks),
      [in](std::size_t i) -> R {
        if (in->use_received) return std::invoke(in->f, in->received[i]);
        return std::invoke(in->f, in->access[i]);
      },
      std::move(policy), window, inputs, slot, options.progress, ordered));
}

}  // namespace mpp::mpi::detail
