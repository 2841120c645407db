// mpp::mpi::Executor: every rank enters each test case; workers serve inside it and leave, the
// root submits and checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mpp/mpi.hpp>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "executor_tasks.hpp"

namespace {

long add(long a, long b) {
  return a + b;
}
int square(int x) {
  return x * x;
}
std::string repeat(std::string s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}
int cursed(int x) {
  if (x == 42) throw std::domain_error("42 is cursed");
  return x;
}
int slow(int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return x;
}
int touched = 0;
void touch(int x) {
  touched = x;
}

// Large enough to travel from their own storage (see mpp::mpi::detail::borrow_min_bytes).
constexpr std::size_t large_count = 40'000;  // 320 kB of doubles
std::vector<double> scaled(std::vector<double> v, double by) {
  for (double& x : v) x *= by;
  return v;
}
std::string shout(std::string s) {
  std::ranges::transform(s, s.begin(), [](char c) { return c == 'a' ? 'A' : c; });
  return s;
}
// Large values of several types with small ones between them: each crosses in a block of its
// own, in one message.
std::string mixed(std::vector<int> ints, long k, std::string text, std::vector<float> floats) {
  const long sum = std::accumulate(ints.begin(), ints.end(), 0L);
  return std::to_string(sum) + "/" + std::to_string(k) + "/" + text.substr(0, 3) +
         std::to_string(text.size()) + "/" + std::to_string(floats.size()) + ":" +
         std::to_string(floats.back());
}
std::vector<double> same(std::vector<double> v) {
  return v;
}
// A plain struct: a std::vector of them crosses as its bytes, without a serialize function.
struct Point {
  double x, y;
};
std::vector<Point> swapped(std::vector<Point> points) {
  for (Point& p : points) std::swap(p.x, p.y);
  return points;
}
double half(int x) {
  return x / 2.0;
}

using mpp_test::nap;

// The rank in MPI_COMM_WORLD that runs it, after a few ms (so that every rank gets some).
int which_rank(int) {
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}
int fails_on_root(int x) {
  if (which_rank(x) == 0) throw std::runtime_error("ran on the root");
  return x;
}

void register_all(mpp::mpi::Executor& ex) {
  ex.register_function("which_rank", which_rank);
  ex.register_function("fails_on_root", fails_on_root);
  ex.register_function("nap", nap);
  ex.register_function("scaled", scaled);
  ex.register_function("shout", shout);
  ex.register_function("half", half);
  ex.register_function("add", add);
  ex.register_function("square", square);
  ex.register_function("repeat", repeat);
  ex.register_function("cursed", cursed);
  ex.register_function("slow", slow);
  ex.register_function("touch", touch);
  ex.register_function("mixed", mixed);
  ex.register_function("swapped", swapped);
  ex.register_function("same", same);
}

}  // namespace

TEST_CASE("executor: submit returns each task's value") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<long>> futures;
  for (long i = 0; i < 50; ++i) futures.push_back(ex.submit(add, i, 1000));
  for (long i = 0; i < 50; ++i) CHECK(futures[static_cast<std::size_t>(i)].get() == i + 1000);
  CHECK(ex.submit(repeat, "ab", 3).get() == "ababab");
  auto f = ex.submit(touch, 5);
  f.wait();
  CHECK(f.done());
  f.get();
}

