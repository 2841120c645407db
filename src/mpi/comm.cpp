#include "mpp/mpi/detail/comm.hpp"

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "mpp/cpus.hpp"
#include "mpp/errors.hpp"
#include "mpp/mpi/cpus.hpp"
#include "mpp/mpi/detail/message.hpp"
#include "mpp/mpi/environment.hpp"

namespace mpp::mpi::detail {

namespace {

enum : int {
  tag_claim = 1,
  tag_grant = 2,
  tag_stop = 3,
  tag_stream = 4,
  tag_read = 5,
  tag_gather = 6,    // on the side communicator
  tag_scatter = 7,   // on the side communicator
  tag_departure = 8  // on the side communicator
};

// What a rank tells every other when it lets go of a communicator: who it is and why. A rank
// that then waits for it in a collective call learns it will never come.
struct Departure {
  enum Why : std::int32_t { destroyed = 0, unwinding = 1, finalizing = 2 };
  std::int32_t rank = 0;
  std::int32_t why = destroyed;
  char host[64] = {};
};

const char* departure_reason(std::int32_t why) {
  switch (why) {
    case Departure::unwinding:
      return "was destroyed while an exception was propagating through it";
    case Departure::finalizing:
      return "was still alive when MPI_Finalize ran (the rank left main)";
    default:
      return "was destroyed (it went out of scope, or the rank returned from main)";
  }
}

// Spins on a cheap test first, then sleeps a little, so a wait that lasts costs no CPU.
void back_off(int& spins) {
  if (++spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
}

void check(int code, const char* call) {
  if (code != MPI_SUCCESS) throw_mpi_failed(call, code);
}

// Whether a message from `source` with `tag` is waiting.
bool message_waiting(MPI_Comm comm, int source, int tag) {
  int flag = 0;
  check(MPI_Iprobe(source, tag, comm, &flag, MPI_STATUS_IGNORE), "MPI_Iprobe");
  return flag != 0;
}

const char* schedule_name(std::int32_t s) {
  switch (static_cast<mpp::schedule>(s)) {
    case mpp::schedule::adaptive:
      return "adaptive";
    case mpp::schedule::static_:
      return "static_";
    case mpp::schedule::dynamic:
      return "dynamic";
    case mpp::schedule::python:
      return "python";
  }
  return "?";
}

// The Comms alive, in the order they were made (the same on every rank, since making one is
// collective). A Comm still alive when MPI_Finalize runs (one of a static mpi::Pool, say) must
// give its window and communicator back first: Open MPI tolerates a window left at
// MPI_Finalize, but MPICH over UCX aborts in it ("destroying inuse region"). MPI_Finalize deletes
// MPI_COMM_SELF's attributes before anything else (MPI-3.1, 8.7.1), so an attribute there frees
// them while MPI still works.
class LiveComms {
 public:
  static LiveComms& instance() {
    static auto* live = new LiveComms;  // never destroyed: a Comm may outlive other statics
    return *live;
  }

  void add(Comm* comm) {
    std::lock_guard lock(mutex_);
    if (comms_.empty()) watch_finalize();
    comms_.push_back(comm);
  }

  void remove(Comm* comm) noexcept {
    std::lock_guard lock(mutex_);
    std::erase(comms_, comm);
  }

 private:
  // Sets the attribute whose deletion, first thing in MPI_Finalize, frees every live Comm.
  void watch_finalize() {
    if (keyval_ == MPI_KEYVAL_INVALID) {
      MPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, &at_finalize, &keyval_, nullptr);
    }
    int found = 0;
    void* value = nullptr;
    MPI_Comm_get_attr(MPI_COMM_SELF, keyval_, &value, &found);
    if (!found) MPI_Comm_set_attr(MPI_COMM_SELF, keyval_, nullptr);
  }

  static int at_finalize(MPI_Comm, int, void*, void*) {
    LiveComms& live = instance();
    std::vector<Comm*> comms;
    {
      std::lock_guard lock(live.mutex_);
      comms.swap(live.comms_);
    }
    for (Comm* comm : comms) comm->release(/*finalizing=*/true);
    return MPI_SUCCESS;
  }

  std::mutex mutex_;
  std::vector<Comm*> comms_;
  int keyval_ = MPI_KEYVAL_INVALID;
};

}  // namespace

std::unique_lock<std::recursive_mutex> mpi_guard(const char* call) {
  static std::recursive_mutex mutex;
  if (!Environment::active()) {
    throw_usage(std::string(call) +
                ": MPI is not initialized (or already finalized); create an "
                "mpp::mpi::Environment at the start of main, before any mpp MPI object");
  }
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  if (provided >= MPI_THREAD_MULTIPLE) return {};
  if (provided <= MPI_THREAD_FUNNELED) {
    int is_main = 0;
    MPI_Is_thread_main(&is_main);
    if (!is_main) {
      throw_usage(std::string(call) +
                  ": MPI provides only MPI_THREAD_FUNNELED here, so mpp's MPI objects must be "
                  "used from the main thread (the one that initialized MPI)");
    }
  }
  return std::unique_lock(mutex);
}

std::uint64_t signature(std::initializer_list<const char*> parts) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char* part : parts) {
    for (const char* p = part; *p != '\0'; ++p) {
      h ^= static_cast<unsigned char>(*p);
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  }
  return h;
}

