// mpp::wait and mpp::as_completed over mpp::mpi::Executor's futures, as over local results:
// mpi4py.futures' programs use concurrent.futures.wait and as_completed unchanged, and so do
// mpp's. Every rank enters each case; the workers serve inside it, the root submits and checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <mpp/mpi.hpp>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

#include "executor_tasks.hpp"

using namespace std::chrono_literals;

namespace {

using mpp_test::checked;
using mpp_test::nap;

void register_all(mpp::mpi::Executor& ex) {
  ex.register_function("nap", nap);
  ex.register_function("checked", checked);
}

}  // namespace

TEST_CASE("futures: as_completed yields every future once, as each completes") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<int>> futures;
  futures.push_back(ex.submit(nap, 400));
  for (int i = 0; i < 7; ++i) futures.push_back(ex.submit(nap, 1));
  std::vector<int> order;
  for (auto& f : mpp::as_completed(futures)) order.push_back(f.get());
  REQUIRE(order.size() == 8);
  CHECK(order.back() == 400);  // the slow one last, though submitted first
  CHECK(std::ranges::count(order, 1) == 7);
  // Done futures come first, in their order, and none is yielded twice.
  std::vector<int> again;
  for (auto& f : mpp::as_completed(futures)) again.push_back(f.get());
  CHECK(again == std::vector<int>{400, 1, 1, 1, 1, 1, 1, 1});
}

TEST_CASE("futures: wait returns at the first completion, the first exception, or all") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<int>> futures{ex.submit(nap, 400), ex.submit(nap, 1)};
  auto [done, not_done] = mpp::wait(futures, mpp::wait_for::first_completed);
  CHECK(done == std::vector<std::size_t>{1});
  CHECK(not_done == std::vector<std::size_t>{0});
  CHECK(futures[1].ready());
  CHECK(futures[1].successful());

  const auto all = mpp::wait(futures);  // all_completed
  CHECK(all.done == std::vector<std::size_t>{0, 1});
  CHECK(all.not_done.empty());

  std::vector<mpp::mpi::Future<int>> mixed{ex.submit(nap, 400), ex.submit(checked, -1)};
  const auto failed = mpp::wait(mixed, mpp::wait_for::first_exception);
  CHECK(failed.done == std::vector<std::size_t>{1});
  CHECK_FALSE(mixed[1].successful());
  CHECK_THROWS(mixed[1].get());  // std::invalid_argument on one rank, RemoteError with more
  CHECK(mixed[0].get() == 400);
}

TEST_CASE("futures: wait and as_completed give up at their timeout; the tasks go on") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<int>> futures{ex.submit(nap, 400)};
  const auto start = std::chrono::steady_clock::now();
  const auto timed = mpp::wait(futures, mpp::wait_for::all_completed, 30ms);
  CHECK(timed.not_done == std::vector<std::size_t>{0});
  CHECK(std::chrono::steady_clock::now() - start < 350ms);
  const auto read_all = [&] {
    for (auto& f : mpp::as_completed(futures, 30ms)) (void)f.get();
  };
  CHECK_THROWS_AS(read_all(), mpp::TimeoutError);
  CHECK(futures[0].get() == 400);
}

TEST_CASE("futures: a cancelled future is done and failed; an empty one is refused") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<int>> futures;
  for (int i = 0; i < 40; ++i) futures.push_back(ex.submit(nap, 5));
  // Each rank takes a few tasks at a time: the last one still waits in the root's queue.
  REQUIRE(futures.back().cancel());
  const auto failed = mpp::wait(futures, mpp::wait_for::first_exception);
  CHECK(std::ranges::find(failed.done, futures.size() - 1) != failed.done.end());
  CHECK(futures.back().ready());
  CHECK_FALSE(futures.back().successful());
  std::size_t yielded = 0;
  for (auto& f : mpp::as_completed(futures)) {
    ++yielded;
    if (!f.cancelled()) CHECK(f.get() == 5);
  }
  CHECK(yielded == futures.size());

  std::vector<mpp::mpi::Future<int>> empty(1);
  CHECK_THROWS_AS((void)mpp::wait(empty), std::logic_error);  // as for a local result
}

TEST_CASE("futures: local results and cluster futures are one type, and wait together") {
  static_assert(std::is_same_v<mpp::mpi::Future<int>, mpp::AsyncResult<int>>);
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  mpp::Pool pool(2);
  std::vector<mpp::AsyncResult<int>> all{ex.submit(nap, 400), pool.apply_async([] {
                                           std::this_thread::sleep_for(20ms);
                                           return 20;
                                         })};
  const auto first = mpp::wait(all, mpp::wait_for::first_completed);
  CHECK(first.done == std::vector<std::size_t>{1});  // the local one, though second
  std::vector<int> order;
  for (auto& f : mpp::as_completed(all)) order.push_back(f.get());
  CHECK(order == std::vector<int>{20, 400});
  CHECK(mpp::collect(all).get() == std::vector<int>{400, 20});
  CHECK(mpp::collect(pool, all).get() == std::vector<int>{400, 20});

  // A continuation on the local pool of a cluster future: waiting on it drives the executor.
  auto later = ex.submit(nap, 30).then(pool, [](int v) { return v + 1; });
  CHECK(later.get() == 31);
  std::vector<mpp::AsyncResult<int>> chained{
      ex.submit(nap, 10).then(pool, [](int v) { return -v; }), ex.submit(nap, 5)};
  CHECK(mpp::wait(chained).not_done.empty());
  CHECK(chained[0].get() == -10);
}