TEST_CASE("executor: large vectors and strings cross ranks whole, as they were at submit") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<double> ramp(large_count);
  std::iota(ramp.begin(), ramp.end(), 0.0);
  // Several large results at once, so that a worker sends them back in one message.
  std::vector<mpp::mpi::Future<std::vector<double>>> futures;
  for (int i = 0; i < 6; ++i) futures.push_back(ex.submit(scaled, ramp, double(i)));
  std::ranges::fill(ramp, -1.0);  // after submit: the tasks keep the values they were given
  for (int i = 0; i < 6; ++i) {
    const auto back = futures[static_cast<std::size_t>(i)].get();
    REQUIRE(back.size() == large_count);
    CHECK(back[0] == 0.0);
    CHECK(back[1234] == 1234.0 * i);
    CHECK(back.back() == (large_count - 1.0) * i);
  }
  // Moved in, and with small values on either side of it in the same message.
  std::vector<double> moved(large_count, 2.0);
  CHECK(ex.submit(scaled, std::move(moved), 3.0).get() == std::vector<double>(large_count, 6.0));
  std::string text(300'000, 'a');
  text.back() = 'z';
  const std::string loud = ex.submit(shout, text).get();
  CHECK(loud.size() == text.size());
  CHECK(loud.front() == 'A');
  CHECK(loud.back() == 'z');
  // A chunk's results large enough to be sent from the vector that holds them.
  const std::vector<double> halves =
      ex.map(half, std::views::iota(0, 200'000), {.chunksize = 50'000});
  REQUIRE(halves.size() == 200'000);
  CHECK(halves[123'457] == 123'457 / 2.0);
}

TEST_CASE("executor: large vectors: a result can be read again, shared, and moved out") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  const std::vector<double> expected(large_count, 4.0);
  auto f = ex.submit(scaled, std::vector<double>(large_count, 2.0), 2.0);
  CHECK(f.get() == expected);
  CHECK(f.get() == expected);  // get() on a future that stays copies the value
  auto sum = f.then([](const std::vector<double>& v) { return v.size(); });
  auto copy = f;
  CHECK(std::move(f).get() == expected);  // a copy holds the task: the value stays
  CHECK(copy.get() == expected);
  CHECK(sum.get() == large_count);
  CHECK(copy.get() == expected);
  auto last = ex.submit(scaled, std::vector<double>(large_count, 2.0), 2.0);
  CHECK(std::move(last).get() == expected);  // the only holder: the value is moved out
  CHECK(ex.submit(scaled, std::vector<double>(large_count, 1.0), 3.0).get() ==
        std::vector<double>(large_count, 3.0));
}

TEST_CASE("executor: large vectors and a string of different types in one task, many tasks") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<int> ints(100'000, 1);
  std::string text(300'001, 'x');
  text.replace(0, 3, "abc");
  std::vector<float> floats(70'000, 0.5f);
  floats.back() = 2.0f;
  std::vector<mpp::mpi::Future<std::string>> futures;
  for (long k = 0; k < 8; ++k) futures.push_back(ex.submit(mixed, ints, k, text, floats));
  futures.push_back(ex.submit(mixed, std::move(ints), 8L, std::move(text), std::move(floats)));
  for (long k = 0; k < 9; ++k) {
    CHECK(std::move(futures[static_cast<std::size_t>(k)]).get() ==
          "100000/" + std::to_string(k) + "/abc300001/70000:2.000000");
  }
}

TEST_CASE("executor: large vectors: at one rank, a value goes to the task and back uncopied") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  int ranks = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  std::vector<double> v(large_count, 1.5);
  const double* storage = v.data();
  const auto back = ex.submit(same, std::move(v)).get();
  CHECK(back == std::vector<double>(large_count, 1.5));
  if (ranks == 1) CHECK(back.data() == storage);  // the same storage all the way
}

TEST_CASE("executor: large vectors of plain structs cross as their bytes, small ones too") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  for (const std::size_t n : {std::size_t{0}, std::size_t{3}, large_count}) {
    std::vector<Point> points(n);
    for (std::size_t i = 0; i < n; ++i) points[i] = {double(i), -double(i)};
    const auto back = ex.submit(swapped, points).get();
    REQUIRE(back.size() == n);
    if (n != 0) {
      CHECK(back.back().x == -double(n - 1));
      CHECK(back.back().y == double(n - 1));
    }
    CHECK(std::move(ex.submit(swapped, back)).get().size() == n);
  }
}

TEST_CASE("executor: map in input order and in completion order") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<int> expected;
  for (int i = 0; i < 257; ++i) expected.push_back(i * i);
  for (std::size_t c : {1u, 3u, 100u, 1000u}) {
    CHECK(std::vector<int>(ex.map(square, std::views::iota(0, 257), {.chunksize = c})) == expected);
    std::vector<int> unordered =
        ex.map(square, std::views::iota(0, 257), {.chunksize = c, .unordered = true});
    std::ranges::sort(unordered);
    CHECK(unordered == expected);
  }
  CHECK(std::vector<int>(ex.map(square, std::vector<int>{})).empty());
  CHECK_THROWS_AS((void)ex.map(square, std::vector<int>{1}, {.chunksize = 0}),
                  std::invalid_argument);
  CHECK_THROWS_AS((void)ex.map(square, std::vector<int>{1}, {.buffersize = 0}),
                  std::invalid_argument);
}

