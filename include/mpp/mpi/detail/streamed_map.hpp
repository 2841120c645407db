#pragma once
// An mpi::Pool map whose chunks reach the root as they finish (see Streamer), used when the map
// has a checkpoint or a progress callback: the root journals the chunks and reports the
// cluster-wide count, and the result is complete only at the end, like any map's.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "mpp/detail/journal.hpp"
#include "mpp/detail/policy.hpp"
#include "mpp/detail/progress.hpp"
#include "mpp/detail/signal_watch.hpp"
#include "mpp/mpi/detail/collect.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/resume.hpp"
#include "mpp/mpi/detail/stream.hpp"
#include "mpp/options.hpp"
#include "mpp/pool.hpp"

namespace mpp::mpi::detail {

// A map whose chunks reach the root as they finish: the root journals them (a checkpoint) and
// reports cluster-wide progress. `access` is read on the root only.
template <class R, class Get, class Access>
std::vector<R> streamed_map(Comm& comm, mpp::Pool& local, const Get& get, const Access& access,
                            const Plan& plan, const MapOptions& options, bool every_rank) {
  const bool root = comm.rank() == 0;
  std::vector<R> out(root ? plan.n : 0);
  StreamPlan chunks{.n = plan.n,
                    .k = plan.k,
                    .todo = {},
                    .step = plan.threads[static_cast<std::size_t>(comm.rank())]};
  std::unique_ptr<mpp::detail::JournalFile> journal;
  std::uint64_t journaled = 0;  // chunks in the journal (root)
  if (plan.checkpoint) {
    journal = resume<Get>(comm, access, chunks, out, journaled, options);
  } else {
    for (std::uint64_t c = 0; c < chunks.chunks(); ++c) chunks.todo.push_back(c);
  }
  // The root reports progress; a callback that throws fails the map at the next chunk (every
  // rank must still finish the protocol, so the exception waits until then).
  std::exception_ptr progress_error;
  const std::function<void(std::size_t, std::size_t)> report = [&](std::size_t done,
                                                                   std::size_t total) {
    if (progress_error) return;
    try {
      options.progress(done, total);
    } catch (...) {
      progress_error = std::current_exception();
    }
  };
  static const std::function<void(std::size_t, std::size_t)> no_progress;
  mpp::detail::ProgressReporter progress(root && options.progress ? report : no_progress, plan.n);
  std::size_t left = 0;
  for (std::uint64_t c : chunks.todo) left += chunks.items(c).second - chunks.items(c).first;
  progress.add(plan.n - left);  // resumed from the journal

  const auto deliver = [&](std::uint64_t c, std::vector<R>& values) {
    const auto [lo, hi] = chunks.items(c);
    if constexpr (mpp::detail::journalable<R>) {
      if (journal) journal->append(c, mpp::detail::to_record(values));
    }
    for (std::size_t j = 0; j < values.size(); ++j) out[lo + j] = std::move(values[j]);
    ++journaled;
    progress.add(hi - lo);
    if (progress_error) std::rethrow_exception(progress_error);
  };
  Streamer<R> streamer(
      comm, local, chunks, [&get](std::size_t i) -> R { return get(i); },
      mpp::detail::item_policy(options, &mpp::detail::core_of(local), "map"), deliver);
  {
    // Watched until every rank knows the outcome: a batch system signals all ranks at once,
    // and one that had already finished its share must not die of it while the root flushes.
    std::optional<mpp::detail::SignalWatch> watch;
    if (plan.checkpoint) watch.emplace([&](int signo) { streamer.interrupt(signo); });
    if (root) {
      while (streamer.pump()) {
      }
    } else {
      streamer.run_share();
    }
    if (journal) journal->flush();
    if (root && streamer.complete()) progress.finish();
    streamer.settle(options.checkpoint, journaled);
  }
  if (progress_error) std::rethrow_exception(progress_error);  // thrown by the final report
  if (every_rank) share(comm, out, plan.n);
  return out;
}

}  // namespace mpp::mpi::detail
