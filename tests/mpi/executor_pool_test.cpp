// mpp::mpi::Executor as a Pool: the verbs of mpp::Pool (and of mpi4py.util.pool.Pool, which
// wraps MPIPoolExecutor the same way) on the driver-model executor — apply, apply_async with
// callbacks, map_async, starmap_async, imap, imap_unordered, istarmap, istarmap_unordered,
// close, join, terminate — and add_done_callback on its futures. A program written against
// mpp::Pool runs on the executor by changing the type it is given. Every rank enters each case;
// the workers serve inside it, the root submits and checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mpp/mpi.hpp>
#include <mpp/mpp.hpp>
#include <numeric>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "executor_tasks.hpp"

using namespace std::chrono_literals;

namespace {

long square(long x) {
  return x * x;
}
long add(long a, long b) {
  return a + b;
}
using mpp_test::checked;
using mpp_test::nap;
using mpp_test::occupy;

// The rank of MPI_COMM_WORLD that runs it.
int rank_of(int) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

void register_all(mpp::mpi::Executor& ex) {
  ex.register_function("rank_of", rank_of);
  ex.register_function("square", square);
  ex.register_function("add", add);
  ex.register_function("checked", checked);
  ex.register_function("nap", nap);
}

// One program for both pools: only the type it is given differs.
template <class AnyPool>
long pipeline(AnyPool& pool) {
  const std::vector<long> xs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  const std::vector<long> squares = pool.map(square, xs, {.chunksize = 3});
  long total = std::accumulate(squares.begin(), squares.end(), 0L);
  for (long s : pool.imap(square, xs)) total += s;
  for (long s : pool.imap_unordered(square, xs)) total += s;
  const std::vector<std::pair<long, long>> pairs = {{1, 2}, {3, 4}};
  const std::vector<long> sums = pool.starmap(add, pairs);
  total += sums[0] + sums[1];
  total += pool.apply(add, 1L, 2L) + pool.apply_async(add, 3L, 4L).get();
  const std::vector<long> later = pool.map_async(square, xs).get();
  return total + std::accumulate(later.begin(), later.end(), 0L);
}

// Both pools' handles share one interface (mpp::result_handle), so code that handles results
// is written once too.
static_assert(mpp::result_handle<mpp::mpi::Future<long>>);
static_assert(mpp::result_handle<mpp::AsyncResult<long>>);

template <class AnyPool>
int failed_of_ten(AnyPool& pool) {
  std::vector<decltype(pool.apply_async(checked, 0))> results;
  for (int i = 0; i < 10; ++i) results.push_back(pool.apply_async(checked, i % 4 == 0 ? -i : i));
  int failed = 0;
  for (auto& r : results) {
    CHECK(r.wait(60s));
    CHECK(r.done());
    CHECK_FALSE(r.cancelled());
    failed += r.successful() ? 0 : 1;
  }
  return failed;
}

}  // namespace

TEST_CASE("executor pool: the results of both pools are handled by one piece of code") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  mpp::Pool local(2);
  CHECK(failed_of_ten(local) == 2);  // checked(-4), checked(-8) throw; checked(0) does not
  CHECK(failed_of_ten(ex) == 2);
}

TEST_CASE("executor pool: a program written for mpp::Pool runs on the executor unchanged") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  mpp::Pool local(2);
  const long expected = 4 * 385 + 3 + 7 + 3 + 7;
  CHECK(pipeline(local) == expected);
  CHECK(pipeline(ex) == expected);
}

TEST_CASE("executor pool: apply_async takes options and Python's callbacks") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto seen = std::make_shared<std::atomic<long>>(0);
  auto failures = std::make_shared<std::atomic<int>>(0);
  auto r = ex.apply_async(mpp::callbacks([seen](const long& v) { seen->store(v); }), square, 6L);
  CHECK(r.get() == 36);
  CHECK(seen->load() == 36);  // the callback ran before the result was ready

  auto bad = ex.apply_async(
      mpp::callbacks(mpp::NoCallback{}, [failures](std::exception_ptr) { ++*failures; }), checked,
      -1);
  CHECK_THROWS_WITH(bad.get(), doctest::Contains("negative input -1"));
  CHECK(failures->load() == 1);
  CHECK(ex.apply_async({.timeout = 10s}, checked, 5).get() == 5);
}

TEST_CASE("executor pool: map_async and starmap_async give one future of every result") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<long> xs(50);
  std::iota(xs.begin(), xs.end(), 0L);
  std::vector<long> expected;
  for (long x : xs) expected.push_back(x * x);
  auto all = ex.map_async(square, xs, {.chunksize = 7});
  CHECK(all.get() == expected);
  CHECK(all.successful());

  auto count = std::make_shared<std::atomic<std::size_t>>(0);
  auto noted =
      ex.map_async(square, xs, {},
                   mpp::callbacks([count](const std::vector<long>& v) { count->store(v.size()); }));
  CHECK(noted.get().size() == xs.size());
  CHECK(count->load() == xs.size());

  const std::vector<std::tuple<long, long>> pairs = {{1, 2}, {3, 4}, {5, 6}};
  CHECK(ex.starmap_async(add, pairs).get() == std::vector<long>{3, 7, 11});
  CHECK(ex.map_async(square, std::vector<long>{}).get().empty());

  // The first failure is the future's, naming the item.
  auto failed = ex.map_async(checked, std::vector<int>{1, 2, -3, 4}, {.chunksize = 1});
  CHECK_THROWS_WITH(failed.get(), doctest::Contains("negative input -3"));
}