void FirstFailure::record(std::int64_t index, std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  if (!failed_ || (index >= 0 && (item_ < 0 || index < item_))) {
    failed_ = true;
    item_ = index;
    error_ = std::move(error);
  }
}

namespace {

// Throws std::invalid_argument, saying why, for a communicator mpp cannot work on. Every rank
// of the communicator gets the same answer, so none is left inside a collective call.
void check_usable(MPI_Comm parent, const char* owner) {
  if (parent == MPI_COMM_NULL) {
    mpp::detail::throw_invalid_argument(
        std::string(owner) +
        ": the communicator is MPI_COMM_NULL (on a rank outside the group of MPI_Comm_split or "
        "MPI_Comm_create); construct the pool or executor only on ranks that have a communicator");
  }
  int inter = 0;
  // An intercommunicator joins two groups: its ranks and size are those of the local group,
  // and collectives would cross between the groups, so mpp's map and gathers cannot run on it.
  check(MPI_Comm_test_inter(parent, &inter), "MPI_Comm_test_inter");
  if (inter) {
    mpp::detail::throw_invalid_argument(
        std::string(owner) +
        ": the communicator is an intercommunicator; mpp needs an intracommunicator (turn it "
        "into one with MPI_Intercomm_merge)");
  }
}

}  // namespace

Comm::Comm(MPI_Comm parent, bool with_counter, const char* owner) : owner_(owner) {
  auto lock = mpi_guard(owner);
  check_usable(parent, owner);
  check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
  // Failures come back as codes that mpp turns into exceptions naming the rank, rather than
  // MPI_ERRORS_ARE_FATAL ending the job without a word about mpp's call.
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_dup(comm_, &side_), "MPI_Comm_dup");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  host_ = Environment::processor_name();
  bool use_window = false;
  if (with_counter && size_ > 1) {
    int same = MPI_UNEQUAL;
    MPI_Comm_compare(parent, MPI_COMM_WORLD, &same);
    use_window = same == MPI_IDENT || same == MPI_CONGRUENT;
    if (const char* forced = std::getenv("MPP_MPI_COUNTER")) {
      if (std::strcmp(forced, "window") == 0) use_window = true;
      if (std::strcmp(forced, "messages") == 0) use_window = false;
    }
    serve_claims_ = !use_window;
  }
  if (use_window) {
    const MPI_Aint bytes = rank_ == 0 ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : 0;
    check(MPI_Win_allocate(bytes, sizeof(std::int64_t), MPI_INFO_NULL, comm_, &counter_, &window_),
          "MPI_Win_allocate");
    if (rank_ == 0) *counter_ = 0;
    check(MPI_Win_set_errhandler(window_, MPI_ERRORS_RETURN), "MPI_Win_set_errhandler");
    check(MPI_Win_lock_all(MPI_MODE_NOCHECK, window_), "MPI_Win_lock_all");
    if (rank_ == 0) MPI_Win_sync(window_);
    check(MPI_Barrier(comm_), "MPI_Barrier");
  }
  LiveComms::instance().add(this);
}

Comm::~Comm() {
  LiveComms::instance().remove(this);
  try {
    if (!Environment::active()) return;  // MPI is gone; nothing can be freed any more
    auto lock = mpi_guard(owner_);
    release();
  } catch (...) {
    // Destructors must not throw; a communicator left behind is freed by MPI_Finalize.
  }
}