TEST_CASE("executor: starmap applies f to each tuple of arguments") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<std::pair<long, long>> pairs;
  std::vector<long> sums;
  for (long i = 0; i < 100; ++i) {
    pairs.emplace_back(i, 10 * i);
    sums.push_back(11 * i);
  }
  for (std::size_t c : {1u, 7u, 200u}) {
    CHECK(std::vector<long>(ex.starmap(add, pairs, {.chunksize = c})) == sums);
    std::vector<long> any = ex.starmap(add, pairs, {.chunksize = c, .unordered = true});
    std::ranges::sort(any);
    CHECK(any == sums);
  }
  const std::vector<std::tuple<std::string, int>> words = {{"ab", 2}, {"c", 3}};
  CHECK(std::vector<std::string>(ex.starmap(repeat, words)) ==
        std::vector<std::string>{"abab", "ccc"});
  CHECK(std::vector<long>(ex.starmap(add, std::vector<std::pair<long, long>>{})).empty());
  CHECK_THROWS_AS((void)ex.starmap(add, pairs, {.chunksize = 0}), std::invalid_argument);
  CHECK(ex.num_workers() == std::max(1, ex.size() - 1));
}

TEST_CASE("executor: map with a timeout throws TimeoutError, and the executor goes on") {
  using namespace std::chrono_literals;
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  for (const bool unordered : {false, true}) {
    CAPTURE(unordered);
    auto results =
        ex.map(nap, std::vector<int>{0, 400, 400}, {.unordered = unordered, .timeout = 50ms});
    const auto start = std::chrono::steady_clock::now();
    const auto read_all = [&] {
      for (int ms : results) (void)ms;
    };
    CHECK_THROWS_AS(read_all(), mpp::TimeoutError);
    CHECK(std::chrono::steady_clock::now() - start < 350ms);  // not after the slow tasks
  }
  CHECK(std::vector<int>(ex.map(nap, std::vector<int>{1, 2}, {.timeout = 30s})) ==
        std::vector<int>{1, 2});
  CHECK(ex.submit(add, 1L, 2L).get() == 3);
  CHECK_THROWS_AS((void)ex.map(nap, std::vector<int>{1}, {.timeout = -1s}), std::invalid_argument);
}

namespace {

// Maps square over 0, 1, 2, ... and leaves the loop after `stop` results (which cancels the
// tasks not sent yet); counts the items the map read in `read`. Returns the results seen.
int squares_until(mpp::mpi::Executor& ex, int stop, std::size_t& read,
                  const mpp::mpi::ExecutorMapOptions& options = {}) {
  auto counted = std::views::iota(0) | std::views::transform([&read](int x) {
                   ++read;
                   return x;
                 });
  int seen = 0;
  for (const int r : ex.map(square, counted, options)) {
    CHECK(r == seen * seen);
    if (++seen == stop) break;
  }
  return seen;
}

}  // namespace

TEST_CASE("executor: map is lazy, and reads an unbounded input only as far as its buffer") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::size_t read = 0;
  const int seen = squares_until(ex, 1000, read, {.chunksize = 3, .buffersize = 4});
  CHECK(seen == 1000);
  // What the loop used, and at most `buffersize` chunks of `chunksize` items beyond it.
  CHECK(read <= 1000 + 3 * 4 + 3);
  CHECK(ex.submit(add, 1L, 2L).get() == 3);  // still usable after the early stop
}

TEST_CASE(
    "executor: tiny tasks widen each worker's window, and another function after them starts "
    "narrow") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  std::size_t read = 0;
  CHECK(squares_until(ex, 5000, read) == 5000);
  // The default buffer is twice the window, at most 64 tasks per worker thread.
  CHECK(read <= 5000 + 2 * 64 * static_cast<std::size_t>(std::max(1, ex.num_workers())));
  // Long tasks of another function go out 4 per thread, even while the last tiny ones are still
  // on their way back, so a task behind them still waits on the root, where it can be cancelled.
  auto blockers = mpp_test::occupy(ex);
  auto queued = ex.submit(nap, 1);
  CHECK(queued.cancel());
  for (auto& b : blockers) CHECK(b.get() == 50);
}