TEST_CASE("executor pool: map_async without a chunksize cuts Python's chunks of a sized input") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  // Python's Pool.map: about four chunks per thread, here one thread per rank that computes.
  const int computing = std::max(1, ex.num_workers());
  const auto ranks = ex.map_async(rank_of, std::views::iota(0, 1000)).get();
  REQUIRE(ranks.size() == 1000);
  // A chunk runs on one rank, so the results change rank at most once per chunk.
  int runs = 1;
  for (std::size_t i = 1; i < ranks.size(); ++i) runs += ranks[i] != ranks[i - 1] ? 1 : 0;
  CHECK(runs <= 4 * computing);
  // An input without a size goes in chunks of one; the results are the same.
  auto unsized = std::views::iota(0L, 100L) | std::views::filter([](long) { return true; });
  const auto squares = ex.map_async(square, unsized).get();
  REQUIRE(squares.size() == 100);
  for (std::size_t i = 0; i < squares.size(); ++i) CHECK(squares[i] == long(i * i));
  CHECK_THROWS_AS((void)ex.map_async(square, unsized, {.chunksize = 0}), std::invalid_argument);
}

TEST_CASE("executor pool: cancelling a map_async cancels its chunks that have not started") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto blockers = occupy(ex);
  auto queued = ex.map_async(checked, std::vector<int>{1, 2, 3, 4}, {.chunksize = 1});
  REQUIRE(queued.cancel());
  CHECK(queued.cancelled());
  CHECK_THROWS_AS((void)queued.get(), mpp::CancelledError);
  for (auto& b : blockers) CHECK(b.get() == 50);
}

TEST_CASE("executor pool: imap, imap_unordered, istarmap and istarmap_unordered stream") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<long> xs(30);
  std::iota(xs.begin(), xs.end(), 0L);
  std::vector<long> in_order;
  for (long v : ex.imap(square, xs, {.chunksize = 4})) in_order.push_back(v);
  std::vector<long> any_order;
  for (long v : ex.imap_unordered(square, xs)) any_order.push_back(v);
  std::ranges::sort(any_order);
  CHECK(in_order == any_order);
  CHECK(in_order[29] == 29 * 29);

  const std::vector<std::pair<long, long>> pairs = {{1, 1}, {2, 2}, {3, 3}};
  std::vector<long> sums;
  for (long v : ex.istarmap(add, pairs)) sums.push_back(v);
  CHECK(sums == std::vector<long>{2, 4, 6});
  sums.clear();
  for (long v : ex.istarmap_unordered(add, pairs)) sums.push_back(v);
  std::ranges::sort(sums);
  CHECK(sums == std::vector<long>{2, 4, 6});
}

TEST_CASE("executor pool: close refuses new work, join waits, terminate cancels the queue") {
  {
    mpp::mpi::Executor ex({.threads = 1});
    register_all(ex);
    if (!ex.serve()) {  // the workers go on to the next executor once this one is joined
      auto running = ex.apply_async(nap, 20);
      CHECK_THROWS_AS(ex.join(), mpp::PoolStateError);  // not closed yet
      ex.close();
      CHECK_THROWS_AS((void)ex.apply_async(nap, 1), mpp::PoolStateError);
      ex.join();
      CHECK(running.done());
      CHECK(running.get() == 20);
    }
  }
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto blockers = occupy(ex);
  auto queued = ex.apply_async(nap, 1);
  ex.terminate();
  CHECK(queued.cancelled());
  for (auto& b : blockers) CHECK(b.get() == 50);  // those running finished
}

TEST_CASE("executor pool: add_done_callback runs once the future is done, on the root's pool") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto value = std::make_shared<std::atomic<long>>(0);
  auto f = ex.submit(square, 9L);
  f.add_done_callback([calls, value](mpp::mpi::Future<long>& done) {
    value->store(done.get());
    ++*calls;
  });
  CHECK(f.get() == 81);
  ex.shutdown();  // waits for the callbacks too
  CHECK(calls->load() == 1);
  CHECK(value->load() == 81);
  // Added after the future is done: it still runs, once; one that throws is reported, not fatal.
  f.add_done_callback([calls](mpp::mpi::Future<long>&) { ++*calls; });
  f.add_done_callback([](mpp::mpi::Future<long>&) { throw std::runtime_error("in a callback"); });
  CHECK(f.get() == 81);
  f.wait();
  for (int i = 0; i < 1000 && calls->load() < 2; ++i) {
    (void)f.done();
    std::this_thread::sleep_for(1ms);
  }
  CHECK(calls->load() == 2);
}

TEST_CASE("executor pool: imap's next(timeout) gives up on one call, and the map goes on") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto results = ex.imap(nap, std::vector<int>{300, 1, 2});
  CHECK_THROWS_AS((void)results.next(20ms), mpp::TimeoutError);  // the 300 ms task is first
  CHECK(results.next(5s) == std::optional<int>(300));            // the same result, later
  CHECK(results.next() == std::optional<int>(1));
  CHECK(results.next(5s) == std::optional<int>(2));
  CHECK_FALSE(results.next(5s).has_value());  // exhausted
  CHECK_FALSE(results.next().has_value());

  auto failing = ex.imap_unordered(checked, std::vector<int>{-1});
  CHECK_THROWS_WITH((void)failing.next(5s), doctest::Contains("negative input -1"));
  CHECK_FALSE(failing.next(5s).has_value());  // the failure ended it
}
