#pragma once
// Where a checkpointed mpi::Pool map starts: the root alone owns the journal, reads back the
// chunks a previous run finished, and tells every rank the chunk size and which chunks are done,
// so that only the rest is claimed. A journal the root cannot use fails the map on every rank.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/detail/checkpoint.hpp"
#include "mpp/detail/journal.hpp"
#include "mpp/errors.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/stream.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/options.hpp"

namespace mpp::mpi::detail {

// Root: the results of the chunks in `journal`, put into `out`; returns which are done.
template <class R>
std::vector<char> recover(mpp::detail::JournalFile& journal, const StreamPlan& chunks,
                          std::vector<R>& out) {
  std::vector<char> done(chunks.chunks(), 0);
  for (auto& [c, payload] : journal.recovered()) {
    if (c >= done.size() || done[c]) continue;
    auto values = mpp::detail::from_record<R>(payload);
    const auto [lo, hi] = chunks.items(c);
    if (values.size() != hi - lo) continue;
    for (std::size_t j = 0; j < values.size(); ++j) out[lo + j] = std::move(values[j]);
    done[c] = 1;
  }
  journal.recovered().clear();
  return done;
}

// Collective: the root opens the journal and reads back its chunks into `out`; every rank
// learns the chunk size and which chunks are left (`chunks.todo`), or throws
// mpp::CheckpointError with the root's message. `Fn` names the computation in the journal.
template <class Fn, class R, class Access>
std::unique_ptr<mpp::detail::JournalFile> resume(Comm& comm, const Access& access,
                                                 StreamPlan& chunks, std::vector<R>& out,
                                                 std::uint64_t& journaled,
                                                 const MapOptions& options) {
  using Item = std::remove_cvref_t<decltype(access[0])>;
  if constexpr (!mpp::detail::journalable<R> || !mpp::detail::fingerprintable<Item>) {
    mpp::detail::throw_invalid_argument(
        "mpp::mpi::Pool::map: checkpoint needs results and inputs that cereal can serialize "
        "(arithmetic types, std::string, std::vector, ... or types with a serialize() member); "
        "drop .checkpoint or make the types serializable");
  } else {
    std::unique_ptr<mpp::detail::JournalFile> journal;
    std::exception_ptr error;
    std::string message;
    std::vector<char> done;
    std::uint64_t k = chunks.k;
    if (comm.rank() == 0) {
      try {
        journal = std::make_unique<mpp::detail::JournalFile>(mpp::detail::JournalSpec{
            .path = options.checkpoint,
            .items = chunks.n,
            .fingerprint = mpp::detail::fingerprint(access),
            .chunksize = chunks.k,
            .identity = mpp::detail::journal_identity<R, Fn>(options.checkpoint_tag)});
        k = chunks.k = journal->chunksize();
        done = recover(*journal, chunks, out);
      } catch (const std::exception& e) {
        error = std::current_exception();
        message = e.what();
      }
    }
    message = comm.broadcast_string(std::move(message));
    if (!message.empty()) {
      if (error) std::rethrow_exception(error);
      detail::throw_checkpoint_of_root(message);
    }
    comm.broadcast(&k, sizeof k);
    chunks.k = k;
    done.resize(chunks.chunks());
    comm.broadcast(done.data(), done.size());
    for (std::uint64_t c = 0; c < done.size(); ++c) {
      if (done[c]) {
        ++journaled;
      } else {
        chunks.todo.push_back(c);
      }
    }
    return journal;
  }
}

}  // namespace mpp::mpi::detail
