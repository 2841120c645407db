// Continuations of mpp::mpi::Executor's futures, as mpi4py.futures has them: then and
// on_error, mpp::collect and mpp::compose. They run on the root's own pool once their sources
// are done, and cancellation passes through them as in mpi4py. Every rank enters each case; the
// workers serve inside it, the root submits and checks.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mpp/mpi.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "executor_tasks.hpp"

using namespace std::chrono_literals;

namespace {

using mpp_test::checked;
using mpp_test::nap;
using mpp_test::occupy;

void touch(int) {}

void register_all(mpp::mpi::Executor& ex) {
  ex.register_function("nap", nap);
  ex.register_function("checked", checked);
  ex.register_function("touch", touch);
}

// What a task's failure looks like on the root: its own exception with one rank, a RemoteError
// naming it with workers.
template <class T>
void check_task_failed(mpp::mpi::Future<T>& f, int ranks) {
  if (ranks == 1) {
    CHECK_THROWS_AS((void)f.get(), std::invalid_argument);
  } else {
    CHECK_THROWS_WITH_AS((void)f.get(), doctest::Contains("negative input"), mpp::mpi::RemoteError);
  }
}

}  // namespace

TEST_CASE("futures: then computes from the value on the root's pool, and chains") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto squared = ex.submit(checked, 7).then([](const int& v) { return v * v; });
  auto text = squared.then([](int v) { return std::to_string(v + 1); });
  CHECK(text.get() == "50");
  CHECK(squared.get() == 49);  // the sources stay readable

  // Never on the thread that waits, and also from a future that is done already.
  const auto here = std::this_thread::get_id();
  auto elsewhere = squared.then([here](int) { return std::this_thread::get_id() != here; });
  CHECK(elsewhere.get());
  CHECK(ex.submit(touch, 1).then([] { return 5; }).get() == 5);  // void sources: f()

  mpp::mpi::Future<int> empty;
  CHECK_FALSE(empty.valid());
  CHECK_THROWS_AS((void)empty.then([](int v) { return v; }), std::logic_error);
  CHECK_THROWS_AS((void)empty.get(), std::logic_error);
  CHECK_THROWS_AS((void)empty.cancelled(), std::logic_error);
}

TEST_CASE("futures: a failure passes through then; on_error turns it into a value") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto bad = ex.submit(checked, -1);
  auto passed = bad.then([calls](int v) {
    ++*calls;
    return v;
  });
  check_task_failed(passed, ex.size());
  CHECK(calls->load() == 0);  // f is not called for a failed source

  CHECK(bad.on_error([](std::exception_ptr) { return -1; }).get() == -1);
  CHECK(ex.submit(checked, 3).on_error([](std::exception_ptr) { return -1; }).get() == 3);
  auto kept = bad.on_error([](std::exception_ptr e) -> int { std::rethrow_exception(e); });
  check_task_failed(kept, ex.size());

  // A continuation's own exception is the new future's, as thrown (it ran on the root).
  auto thrown = ex.submit(checked, 1).then([](int) -> int { throw std::runtime_error("boom"); });
  CHECK_THROWS_WITH_AS((void)thrown.get(), "boom", std::runtime_error);
  CHECK_FALSE(thrown.successful());
}

TEST_CASE("futures: cancellation passes forward through then, never backward") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto blockers = occupy(ex);
  auto queued = ex.submit(nap, 1);
  auto next = queued.then([](int v) { return v + 1; });
  REQUIRE(queued.cancel());
  CHECK(next.cancelled());
  CHECK_THROWS_AS((void)next.get(), mpp::CancelledError);

  auto source = ex.submit(nap, 2);
  auto dropped = source.then([](int v) { return v + 1; });
  REQUIRE(dropped.cancel());  // not started: its source is not done
  CHECK(dropped.cancelled());
  CHECK_FALSE(source.cancelled());
  CHECK(source.get() == 2);
  for (auto& b : blockers) CHECK(b.get() == 50);
}

TEST_CASE("futures: collect gathers the values in order, and a failure ends it at once") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<int>> parts{ex.submit(nap, 30), ex.submit(nap, 1),
                                           ex.submit(nap, 10)};
  auto all = mpp::collect(parts);
  CHECK(all.get() == std::vector<int>{30, 1, 10});
  CHECK(parts[0].get() == 30);

  std::vector<mpp::mpi::Future<int>> mixed{ex.submit(nap, 600), ex.submit(checked, -1)};
  auto failed = mpp::collect(mixed);
  check_task_failed(failed, ex.size());
  CHECK_FALSE(mixed[0].done());  // it did not wait for the slow one
  CHECK(mixed[0].get() == 600);

  CHECK_THROWS_AS((void)mpp::collect(std::vector<mpp::mpi::Future<int>>{}), std::invalid_argument);
}

TEST_CASE("futures: cancelling a collect cancels its inputs; a cancelled input cancels it") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  auto blockers = occupy(ex);
  std::vector<mpp::mpi::Future<int>> queued{ex.submit(nap, 1), ex.submit(nap, 2)};
  auto both = mpp::collect(queued);
  REQUIRE(both.cancel());
  CHECK(queued[0].cancelled());
  CHECK(queued[1].cancelled());

  std::vector<mpp::mpi::Future<int>> more{blockers[0], ex.submit(nap, 3)};
  auto later = mpp::collect(more);
  REQUIRE(more[1].cancel());
  CHECK(later.cancelled());
  CHECK_FALSE(blockers[0].cancelled());
  for (auto& b : blockers) CHECK(b.get() == 50);
}

TEST_CASE("futures: compose calls the hook that matches; cancelling it cancels the source") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  const auto doubled = [](int v) { return 2 * v; };
  const auto fallback = [](std::exception_ptr) { return -1; };
  CHECK(mpp::compose(ex.submit(checked, 4), doubled, fallback).get() == 8);
  CHECK(mpp::compose(ex.submit(checked, -4), doubled, fallback).get() == -1);
  CHECK(mpp::compose(ex.submit(checked, 4)).get() == 4);  // both hooks default: passed on
  auto unhandled = mpp::compose(ex.submit(checked, -4), doubled);
  check_task_failed(unhandled, ex.size());

  auto blockers = occupy(ex);
  auto queued = ex.submit(nap, 1);
  auto composed = mpp::compose(queued, doubled);
  REQUIRE(composed.cancel());
  CHECK(queued.cancelled());
  for (auto& b : blockers) CHECK(b.get() == 50);
}

TEST_CASE("futures: continuations can be waited on together, and shutdown waits for them") {
  mpp::mpi::Executor ex({.threads = 2});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<mpp::mpi::Future<int>> next;
  for (int ms : {200, 1, 20}) next.push_back(ex.submit(nap, ms).then([](int v) { return v + 1; }));
  const auto first = mpp::wait(next, mpp::wait_for::first_completed);
  CHECK_FALSE(first.done.empty());
  std::vector<int> seen;
  for (auto& f : mpp::as_completed(next)) seen.push_back(f.get());
  CHECK(seen.size() == 3);
  CHECK(seen.back() == 201);

  auto ran = std::make_shared<std::atomic<bool>>(false);
  auto last = ex.submit(nap, 20).then([ran](int v) {
    std::this_thread::sleep_for(20ms);
    ran->store(true);
    return v;
  });
  ex.shutdown();
  CHECK(ran->load());
  CHECK(last.get() == 20);
}
