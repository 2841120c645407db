#pragma once
// The compiled MPI side of the layer: a duplicated communicator that knows when another rank
// lets go of it, with the chunk counter (claim_counter.hpp) and the stream pacer
// (stream_pacer.hpp) of its maps, and the collectives a map needs, on bytes (collectives.cpp).

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "mpp/mpi/detail/claim_counter.hpp"
#include "mpp/mpi/detail/plan.hpp"
#include "mpp/mpi/detail/stream_pacer.hpp"
#include "mpp/mpi/errors.hpp"

namespace mpp::mpi::detail {

// Held around every MPI call of mpp: a process-wide lock when MPI provides less than
// MPI_THREAD_MULTIPLE, nothing otherwise. Throws UsageError if MPI is not active or, with
// MPI_THREAD_FUNNELED or less, when called off the main thread.
std::unique_lock<std::recursive_mutex> mpi_guard(const char* call);

// How a rank's part of a streamed map ended: the last message it sends the root.
struct StreamEnd {
  std::int64_t failed = 0;
  std::int64_t error_item = -1;
  std::int64_t signal = 0;  // SIGINT or SIGTERM that stopped this rank's claims, or 0
};

// The root's verdict on a streamed map, told to every rank.
struct StreamVerdict {
  std::int64_t failing_rank = -1;  // whose error record every rank gets, or -1
  std::int64_t signal = 0;         // a signal stopped the map (and no item failed)
  std::uint64_t done = 0;          // chunks journaled, for mpp::InterruptedError's message
  std::uint64_t chunks = 0;
};

// One rank's account of its part of a map, gathered on the root.
struct RankReport {
  std::int64_t failed = 0;
  std::int64_t error_item = -1;
  std::uint64_t ids = 0;
  std::uint64_t payload_bytes = 0;
  std::uint64_t error_bytes = 0;
};

// What the root holds after gathering: per rank, its batch ids and the bytes of its results.
struct Gathered {
  std::vector<RankReport> reports;
  std::vector<std::uint64_t> ids;            // all ranks' ids, rank after rank
  std::vector<char> payload;                 // all ranks' payloads (unless received in place)
  std::vector<std::size_t> payload_offsets;  // where rank r's payload starts
  std::vector<std::size_t> id_offsets;       // where rank r's ids start
  std::vector<char> errors;
  std::vector<std::size_t> error_offsets;
};

// A communicator of mpp's own (MPI_Comm_dup of the application's), with an optional shared
// counter on rank 0 for dynamic self-scheduling. Construction and destruction are collective.
class Comm {
 public:
  Comm(MPI_Comm parent, bool with_counter, const char* owner);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  // Frees the window and the communicators (collective); also called, `finalizing`, for a Comm
  // still alive when MPI_Finalize starts. First tells every other rank that this one lets go
  // (see check_departures) and waits for theirs.
  void release(bool finalizing = false) noexcept;

  // Ends the job with a message naming the rank and what it did, if another rank has let go of
  // this communicator (destroyed its pool or executor, or reached MPI_Finalize): `call` would
  // wait for it forever.
  void check_departures(const char* call);
  // Waits for `request`, a collective this rank began, checking for departures meanwhile.
  void wait(MPI_Request& request, const char* call);

  MPI_Comm get() const noexcept { return comm_; }
  // A second communicator over the same ranks, for what a probe of get() must not see: the
  // sizes announced ahead of messages of 1 GiB or more, and the pieces of gathers and scatters.
  MPI_Comm side() const noexcept { return side_; }
  int rank() const noexcept { return rank_; }
  int size() const noexcept { return size_; }
  const std::string& host() const noexcept { return host_; }
  const char* owner() const noexcept { return owner_; }

  // Exchanges headers, checks that every rank made the same call (CollectiveMismatchError on
  // every rank otherwise) and returns the plan.
  Plan plan(const MapHeader& mine, const char* call);

  // The chunk counter of dynamic self-scheduling (see claim_counter.hpp), and imap's pacing.
  ClaimCounter& claims() noexcept { return *claims_; }
  StreamPacer& pacer() noexcept { return pacer_; }
  // Every rank, as a map that claims chunks begins: `chunks` chunks to claim.
  void begin_map(std::int64_t chunks);
  // Lets MPI progress (and the root serve claims) while the calling thread waits for local work.
  void progress();

  // Gathers every rank's ids, payload and error record on the root. With `in_place` (root
  // only), payloads are received straight at `in_place + displacements[r]`.
  Gathered gather(const RankReport& mine, std::span<const std::uint64_t> ids,
                  std::span<const char> payload, std::span<const char> error, char* in_place,
                  const std::vector<std::size_t>& displacements);
  // Decides the outcome on the root and tells every rank: rethrows `local_error` on the rank
  // chosen as failing, throws RemoteError on the others; returns when no rank failed.
  void settle(const Gathered& gathered, const std::exception_ptr& local_error);

  // Streamed maps. Non-root: sends the root one message of finished chunks (or its end), in the
  // order sent; they share one tag so that MPI keeps them in order.
  void send_stream(std::span<const char> bytes);
  // Root: receives every stream message waiting, calling `on_message(rank, bytes)`, and serves
  // claims; returns whether a message arrived.
  bool receive_stream(const std::function<void(int, std::span<const char>)>& on_message);
  // Every rank: the root's `verdict` (and the failing rank's error `record`) reach every rank,
  // which throws as `settle` does, or mpp::InterruptedError naming `journal` after a signal.
  void settle_stream(StreamVerdict verdict, std::string record,
                     const std::exception_ptr& local_error, const std::string& journal);
  // Broadcasts a string from the root; returns it on every rank.
  std::string broadcast_string(std::string text);

  // Root: scatters `counts[r]` bytes at `data + displacements[r]` to each rank r (keeping its
  // own in place); others: receive `mine` bytes into `out`.
  void scatter(const char* data, const std::vector<std::size_t>& counts,
               const std::vector<std::size_t>& displacements, char* out, std::size_t mine);
  // Root: scatters one size per rank; returns this rank's.
  std::uint64_t scatter_size(const std::vector<std::uint64_t>& sizes);
  // Broadcasts `bytes` bytes from the root, in pieces that fit MPI's int counts.
  void broadcast(void* data, std::size_t bytes);

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm side_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::string host_;
  const char* owner_;
  std::unique_ptr<ClaimCounter> claims_;
  StreamPacer pacer_;
};

// The tags of a Comm's messages, one per kind, so that a probe for one never takes another.
namespace comm_tag {
inline constexpr int claim = 1;
inline constexpr int grant = 2;
inline constexpr int stop = 3;
inline constexpr int stream = 4;
inline constexpr int read = 5;
inline constexpr int gather = 6;     // on the side communicator
inline constexpr int scatter = 7;    // on the side communicator
inline constexpr int departure = 8;  // on the side communicator
}  // namespace comm_tag

// The first failure of a rank's items: the lowest item index seen.
class FirstFailure {
 public:
  // Keeps the failure with the lowest known item index (-1: unknown, kept only if first).
  void record(std::int64_t item, std::exception_ptr error);
  bool failed() const noexcept { return failed_; }
  std::int64_t item() const noexcept { return item_; }
  const std::exception_ptr& error() const noexcept { return error_; }

 private:
  std::mutex mutex_;
  bool failed_ = false;
  std::int64_t item_ = -1;
  std::exception_ptr error_;
};

}  // namespace mpp::mpi::detail
