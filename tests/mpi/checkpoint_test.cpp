// Checkpoint and resume of mpp::mpi::Pool::map: the root journals the chunks of every rank, a
// rerun recomputes only what the journal lacks, and SIGTERM ends the call on every rank with
// mpp::InterruptedError.
#include <doctest/doctest.h>
#include <mpi.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mpp/mpi.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

mpp::mpi::Pool& cluster() {
  static mpp::mpi::Pool pool({.threads = 2});
  return pool;
}

// A journal path, the same on every rank, removed by the root before the test uses it.
std::string fresh_journal(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("mpp_mpi_" + name + "_np" + std::to_string(cluster().size()) + ".journal");
  if (cluster().is_root()) std::filesystem::remove(path);
  MPI_Barrier(MPI_COMM_WORLD);
  return path.string();
}

// Calls of the task that returned, on this rank.
std::atomic<long> computed{0};

// Calls that returned, summed over the ranks; resets the count.
long computed_everywhere() {
  long mine = computed.exchange(0), all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  return all;
}

std::vector<long> cubes(long n) {
  std::vector<long> out;
  for (long i = 0; i < n; ++i) out.push_back(i * i * i);
  return out;
}

void check_on_root(const std::vector<long>& got, const std::vector<long>& expected) {
  if (cluster().is_root()) {
    CHECK(got == expected);
  } else {
    CHECK(got.empty());
  }
}

constexpr long n = 400;
constexpr std::size_t k = 10;  // items per journaled chunk

}  // namespace

TEST_CASE("a failed checkpointed map resumes on every rank count, recomputing only the rest") {
  const std::string journal = fresh_journal("resume");
  for (auto s : {mpp::schedule::dynamic, mpp::schedule::static_, mpp::schedule::adaptive}) {
    CAPTURE(static_cast<int>(s));
    if (cluster().is_root()) std::filesystem::remove(journal);
    // One computation, whether item 250 fails or not: the tag says so.
    const mpp::MapOptions options{
        .chunksize = k, .schedule = s, .checkpoint = journal, .checkpoint_tag = "cubes"};
    computed_everywhere();

    // First run: item 250 fails, after the chunks claimed before its own were journaled.
    CHECK_THROWS_AS((void)cluster().map(
                        [](long x) {
                          if (x == 250) throw std::runtime_error("item 250 failed");
                          ++computed;
                          return x * x * x;
                        },
                        std::views::iota(0L, n), options),
                    std::runtime_error);  // RemoteError on the ranks that did not compute it
    const long first = computed_everywhere();
    // Across ranks chunks are claimed in order, so all those before item 250's finished.
    if (cluster().size() > 1) CHECK(first >= 250);
    CHECK(first % static_cast<long>(k) == 0);  // whole chunks only

    // A torn record at the end, as a kill in mid-write leaves, is ignored.
    if (cluster().is_root()) std::ofstream(journal, std::ios::app | std::ios::binary) << "torn";

    const auto task = [](long x) {
      ++computed;
      return x * x * x;
    };
    check_on_root(cluster().map(task, std::views::iota(0L, n), options), cubes(n));
    CHECK(computed_everywhere() == n - first);  // exactly what the journal lacked

    // Complete now: a third run computes nothing, with the results on every rank if asked.
    CHECK(cluster().map(task, std::views::iota(0L, n), options, mpp::mpi::results::on_every_rank) ==
          cubes(n));
    CHECK(computed_everywhere() == 0);
  }
  if (cluster().is_root()) std::filesystem::remove(journal);
}

TEST_CASE("items on the root only resume too") {
  const std::string journal = fresh_journal("rooted");
  std::vector<long> xs;
  if (cluster().is_root()) {
    for (long i = 0; i < n; ++i) xs.push_back(i);
  }
  const auto task = [](long x) {
    ++computed;
    return x * x * x;
  };
  computed_everywhere();
  check_on_root(cluster().map(task, mpp::mpi::from_root(xs), {.checkpoint = journal}), cubes(n));
  CHECK(computed_everywhere() == n);
  check_on_root(cluster().map(task, mpp::mpi::from_root(xs), {.checkpoint = journal}), cubes(n));
  CHECK(computed_everywhere() == 0);
  if (cluster().is_root()) std::filesystem::remove(journal);
}

TEST_CASE("a journal of other inputs is refused with CheckpointError on every rank") {
  const std::string journal = fresh_journal("other");
  const auto cube = [](long x) { return x * x * x; };
  check_on_root(cluster().map(cube, std::views::iota(0L, n), {.checkpoint = journal}), cubes(n));
  CHECK_THROWS_AS((void)cluster().map(cube, std::views::iota(0L, n - 1), {.checkpoint = journal}),
                  mpp::CheckpointError);
  CHECK_THROWS_AS((void)cluster().map(cube, std::views::iota(1L, n + 1), {.checkpoint = journal}),
                  mpp::CheckpointError);
  // Still in step afterwards.
  check_on_root(cluster().map(cube, std::views::iota(0L, n)), cubes(n));
  if (cluster().is_root()) std::filesystem::remove(journal);
}

TEST_CASE("SIGTERM during a checkpointed map ends it with InterruptedError on every rank") {
  const std::string journal = fresh_journal("signal");
  const mpp::MapOptions options{.chunksize = k, .checkpoint = journal, .checkpoint_tag = "cubes"};
  computed_everywhere();
  // The rank that computes item 123 is sent SIGTERM, as a batch system's time limit would.
  bool interrupted = false;
  try {
    (void)cluster().map(
        [](long x) {
          if (x == 123) {
            ::kill(::getpid(), SIGTERM);
            // Lets the signal reach the map before this chunk ends; either way it is stopped.
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
          }
          ++computed;
          return x * x * x;
        },
        std::views::iota(0L, n), options);
  } catch (const mpp::InterruptedError& e) {
    interrupted = true;
    CHECK(e.signal_number() == SIGTERM);
  }
  CHECK(interrupted);
  const long first = computed_everywhere();

  const auto task = [](long x) {
    ++computed;
    return x * x * x;
  };
  check_on_root(cluster().map(task, std::views::iota(0L, n), options), cubes(n));
  CHECK(computed_everywhere() == n - first);  // nothing finished was lost
  if (cluster().is_root()) std::filesystem::remove(journal);
}
