#pragma once
// The compiled MPI side of the layer: a duplicated communicator, the shared chunk counter, the
// collectives a map needs (on bytes), and how a map is planned and settled across ranks.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "mpp/mpi/errors.hpp"
#include "mpp/options.hpp"

namespace mpp::mpi::detail {

// Held around every MPI call of mpp: a process-wide lock when MPI provides less than
// MPI_THREAD_MULTIPLE, nothing otherwise. Throws UsageError if MPI is not active or, with
// MPI_THREAD_FUNNELED or less, when called off the main thread.
std::unique_lock<std::recursive_mutex> mpi_guard(const char* call);

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

  // The chunk counter of dynamic self-scheduling, on the root. Where it is safe (a communicator
  // congruent with MPI_COMM_WORLD) it is an MPI window (MPI_Win_allocate, claims are
  // MPI_Fetch_and_op); otherwise the root serves claims as messages whenever it waits, since
  // Open MPI 4.1's one-sided segments collide between windows on disjoint communicators of the
  // same node (they are named by communicator id). MPP_MPI_COUNTER=window|messages forces one.
  //
  // Every rank: begin_claims, then claim until a value >= chunks (or stop_claims after a
  // failure), then end_claims, which on the root serves until every rank has finished.
  void begin_claims(std::int64_t chunks);
  // Adds `increment` to the counter and returns its previous value.
  std::int64_t claim(std::int64_t increment);
  // This rank stops claiming after a failure, and makes the others stop too.
  void stop_claims();
  void end_claims();
  // Root, once every rank has finished claiming: the counter starts again from zero.
  void reset_counter();

  // imap's bound on what the root holds: the root tells every other rank how many chunks its
  // loop has read, or `no_limit` once nobody waits for the loop any more, and a rank waits
  // before computing a batch that ends more than its window past that. Messages carry the map's
  // number (counted by begin_claims, in step on every rank), so a late one of an earlier map is
  // dropped.
  static constexpr std::uint64_t no_limit = ~std::uint64_t{0};
  // Root: sends `read` to every other rank.
  void send_read(std::uint64_t read);
  // Not the root: the latest `read` of the current map, at least `known`; with `wait`, waits
  // until it has grown past `known`.
  std::uint64_t receive_read(std::uint64_t known, bool wait);
  // Whether this rank answers the others' claims while it computes (the root, when the counter
  // is served as messages).
  bool serves_claims() const noexcept { return serve_claims_ && rank_ == 0; }
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
  MPI_Win window_ = MPI_WIN_NULL;
  std::int64_t* counter_ = nullptr;
  bool serve_claims_ = false;  // the counter is served by the root as messages
  std::int64_t served_ = 0;    // root: the counter when served as messages
  std::int64_t chunks_ = 0;    // of the current map
  int finished_ = 0;           // root: ranks that will claim no more in the current map
  std::uint64_t maps_ = 0;     // maps that claimed chunks so far: the current one's number
  std::uint64_t read_ = 0;     // not the root: the latest `read` received for the current map

  void serve(bool block);
  int rank_ = 0;
  int size_ = 1;
  std::string host_;
  const char* owner_;
};

// FNV-1a over strings, the same in every process of one program.
std::uint64_t signature(std::initializer_list<const char*> parts) noexcept;

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