TEST_CASE("executor: map yields the results before a failing item, then its exception") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<int> got;
  try {
    for (const int r : ex.map(cursed, std::views::iota(0, 100), {.buffersize = 8})) {
      got.push_back(r);
    }
    FAIL("no exception");
  } catch (const std::exception& e) {  // RemoteError, or the task's own with one rank
    CHECK(std::string(e.what()).find("42 is cursed") != std::string::npos);
  }
  REQUIRE(got.size() == 42);
  for (int i = 0; i < 42; ++i) CHECK(got[static_cast<std::size_t>(i)] == i);
  CHECK(ex.submit(add, 1L, 2L).get() == 3);
}

TEST_CASE("executor: a task's exception reaches its future") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  auto f = ex.submit(cursed, 42);
  if (ex.size() > 1) {
    try {
      f.get();
      FAIL("no exception");
    } catch (const mpp::mpi::RemoteError& e) {
      CHECK(e.rank() >= 1);
      CHECK(e.type_name() == "std::domain_error");
      CHECK(e.message() == "42 is cursed");
    }
    try {
      (void)std::vector<int>(ex.map(cursed, std::views::iota(0, 100), {.chunksize = 7}));
      FAIL("no exception");
    } catch (const mpp::mpi::RemoteError& e) {
      CHECK(e.item() == std::optional<std::size_t>(42));
    }
  } else {  // one rank: the local pool's own exception
    CHECK_THROWS_AS(f.get(), std::domain_error);
    CHECK_THROWS_AS((void)std::vector<int>(ex.map(cursed, std::views::iota(0, 100))),
                    std::domain_error);
  }
  CHECK(ex.submit(add, 1L, 2L).get() == 3);  // still usable
}

TEST_CASE("executor: shutdown cancels what was not sent, and refuses new tasks") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<int>> futures;
  for (int i = 0; i < 200; ++i) futures.push_back(ex.submit(slow, i));
  ex.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  int cancelled = 0;
  for (int i = 0; i < 200; ++i) {
    auto& f = futures[static_cast<std::size_t>(i)];
    if (f.cancelled()) {
      ++cancelled;
      CHECK_THROWS_AS(f.get(), mpp::CancelledError);
    } else {
      CHECK(f.get() == i);
    }
  }
  CHECK(cancelled > 0);  // with one rank too: tasks wait in the queue there as well
  CHECK_THROWS_AS((void)ex.submit(slow, 1), mpp::PoolStateError);
}

TEST_CASE("executor: an unregistered function is refused") {
  mpp::mpi::Executor ex({.threads = 1});
  if (ex.serve()) return;
  CHECK_THROWS_AS((void)ex.submit(square, 3), mpp::mpi::UsageError);
}

TEST_CASE("executor: max_workers limits the ranks that get tasks") {
  CHECK_THROWS_AS(mpp::mpi::Executor({.max_workers = 0}), std::invalid_argument);  // every rank
  for (const bool from_environment : {false, true}) {
    CAPTURE(from_environment);
    if (from_environment) setenv("MPP_MAX_WORKERS", "1", 1);
    mpp::mpi::ExecutorOptions options{.threads = 1};
    if (!from_environment) options.max_workers = 1;
    mpp::mpi::Executor ex(options);
    unsetenv("MPP_MAX_WORKERS");
    register_all(ex);
    if (!ex.serve()) {
      CHECK(ex.num_workers() == 1);
      const std::vector<int> ranks = ex.map(which_rank, std::views::iota(0, 24));
      CHECK(std::set<int>(ranks.begin(), ranks.end()) == std::set<int>{ex.size() > 1 ? 1 : 0});
    }
  }
  setenv("MPP_MAX_WORKERS", "none", 1);
  CHECK_THROWS_WITH_AS(mpp::mpi::Executor(), doctest::Contains("MPP_MAX_WORKERS"),
                       std::invalid_argument);
  unsetenv("MPP_MAX_WORKERS");
}