void Comm::check_departures(const char* call) {
  int flag = 0;
  MPI_Status status;
  check(MPI_Iprobe(MPI_ANY_SOURCE, tag_departure, side_, &flag, &status), "MPI_Iprobe");
  if (!flag) return;
  Departure theirs;
  MPI_Recv(&theirs, sizeof theirs, MPI_BYTE, status.MPI_SOURCE, tag_departure, side_,
           MPI_STATUS_IGNORE);
  theirs.host[sizeof theirs.host - 1] = '\0';
  std::ostringstream os;
  os << owner_ << "::" << call << " on rank " << rank_ << " (" << host_
     << ") cannot complete: on rank " << theirs.rank << " (" << theirs.host << ") the " << owner_
     << " " << departure_reason(theirs.why)
     << ". Every rank must make the same collective calls: catch exceptions so that every rank "
        "goes on (or none does), and leave main only after the last call. Aborting the job so "
        "that it does not hang.";
  abort_job(os.str());
}

void Comm::wait(MPI_Request& request, const char* call) {
  int done = 0;
  for (int spins = 0;; back_off(spins)) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    check_departures(call);
  }
}

void Comm::release(bool finalizing) noexcept {
  if (comm_ == MPI_COMM_NULL) return;
  // Before the collective frees: every other rank learns that this one lets go, and a rank
  // waiting for this one inside a map ends the job, saying so, instead of hanging with it.
  // Receiving every other rank's notice is then the barrier the frees need.
  if (size_ > 1) {
    Departure mine{.rank = rank_,
                   .why = finalizing                       ? Departure::finalizing
                          : std::uncaught_exceptions() > 0 ? Departure::unwinding
                                                           : Departure::destroyed};
    host_.copy(mine.host, sizeof mine.host - 1);
    std::vector<MPI_Request> sent(static_cast<std::size_t>(size_ - 1), MPI_REQUEST_NULL);
    for (int r = 0, i = 0; r < size_; ++r) {
      if (r == rank_) continue;
      MPI_Isend(&mine, sizeof mine, MPI_BYTE, r, tag_departure, side_,
                &sent[static_cast<std::size_t>(i++)]);
    }
    for (int i = 1; i < size_; ++i) {
      Departure theirs;
      MPI_Recv(&theirs, sizeof theirs, MPI_BYTE, MPI_ANY_SOURCE, tag_departure, side_,
               MPI_STATUS_IGNORE);
    }
    MPI_Waitall(static_cast<int>(sent.size()), sent.data(), MPI_STATUSES_IGNORE);
  }
  if (window_ != MPI_WIN_NULL) {
    MPI_Win_unlock_all(window_);
    MPI_Win_free(&window_);
  }
  if (side_ != MPI_COMM_NULL) MPI_Comm_free(&side_);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

Plan Comm::plan(const MapHeader& mine, const char* call) {
  std::vector<MapHeader> all(static_cast<std::size_t>(size_));
  {
    auto lock = mpi_guard(call);
    MPI_Request request = MPI_REQUEST_NULL;
    check(MPI_Iallgather(&mine, sizeof(MapHeader), MPI_BYTE, all.data(), sizeof(MapHeader),
                         MPI_BYTE, comm_, &request),
          "MPI_Iallgather");
    wait(request, call);
  }
  const MapHeader& root = all[0];
  for (int r = 1; r < size_; ++r) {
    const MapHeader& h = all[static_cast<std::size_t>(r)];
    std::ostringstream os;
    os << owner_ << "::" << call << ": the ranks made different collective calls: ";
    if (h.signature != root.signature || h.from_root != root.from_root) {
      os << "rank " << r << " called another map (another function, item or result type, or "
         << "input placement) than rank 0; every rank must make the same calls in the same order";
      throw_mismatch(os.str());
    }
    if (!root.from_root && h.n != root.n) {
      os << "rank 0 passed " << root.n << " items and rank " << r << " passed " << h.n
         << "; every rank must pass the same items, or pass them on the root only with "
            "mpp::mpi::from_root(items)";
      throw_mismatch(os.str());
    }
    if (h.schedule != root.schedule || h.has_chunksize != root.has_chunksize ||
        h.chunksize != root.chunksize || h.every_rank != root.every_rank) {
      os << "rank 0 asked for schedule " << schedule_name(root.schedule) << ", chunksize "
         << (root.has_chunksize ? std::to_string(root.chunksize) : "unset") << ", results "
         << (root.every_rank ? "on every rank" : "on the root") << " and rank " << r
         << " for schedule " << schedule_name(h.schedule) << ", chunksize "
         << (h.has_chunksize ? std::to_string(h.chunksize) : "unset") << ", results "
         << (h.every_rank ? "on every rank" : "on the root")
         << "; pass the same options everywhere";
      throw_mismatch(os.str());
    }
  }
  if (root.has_chunksize && root.chunksize == 0) {
    mpp::detail::throw_invalid_argument(std::string(owner_) + "::" + call +
                                        ": chunksize must be at least 1; leave it unset for the "
                                        "schedule's default");
  }
  Plan plan;
  plan.size = size_;
  plan.n = static_cast<std::size_t>(std::max<std::int64_t>(0, root.n));
  std::size_t total_threads = 0;
  for (const auto& h : all) {
    plan.threads.push_back(std::max(1, h.threads));
    total_threads += static_cast<std::size_t>(std::max(1, h.threads));
  }
  plan.dynamic = static_cast<mpp::schedule>(root.schedule) != mpp::schedule::static_;
  // The root's checkpoint or progress decides for every rank: chunks must reach it as they finish.
  plan.checkpoint = root.checkpoint != 0;
  plan.streamed = plan.checkpoint || root.progress != 0;
  if (plan.streamed) plan.dynamic = true;
  if (plan.checkpoint && !root.has_chunksize) {
    plan.k = std::max<std::size_t>(1, (plan.n + 1023) / 1024);  // the local journal's default
    plan.chunks = (plan.n + plan.k - 1) / plan.k;
  } else if (plan.dynamic) {
    if (root.has_chunksize) {
      plan.k = root.chunksize;
    } else if (static_cast<mpp::schedule>(root.schedule) == mpp::schedule::dynamic) {
      plan.k = 1;
    } else {
      const std::size_t per = 4 * total_threads;
      plan.k = std::max<std::size_t>(1, (plan.n + per - 1) / per);
    }
    plan.chunks = (plan.n + plan.k - 1) / plan.k;
  }
  return plan;
}

namespace {}  // namespace

void Comm::begin_claims(std::int64_t chunks) {
  chunks_ = chunks;
  finished_ = 0;
  ++maps_;
  read_ = 0;
  // Drops what earlier maps' roots sent late, and keeps what this map's root sent already (a
  // rank that lags may find the root's release here).
  if (rank_ != 0) (void)receive_read(0, false);
}

void Comm::send_read(std::uint64_t read) {
  auto lock = mpi_guard(owner_);
  const std::uint64_t message[2] = {maps_, read};
  for (int r = 1; r < size_; ++r) {
    check(MPI_Send(message, 2, MPI_UINT64_T, r, tag_read, comm_), "MPI_Send");
  }
}

std::uint64_t Comm::receive_read(std::uint64_t known, bool wait) {
  std::uint64_t latest = std::max(known, read_);
  for (;;) {
    {
      auto lock = mpi_guard(owner_);
      while (message_waiting(comm_, 0, tag_read)) {
        std::uint64_t message[2] = {0, 0};
        check(MPI_Recv(message, 2, MPI_UINT64_T, 0, tag_read, comm_, MPI_STATUS_IGNORE),
              "MPI_Recv");
        if (message[0] == maps_) latest = std::max(latest, message[1]);
      }
    }
    read_ = latest;
    if (!wait || latest != known) return latest;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

std::int64_t Comm::claim(std::int64_t increment) {
  auto lock = mpi_guard(owner_);
  std::int64_t previous = 0;
  if (window_ != MPI_WIN_NULL) {
    check(MPI_Fetch_and_op(&increment, &previous, MPI_INT64_T, 0, 0, MPI_SUM, window_),
          "MPI_Fetch_and_op");
    check(MPI_Win_flush(0, window_), "MPI_Win_flush");
  } else if (rank_ == 0) {
    serve(false);
    previous = served_;
    served_ += increment;
  } else {
    check(MPI_Send(&increment, 1, MPI_INT64_T, 0, tag_claim, comm_), "MPI_Send");
    check(MPI_Recv(&previous, 1, MPI_INT64_T, 0, tag_grant, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
  }
  return previous;
}

void Comm::stop_claims() {
  auto lock = mpi_guard(owner_);
  std::int64_t increment = chunks_;
  if (window_ != MPI_WIN_NULL) {
    std::int64_t previous = 0;
    check(MPI_Fetch_and_op(&increment, &previous, MPI_INT64_T, 0, 0, MPI_SUM, window_),
          "MPI_Fetch_and_op");
    check(MPI_Win_flush(0, window_), "MPI_Win_flush");
  } else if (rank_ == 0) {
    served_ += increment;
  } else {
    check(MPI_Send(&increment, 1, MPI_INT64_T, 0, tag_stop, comm_), "MPI_Send");
  }
}

void Comm::end_claims() {
  if (!serve_claims_ || rank_ != 0) return;
  auto lock = mpi_guard(owner_);
  while (finished_ < size_ - 1) serve(true);
}

// Root: answers the claims waiting (or, with `block`, waits for at least one, ending the job if
// a rank leaves meanwhile). It probes the claim tags themselves: another message first in line
// (a stream's) must neither be taken for a claim nor make a blocking wait spin on it.
void Comm::serve(bool block) {
  for (int spins = 0;;) {
    MPI_Status status;
    int flag = 0;
    for (const int tag : {tag_claim, tag_stop}) {
      check(MPI_Iprobe(MPI_ANY_SOURCE, tag, comm_, &flag, &status), "MPI_Iprobe");
      if (flag) break;
    }
    if (!flag) {
      if (!block) return;
      check_departures("map");
      back_off(spins);
      continue;
    }
    block = false;
    std::int64_t increment = 0;
    check(MPI_Recv(&increment, 1, MPI_INT64_T, status.MPI_SOURCE, status.MPI_TAG, comm_,
                   MPI_STATUS_IGNORE),
          "MPI_Recv");
    const std::int64_t previous = served_;
    served_ += increment;
    if (status.MPI_TAG == tag_claim) {
      check(MPI_Send(&previous, 1, MPI_INT64_T, status.MPI_SOURCE, tag_grant, comm_), "MPI_Send");
      if (previous >= chunks_) ++finished_;
    } else {
      ++finished_;
    }
  }
}

void Comm::reset_counter() {
  auto lock = mpi_guard(owner_);
  if (window_ == MPI_WIN_NULL) {
    served_ = 0;
    return;
  }
  std::int64_t zero = 0, previous = 0;
  check(MPI_Fetch_and_op(&zero, &previous, MPI_INT64_T, 0, 0, MPI_REPLACE, window_),
        "MPI_Fetch_and_op");
  check(MPI_Win_flush(0, window_), "MPI_Win_flush");
}

void Comm::progress() {
  auto lock = mpi_guard(owner_);
  if (serve_claims_ && rank_ == 0) {
    serve(false);
    return;
  }
  int flag = 0;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, MPI_STATUS_IGNORE);
}

Gathered Comm::gather(const RankReport& mine, std::span<const std::uint64_t> ids,
                      std::span<const char> payload, std::span<const char> error, char* in_place,
                      const std::vector<std::size_t>& displacements) {
  auto lock = mpi_guard(owner_);
  Gathered g;
  const bool root = rank_ == 0;
  const auto n = static_cast<std::size_t>(size_);
  if (root) g.reports.resize(n);
  check(MPI_Gather(&mine, sizeof(RankReport), MPI_BYTE, g.reports.data(), sizeof(RankReport),
                   MPI_BYTE, 0, comm_),
        "MPI_Gather");

  // Point to point, in pieces: MPI_Gatherv's int counts and displacements would cap the
  // results at 2 GiB in all. Each rank sends its ids, payload and error record in that order,
  // on one tag, and MPI keeps them in order. They go on the side communicator, where the root's
  // probes for claims (any tag) cannot see them.
  std::vector<MPI_Request> requests;
  if (!root) {
    post_send(side_, 0, tag_gather, reinterpret_cast<const char*>(ids.data()), ids.size_bytes(),
              requests);
    post_send(side_, 0, tag_gather, payload.data(), payload.size(), requests);
    post_send(side_, 0, tag_gather, error.data(), error.size(), requests);
    wait_all(requests);
    return g;
  }
  // Consecutive offsets for `sizes`, and their total.
  const auto offsets = [&](const std::vector<std::size_t>& sizes, std::vector<std::size_t>& at) {
    at.assign(sizes.size() + 1, 0);
    for (std::size_t r = 0; r < sizes.size(); ++r) at[r + 1] = at[r] + sizes[r];
    return at.back();
  };
  std::vector<std::size_t> id_bytes(n), payload_bytes(n), error_bytes(n), id_at;
  for (std::size_t r = 0; r < n; ++r) {
    id_bytes[r] = g.reports[r].ids * sizeof(std::uint64_t);
    payload_bytes[r] = g.reports[r].payload_bytes;
    error_bytes[r] = g.reports[r].error_bytes;
  }
  g.ids.resize(offsets(id_bytes, id_at) / sizeof(std::uint64_t));
  g.id_offsets.resize(n + 1);
  for (std::size_t r = 0; r <= n; ++r) g.id_offsets[r] = id_at[r] / sizeof(std::uint64_t);
  char* payload_base = in_place;
  const std::vector<std::size_t>* payload_at = &displacements;
  if (in_place == nullptr) {
    g.payload.resize(offsets(payload_bytes, g.payload_offsets));
    payload_base = g.payload.data();
    payload_at = &g.payload_offsets;
  }
  g.errors.resize(offsets(error_bytes, g.error_offsets));
  auto* id_base = reinterpret_cast<char*>(g.ids.data());
  for (std::size_t r = 1; r < n; ++r) {
    const int source = static_cast<int>(r);
    post_receive(side_, source, tag_gather, id_base + id_at[r], id_bytes[r], requests);
    post_receive(side_, source, tag_gather, payload_base + (*payload_at)[r], payload_bytes[r],
                 requests);
    post_receive(side_, source, tag_gather, g.errors.data() + g.error_offsets[r], error_bytes[r],
                 requests);
  }
  // The root's own part, while the others arrive.
  const auto copy = [](char* to, std::span<const char> from) {
    if (!from.empty() && to != from.data()) std::memmove(to, from.data(), from.size());
  };
  copy(id_base, {reinterpret_cast<const char*>(ids.data()), ids.size_bytes()});
  copy(payload_base + (*payload_at)[0], payload);
  copy(g.errors.data(), error);
  wait_all(requests);
  return g;
}

void Comm::settle(const Gathered& g, const std::exception_ptr& local_error) {
  auto lock = mpi_guard(owner_);
  std::int64_t outcome[2] = {-1, 0};  // failing rank, size of its record
  if (rank_ == 0) {
    for (std::size_t r = 0; r < g.reports.size(); ++r) {
      const RankReport& report = g.reports[r];
      if (!report.failed) continue;
      const auto best = static_cast<std::size_t>(outcome[0]);
      const bool better =
          outcome[0] < 0 ||
          (report.error_item >= 0 &&
           (g.reports[best].error_item < 0 || report.error_item < g.reports[best].error_item));
      if (better) {
        outcome[0] = static_cast<std::int64_t>(r);
        outcome[1] = static_cast<std::int64_t>(report.error_bytes);
      }
    }
  }
  check(MPI_Bcast(outcome, 2, MPI_INT64_T, 0, comm_), "MPI_Bcast");
  if (outcome[0] < 0) return;
  std::vector<char> record(static_cast<std::size_t>(outcome[1]));
  if (rank_ == 0 && !record.empty()) {
    std::memcpy(record.data(),
                g.errors.data() + g.error_offsets[static_cast<std::size_t>(outcome[0])],
                record.size());
  }
  lock = {};
  broadcast(record.data(), record.size());
  if (outcome[0] == rank_ && local_error) std::rethrow_exception(local_error);
  throw_remote(decode_error(record.data(), record.size()));
}

void Comm::send_stream(std::span<const char> bytes) {
  auto lock = mpi_guard(owner_);
  send_message({comm_, side_}, 0, tag_stream, bytes);
}

bool Comm::receive_stream(const std::function<void(int, std::span<const char>)>& on_message) {
  bool any = false;
  while (true) {
    MPI_Status status;
    int flag = 0;
    std::string message;
    {
      auto lock = mpi_guard(owner_);
      if (serve_claims_) serve(false);
      check(MPI_Iprobe(MPI_ANY_SOURCE, tag_stream, comm_, &flag, &status), "MPI_Iprobe");
      if (!flag) return any;
      message = receive_message({comm_, side_}, status);
    }
    any = true;
    on_message(status.MPI_SOURCE, {message.data(), message.size()});  // outside the lock
  }
}

void Comm::settle_stream(StreamVerdict verdict, std::string record,
                         const std::exception_ptr& local_error, const std::string& journal) {
  {
    auto lock = mpi_guard(owner_);
    check(MPI_Bcast(&verdict, sizeof verdict, MPI_BYTE, 0, comm_), "MPI_Bcast");
  }
  if (verdict.failing_rank >= 0) {
    record = broadcast_string(std::move(record));
    if (verdict.failing_rank == rank_ && local_error) std::rethrow_exception(local_error);
    throw_remote(decode_error(record.data(), record.size()));
  }
  if (verdict.signal != 0) {
    mpp::detail::throw_interrupted(static_cast<int>(verdict.signal), journal, verdict.done,
                                   verdict.chunks);
  }
}

std::string Comm::broadcast_string(std::string text) {
  std::uint64_t bytes = text.size();
  broadcast(&bytes, sizeof bytes);
  text.resize(bytes);
  broadcast(text.data(), bytes);
  return text;
}

void Comm::scatter(const char* data, const std::vector<std::size_t>& counts,
                   const std::vector<std::size_t>& displacements, char* out, std::size_t mine) {
  auto lock = mpi_guard(owner_);
  // Point to point, in pieces, on the side communicator, for the same reasons as gather.
  std::vector<MPI_Request> requests;
  if (rank_ == 0) {
    for (std::size_t r = 1; r < counts.size(); ++r) {
      post_send(side_, static_cast<int>(r), tag_scatter, data + displacements[r], counts[r],
                requests);
    }
  } else {
    post_receive(side_, 0, tag_scatter, out, mine, requests);
  }
  wait_all(requests);
}

std::uint64_t Comm::scatter_size(const std::vector<std::uint64_t>& sizes) {
  auto lock = mpi_guard(owner_);
  std::uint64_t mine = 0;
  check(MPI_Scatter(sizes.data(), 1, MPI_UINT64_T, &mine, 1, MPI_UINT64_T, 0, comm_),
        "MPI_Scatter");
  return mine;
}

void Comm::broadcast(void* data, std::size_t bytes) {
  auto lock = mpi_guard(owner_);
  constexpr std::size_t piece = std::size_t{1} << 30;
  auto* p = static_cast<char*>(data);
  for (std::size_t done = 0; done < bytes; done += piece) {
    const std::size_t now = std::min(piece, bytes - done);
    check(MPI_Bcast(p + done, static_cast<int>(now), MPI_BYTE, 0, comm_), "MPI_Bcast");
  }
}

}  // namespace mpp::mpi::detail

namespace mpp::mpi {

int node_threads(MPI_Comm comm) {
  auto lock = detail::mpi_guard("mpp::mpi::node_threads");
  // A communicator mpp cannot use is refused later, by the pool or executor, on every rank
  // given it; the same ranks skip the collective part here.
  int inter = 0;
  if (comm == MPI_COMM_NULL || MPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS || inter) {
    return mpp::available_cpus();
  }
  MPI_Comm node = MPI_COMM_NULL;
  detail::check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
                "MPI_Comm_split_type");
  // Every rank takes part whatever it decides below, so ranks that differ in MPP_NUM_THREADS
  // cannot leave the others waiting in the gather.
  cpu_set_t mine;
  CPU_ZERO(&mine);
  if (sched_getaffinity(0, sizeof mine, &mine) != 0) CPU_ZERO(&mine);
  int ranks = 0;
  MPI_Comm_size(node, &ranks);
  std::vector<cpu_set_t> all(static_cast<std::size_t>(ranks));
  const int code = MPI_Allgather(&mine, static_cast<int>(sizeof mine), MPI_BYTE, all.data(),
                                 static_cast<int>(sizeof mine), MPI_BYTE, node);
  MPI_Comm_free(&node);
  detail::check(code, "MPI_Allgather");
  // After the collective part: a bad MPP_NUM_THREADS throws on its rank alone.
  const int available = mpp::available_cpus();
  const char* forced = std::getenv("MPP_NUM_THREADS");
  if ((forced != nullptr && *forced != '\0') || CPU_COUNT(&mine) == 0) return available;
  cpu_set_t shared;
  CPU_ZERO(&shared);
  int sharing = 0;
  for (auto& other : all) {
    cpu_set_t both;
    CPU_AND(&both, &mine, &other);
    if (CPU_COUNT(&both) == 0) continue;
    CPU_OR(&shared, &shared, &other);
    ++sharing;
  }
  return std::min(available, std::max(1, CPU_COUNT(&shared) / std::max(1, sharing)));
}

}  // namespace mpp::mpi
