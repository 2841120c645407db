// Checkpoint and progress of mpp::mpi::Executor's maps, the options mpp::Pool's maps take: the
// root journals each chunk as its results arrive, a rerun submits only the chunks the journal
// lacks, and the root's progress callback counts from (0, n) to (n, n). Every rank enters each
// case; the workers serve inside it, the root submits and checks.
#include <doctest/doctest.h>
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <mpp/mpi.hpp>
#include <mpp/mpp.hpp>
#include <mutex>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr long n = 400;
constexpr std::size_t k = 10;  // items per journaled chunk

std::atomic<long> computed{0};  // calls of cube that returned, on this rank
long fail_at = -1;              // the item cube throws on; set on every rank

long cube(long x) {
  if (x == fail_at) throw std::runtime_error("item " + std::to_string(x) + " failed");
  ++computed;
  return x * x * x;
}
long volume(long a, long b) {
  ++computed;
  return a * b;
}
long square(long x) {
  return x * x;
}

// Calls that returned, summed over the ranks; resets the count. Every rank calls it.
long computed_everywhere() {
  long mine = computed.exchange(0), all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  return all;
}

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int world_size() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// A journal path, the same on every rank, removed before the case uses it.
std::string fresh_journal(const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("mpp_executor_" + name + "_np" + std::to_string(world_size()) + ".journal");
  if (world_rank() == 0) std::filesystem::remove(path);
  MPI_Barrier(MPI_COMM_WORLD);
  return path.string();
}

// Runs `body` on the root of a fresh executor while the other ranks serve; returns once the
// executor is gone on every rank, so that every task it ran has finished.
template <class Body>
void with_executor(Body body) {
  mpp::mpi::Executor ex({.threads = 1});
  ex.register_function("cube", cube);
  ex.register_function("volume", volume);
  ex.register_function("square", square);
  if (!ex.serve()) body(ex);
}

std::vector<long> cubes() {
  std::vector<long> out;
  for (long i = 0; i < n; ++i) out.push_back(i * i * i);
  return out;
}

using Calls = std::vector<std::pair<std::size_t, std::size_t>>;

// A progress callback that records its calls; they may come from the root's pool.
struct Recorder {
  std::mutex mutex;
  Calls calls;
  std::function<void(std::size_t, std::size_t)> callback() {
    return [this](std::size_t done, std::size_t total) {
      std::lock_guard lock(mutex);
      calls.emplace_back(done, total);
    };
  }
};

// What a person watching the root's bar expects: (0, n) first, counts that only grow, and
// (n, n) once, last.
void check_calls(const Calls& calls, std::size_t total) {
  REQUIRE(!calls.empty());
  CHECK(calls.front() == std::pair<std::size_t, std::size_t>{0, total});
  CHECK(calls.back() == std::pair<std::size_t, std::size_t>{total, total});
  std::size_t ends = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    CHECK(calls[i].second == total);
    if (i > 0) CHECK(calls[i - 1].first <= calls[i].first);
    if (calls[i].first == total) ++ends;
  }
  CHECK(ends == 1);
}

}  // namespace

TEST_CASE("executor progress: map and map_async count every item from (0, n) to (n, n)") {
  with_executor([](mpp::mpi::Executor& ex) {
    Recorder lazy;
    const std::vector<long> got =
        ex.map(square, std::views::iota(0L, n), {.chunksize = 7, .progress = lazy.callback()});
    CHECK(got.size() == std::size_t(n));
    check_calls(lazy.calls, n);

    Recorder whole;
    auto all = ex.map_async(square, std::views::iota(0L, n),
                            {.chunksize = 7, .progress = whole.callback()});
    CHECK(all.get().size() == std::size_t(n));
    std::lock_guard lock(whole.mutex);  // (n, n) came before the future was ready
    check_calls(whole.calls, n);

    Recorder pairs;
    const std::vector<std::tuple<long, long>> sides = {{1, 2}, {3, 4}, {5, 6}};
    CHECK(ex.starmap_async(volume, sides, {.progress = pairs.callback()}).get() ==
          std::vector<long>{2, 12, 30});
    check_calls(pairs.calls, 3);
  });
}