TEST_CASE("executor: with root_computes the root takes its share of the tasks") {
  mpp::mpi::Executor ex({.threads = 1, .root_computes = true});
  register_all(ex);
  if (ex.serve()) return;
  CHECK(ex.num_workers() == ex.size());
  const std::vector<int> ranks = ex.map(which_rank, std::views::iota(0, 8 * ex.size()));
  const std::set<int> seen(ranks.begin(), ranks.end());
  CHECK(seen.contains(0));
  CHECK(static_cast<int>(seen.size()) == ex.size());
  // A failure on the root reads as one on a worker would.
  std::vector<mpp::mpi::Future<int>> futures;
  for (int i = 0; i < 8 * ex.size(); ++i) futures.push_back(ex.submit(fails_on_root, i));
  int failed = 0;
  for (auto& f : futures) {
    try {
      (void)f.get();
    } catch (const mpp::mpi::RemoteError& e) {
      ++failed;
      CHECK(e.rank() == 0);
      CHECK(e.type_name() == "std::runtime_error");
    } catch (const std::runtime_error&) {
      ++failed;
      CHECK(ex.size() == 1);  // with one rank, the task's own exception
    }
  }
  CHECK(failed > 0);
}

TEST_CASE("executor: any rank can be the root, as MPICommExecutor(comm, root)") {
  int world_rank = 0, world_size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  CHECK_THROWS_WITH_AS(mpp::mpi::Executor({.root = world_size}),
                       doctest::Contains("is not a rank of the communicator"),
                       std::invalid_argument);  // on every rank, which stay in step
  const int root = world_size - 1;
  mpp::mpi::Executor ex({.threads = 1, .root = root});
  register_all(ex);
  CHECK(ex.rank() == world_rank);
  CHECK(ex.is_root() == (world_rank == root));
  if (ex.serve()) return;
  const std::vector<int> ranks = ex.map(which_rank, std::views::iota(0, 6 * world_size));
  std::set<int> expected;
  for (int r = 0; r < world_size; ++r) {
    if (r != root || world_size == 1) expected.insert(r);
  }
  CHECK(std::set<int>(ranks.begin(), ranks.end()) == expected);
  // A worker's failure names its rank in the given communicator.
  if (world_size > 1) {
    try {
      (void)ex.submit(cursed, 42).get();
      FAIL("expected a RemoteError");
    } catch (const mpp::mpi::RemoteError& e) {
      CHECK(e.rank() != root);
      CHECK(expected.contains(e.rank()));
    }
  }
}

TEST_CASE("executor: several executors at once, each on its own communicator") {
  // Every worker serves one executor at a time, so executors that run at once need disjoint
  // ranks: split the job, as an MPI program splits it for any two concurrent jobs.
  int world_rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &half);
  {
    mpp::mpi::Executor ex({.threads = 1, .comm = half});
    register_all(ex);
    if (!ex.serve()) {
      const std::vector<int> ranks = ex.map(which_rank, std::views::iota(0, 12));
      for (int r : ranks) CHECK(r % 2 == world_rank % 2);  // only this half's ranks ran them
      CHECK(ex.submit(add, 2L, 3L).get() == 5);
    }
  }
  MPI_Comm_free(&half);
}

namespace {

// One part of an MPI-parallel job: the sum of every task's x over the workers' communicator,
// times 100, plus this task's rank in it.
long parallel_part(long x) {
  MPI_Comm workers = mpp::mpi::comm_workers();
  long sum = 0;
  MPI_Allreduce(&x, &sum, 1, MPI_LONG, MPI_SUM, workers);
  int rank = 0;
  MPI_Comm_rank(workers, &rank);
  return 100 * sum + rank;
}

}  // namespace

TEST_CASE("executor: submit_parallel runs one task per worker, which share comm_workers()") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  ex.register_function("parallel_part", parallel_part);
  if (ex.serve()) return;
  CHECK_THROWS_AS((void)mpp::mpi::comm_workers(), mpp::mpi::UsageError);  // not in a task
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_MULTIPLE) {
    CHECK_THROWS_WITH_AS((void)ex.submit_parallel(parallel_part, 1L),
                         doctest::Contains("MPI_THREAD_MULTIPLE"), mpp::mpi::UsageError);
    return;
  }
  for (int round = 0; round < 3; ++round) {  // again and again, beside other work
    std::vector<mpp::mpi::Future<long>> busy;
    for (int i = 0; i < ex.num_workers(); ++i) busy.push_back(ex.submit(add, 1L, 1L));
    auto parts = ex.submit_parallel(parallel_part, 1L);
    REQUIRE(static_cast<int>(parts.size()) == ex.num_workers());
    for (int i = 0; i < static_cast<int>(parts.size()); ++i) {
      CHECK(parts[static_cast<std::size_t>(i)].get() == 100L * ex.num_workers() + i);
    }
    for (auto& b : busy) CHECK(b.get() == 2);
  }
}
