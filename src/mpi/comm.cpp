#include "mpp/mpi/detail/comm.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "mpp/errors.hpp"
#include "mpp/mpi/detail/message.hpp"
#include "mpp/mpi/environment.hpp"

namespace mpp::mpi::detail {

namespace {

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
  check_mpi(MPI_Comm_test_inter(parent, &inter), "MPI_Comm_test_inter");
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
  check_mpi(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
  // Failures come back as codes that mpp turns into exceptions naming the rank, rather than
  // MPI_ERRORS_ARE_FATAL ending the job without a word about mpp's call.
  check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_dup(comm_, &side_), "MPI_Comm_dup");
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  host_ = Environment::processor_name();
  pacer_ = StreamPacer(comm_, rank_, size_, owner);
  claims_ = make_claim_counter(*this, parent, with_counter);
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
  check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, comm_tag::departure, side_, &flag, &status), "MPI_Iprobe");
  if (!flag) return;
  Departure theirs;
  MPI_Recv(&theirs, sizeof theirs, MPI_BYTE, status.MPI_SOURCE, comm_tag::departure, side_,
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
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
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
      MPI_Isend(&mine, sizeof mine, MPI_BYTE, r, comm_tag::departure, side_,
                &sent[static_cast<std::size_t>(i++)]);
    }
    for (int i = 1; i < size_; ++i) {
      Departure theirs;
      MPI_Recv(&theirs, sizeof theirs, MPI_BYTE, MPI_ANY_SOURCE, comm_tag::departure, side_,
               MPI_STATUS_IGNORE);
    }
    MPI_Waitall(static_cast<int>(sent.size()), sent.data(), MPI_STATUSES_IGNORE);
  }
  if (claims_) claims_->release();
  if (side_ != MPI_COMM_NULL) MPI_Comm_free(&side_);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

Plan Comm::plan(const MapHeader& mine, const char* call) {
  std::vector<MapHeader> all(static_cast<std::size_t>(size_));
  {
    auto lock = mpi_guard(call);
    MPI_Request request = MPI_REQUEST_NULL;
    check_mpi(MPI_Iallgather(&mine, sizeof(MapHeader), MPI_BYTE, all.data(), sizeof(MapHeader),
                             MPI_BYTE, comm_, &request),
              "MPI_Iallgather");
    wait(request, call);
  }
  return make_plan(all, owner_, call);
}

void Comm::begin_map(std::int64_t chunks) {
  claims_->begin(chunks);
  pacer_.begin_map();
}

void Comm::progress() {
  auto lock = mpi_guard(owner_);
  if (claims_->serves_claims()) {
    claims_->serve();
    return;
  }
  int flag = 0;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, MPI_STATUS_IGNORE);
}

}  // namespace mpp::mpi::detail