TEST_CASE("executor progress: an unsized input reports an unknown total until it runs out") {
  with_executor([](mpp::mpi::Executor& ex) {
    Recorder calls;
    auto unsized = std::views::iota(0L, 50L) | std::views::filter([](long) { return true; });
    long sum = 0;
    for (long s : ex.imap(square, unsized, {.chunksize = 5, .progress = calls.callback()}))
      sum += s;
    CHECK(sum == 40425);
    REQUIRE(calls.calls.size() >= 2);
    CHECK(calls.calls.front() == std::pair<std::size_t, std::size_t>{0, mpp::unknown_total});
    CHECK(calls.calls.back() == std::pair<std::size_t, std::size_t>{50, 50});
    Recorder whole;  // map_async reads the input to its end first, so it knows the total
    CHECK(ex.map_async(square, unsized, {.progress = whole.callback()}).get().size() == 50);
    check_calls(whole.calls, 50);
  });
}

TEST_CASE("executor progress: a callback that throws fails the map with its exception") {
  with_executor([](mpp::mpi::Executor& ex) {
    const auto at_half = [](std::size_t done, std::size_t total) {
      if (done >= total / 2 && done < total) throw std::runtime_error("progress failed");
    };
    CHECK_THROWS_WITH(
        [&] {
          for (long s : ex.map(square, std::views::iota(0L, n), {.progress = at_half})) (void)s;
        }(),
        "progress failed");
    // map_async's reports of chunks may be merged, but the last one, (n, n), always comes.
    const auto at_end = [](std::size_t done, std::size_t total) {
      if (done == total) throw std::runtime_error("progress failed at the end");
    };
    auto all = ex.map_async(square, std::views::iota(0L, n), {.chunksize = 1, .progress = at_end});
    CHECK_THROWS_WITH((void)all.get(), "progress failed at the end");
    // Throwing at the start queues nothing: the executor is idle after it.
    const auto at_start = [](std::size_t, std::size_t) { throw std::logic_error("no bar"); };
    CHECK_THROWS_AS((void)ex.map_async(square, std::views::iota(0L, n), {.progress = at_start}),
                    std::logic_error);
    CHECK_THROWS_AS((void)ex.map(square, std::views::iota(0L, n), {.progress = at_start}),
                    std::logic_error);
    CHECK(ex.submit(square, 3L).get() == 9);
  });
}

TEST_CASE("executor checkpoint: a failed map resumes, submitting only what the journal lacks") {
  const std::string journal = fresh_journal("map");
  const mpp::mpi::ExecutorMapOptions options{.chunksize = k, .checkpoint = journal};
  computed_everywhere();

  // First run: item 250 fails. map reads its chunks in order, so the 25 chunks before it were
  // read and journaled; the rest were cancelled or dropped.
  fail_at = 250;
  with_executor([&](mpp::mpi::Executor& ex) {
    CHECK_THROWS_WITH((void)std::vector<long>(ex.map(cube, std::views::iota(0L, n), options)),
                      doctest::Contains("item 250 failed"));
  });
  CHECK(computed_everywhere() >= 250);
  // A torn record at the end, as a kill in mid-write leaves, is ignored.
  if (world_rank() == 0) std::ofstream(journal, std::ios::app | std::ios::binary) << "torn";

  fail_at = -1;
  with_executor([&](mpp::mpi::Executor& ex) {
    CHECK(std::vector<long>(ex.map(cube, std::views::iota(0L, n), options)) == cubes());
  });
  CHECK(computed_everywhere() == n - 250);  // exactly what the journal lacked

  // Complete now: a third run computes nothing, and map_async reads the same journal.
  with_executor([&](mpp::mpi::Executor& ex) {
    Recorder calls;
    auto with_bar = options;
    with_bar.progress = calls.callback();
    CHECK(ex.map_async(cube, std::views::iota(0L, n), with_bar).get() == cubes());
    check_calls(calls.calls, n);
  });
  CHECK(computed_everywhere() == 0);
  if (world_rank() == 0) std::filesystem::remove(journal);
}

TEST_CASE("executor checkpoint: map_async journals every chunk that finished, in any order") {
  const std::string journal = fresh_journal("map_async");
  const mpp::mpi::ExecutorMapOptions options{.chunksize = k, .checkpoint = journal};
  computed_everywhere();
  fail_at = 123;
  with_executor([&](mpp::mpi::Executor& ex) {
    auto all = ex.map_async(cube, std::views::iota(0L, n), options);
    CHECK_THROWS_WITH((void)all.get(), doctest::Contains("item 123 failed"));
  });  // the other chunks ran on, and were journaled as they finished
  const long first = computed_everywhere();
  CHECK(first >= n - long(k));  // all but item 123's chunk, which stopped at it
  CHECK(first < n);

  fail_at = -1;
  with_executor([&](mpp::mpi::Executor& ex) {
    CHECK(ex.map_async(cube, std::views::iota(0L, n), options).get() == cubes());
  });
  CHECK(computed_everywhere() == long(k));  // only item 123's chunk
  if (world_rank() == 0) std::filesystem::remove(journal);
}

TEST_CASE("executor checkpoint: starmap resumes too, with its default chunks") {
  const std::string journal = fresh_journal("starmap");
  std::vector<std::pair<long, long>> sides;
  for (long i = 0; i < 2000; ++i) sides.emplace_back(i, 2);
  std::vector<long> expected;
  for (const auto& [a, b] : sides) expected.push_back(a * b);
  computed_everywhere();
  for (int run = 0; run < 2; ++run) {
    with_executor([&](mpp::mpi::Executor& ex) {
      CHECK(std::vector<long>(ex.starmap(volume, sides, {.checkpoint = journal})) == expected);
    });
    CHECK(computed_everywhere() == (run == 0 ? 2000 : 0));
  }
  if (world_rank() == 0) std::filesystem::remove(journal);
}

TEST_CASE("executor checkpoint: what cannot be journaled or resumed is refused") {
  const std::string journal = fresh_journal("refused");
  with_executor([&](mpp::mpi::Executor& ex) {
    const mpp::mpi::ExecutorMapOptions options{.checkpoint = journal};
    const auto xs = std::views::iota(0L, n);
    CHECK_THROWS_WITH_AS((void)ex.imap(cube, xs, options), doctest::Contains("imap: checkpoint"),
                         std::invalid_argument);
    CHECK_THROWS_AS(
        (void)ex.istarmap_unordered(volume, std::vector<std::pair<long, long>>{}, options),
        std::invalid_argument);
    auto unordered = options;
    unordered.unordered = true;
    CHECK_THROWS_WITH_AS((void)ex.map(cube, xs, unordered), doctest::Contains("input order"),
                         std::invalid_argument);
    auto unsized = xs | std::views::filter([](long) { return true; });
    CHECK_THROWS_WITH_AS((void)ex.map_async(cube, unsized, options),
                         doctest::Contains("known size"), std::invalid_argument);

    // A journal is this map's only: other inputs or another function are refused.
    CHECK(std::vector<long>(ex.map(cube, xs, options)) == cubes());
    CHECK_THROWS_AS((void)ex.map(cube, std::views::iota(1L, n + 1), options), mpp::CheckpointError);
    CHECK_THROWS_AS((void)ex.map_async(square, xs, options), mpp::CheckpointError);
    CHECK(ex.map_async(square, xs).get().size() == std::size_t(n));  // the executor goes on

    // An empty input journals nothing and reports its end.
    Recorder calls;
    const mpp::mpi::ExecutorMapOptions empty{.checkpoint = journal + ".empty",
                                             .progress = calls.callback()};
    CHECK(ex.map_async(cube, std::vector<long>{}, empty).get().empty());
    CHECK(std::vector<long>(ex.map(cube, std::vector<long>{}, empty)).empty());
    CHECK(calls.calls == Calls{{0, 0}, {0, 0}});
    std::filesystem::remove(journal + ".empty");

    // A map the executor cannot take any more makes no journal.
    ex.shutdown();
    CHECK_THROWS_AS((void)ex.map_async(cube, xs, {.checkpoint = journal + ".late"}),
                    mpp::PoolStateError);
    CHECK_FALSE(std::filesystem::exists(journal + ".late"));
  });
  if (world_rank() == 0) std::filesystem::remove(journal);
}
