// Cancelling a result, Python's concurrent.futures.Future.cancel():
//
//     >>> f = executor.submit(slow)     # queued behind busy workers
//     >>> f.cancel()                    # True: it will never run
//     >>> f.cancelled(), f.done()       # (True, True)
//     >>> f.result()                    # raises CancelledError
//     >>> running.cancel()              # False: a started task is left alone
//
// In mpp: r.cancel(), r.cancelled(), r.done(); get() throws mpp::CancelledError.

#include <doctest/doctest.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mpp/mpp.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {
// Occupies the single worker of a Pool(1) until `gate` is set, so that what is submitted next
// stays queued.
mpp::AsyncResult<void> block_worker(mpp::Pool& pool, mpp_test::Event& started,
                                    mpp_test::Event& gate) {
  auto blocker = pool.apply_async([&] {
    started.set();
    (void)gate.wait();
  });
  REQUIRE(started.wait());
  return blocker;
}
}  // namespace

TEST_CASE("cancel: a queued task never runs, and get() throws mpp::CancelledError") {
  mpp::Pool pool(1);
  mpp_test::Event started, gate;
  auto blocker = block_worker(pool, started, gate);
  std::atomic<bool> ran{false};
  auto r = pool.apply_async([&] {
    ran = true;
    return 1;
  });
  CHECK_FALSE(r.done());
  CHECK(r.cancel());
  // Complete at once, without waiting for a worker.
  CHECK(r.done());
  CHECK(r.ready());
  CHECK(r.cancelled());
  CHECK_FALSE(r.successful());
  CHECK_THROWS_AS((void)r.get(), mpp::CancelledError);
  static_assert(std::is_base_of_v<std::runtime_error, mpp::CancelledError>);
  try {
    (void)r.get();
  } catch (const mpp::CancelledError& e) {
    CHECK(std::string(e.what()).find("cancelled") != std::string::npos);
    CHECK(std::string(e.what()).find("before it started") != std::string::npos);
  }
  CHECK_FALSE(r.cancel());  // once is enough
  gate.set();
  blocker.get();
  pool.close();
  pool.join();
  CHECK_FALSE(ran);
}

TEST_CASE("cancel: a running or finished task is left alone and cancel() returns false") {
  mpp::Pool pool(2);
  mpp_test::Event started, gate;
  auto running = pool.apply_async([&] {
    started.set();
    return gate.wait() ? 7 : -1;
  });
  REQUIRE(started.wait());
  CHECK_FALSE(running.cancel());
  gate.set();
  CHECK(running.get() == 7);
  CHECK_FALSE(running.cancelled());
  CHECK_FALSE(running.cancel());  // finished
  CHECK(running.get() == 7);
}

TEST_CASE("cancel: error_callback gets the mpp::CancelledError, as Python's callbacks do") {
  mpp::Pool pool(1);
  mpp_test::Event started, gate;
  auto blocker = block_worker(pool, started, gate);
  std::atomic<int> values{0};
  std::atomic<int> cancellations{0};
  auto r = pool.apply_async(mpp::callbacks([&](int) { ++values; },
                                           [&](std::exception_ptr error) {
                                             try {
                                               std::rethrow_exception(error);
                                             } catch (const mpp::CancelledError&) {
                                               ++cancellations;
                                             } catch (...) {
                                             }
                                           }),
                            [] { return 1; });
  REQUIRE(r.cancel());
  // The callback ran on the cancelling thread before cancel() returned.
  CHECK(cancellations == 1);
  CHECK(values == 0);
  gate.set();
  blocker.get();
}

TEST_CASE("cancel: the task's function and what it captured are released at once") {
  mpp::Pool pool(1);
  mpp_test::Event started, gate;
  auto blocker = block_worker(pool, started, gate);
  auto payload = std::make_shared<int>(42);
  std::weak_ptr<int> watch = payload;
  auto r = pool.apply_async([payload = std::move(payload)] { return *payload; });
  CHECK_FALSE(watch.expired());
  REQUIRE(r.cancel());
  CHECK(watch.expired());  // the handle keeps the result, not the function
  gate.set();
  blocker.get();
}

TEST_CASE("cancel: an unstarted map_async is cancelled whole") {
  mpp::Pool pool(1);
  mpp_test::Event started, gate;
  auto blocker = block_worker(pool, started, gate);
  std::atomic<int> calls{0};
  auto r = pool.map_async(
      [&](int x) {
        ++calls;
        return x;
      },
      std::vector<int>(100, 1));
  REQUIRE(r.cancel());
  CHECK_THROWS_AS((void)r.get(), mpp::CancelledError);
  gate.set();
  blocker.get();
  pool.close();
  pool.join();
  CHECK(calls == 0);
}

TEST_CASE("cancel: a running map_async stops handing out chunks and completes cancelled") {
  mpp::Pool pool(2);
  mpp_test::Event started, gate;
  std::atomic<int> calls{0};
  constexpr int items = 1'000;
  auto r = pool.map_async(
      [&](int x) {
        started.set();
        (void)gate.wait();
        ++calls;
        return x;
      },
      std::vector<int>(items, 1), {.chunksize = 1});
  REQUIRE(started.wait());
  CHECK(r.cancel());  // running, but its chunks not started can still be skipped
  CHECK_FALSE(r.cancel());
  gate.set();
  CHECK_THROWS_AS((void)r.get(mpp_test::patience), mpp::CancelledError);
  CHECK(r.cancelled());
  CHECK(calls < items);
  // A map_async that has finished is left alone.
  auto done = pool.map_async([](int x) { return x; }, std::vector<int>(10, 2));
  CHECK(done.get().size() == 10);
  CHECK_FALSE(done.cancel());
}

TEST_CASE("cancel: a task submitted by a task, still in its thread's deque, can be cancelled") {
  mpp::Pool pool(1);
  const bool cancelled_inside = pool.apply([&] {
    auto child = pool.apply_async([] { return 1; });
    const bool cancelled = child.cancel();
    bool threw = false;
    try {
      (void)child.get();
    } catch (const mpp::CancelledError&) {
      threw = true;
    }
    return cancelled && threw;
  });
  CHECK(cancelled_inside);
}

TEST_CASE("cancel: racing the task's start, exactly one of them wins") {
  // Many rounds of a cancel issued while a worker may be starting the very same task: either
  // the task ran and cancel() returned false, or it never ran and the result is cancelled.
  // `ran` is a plain bool on purpose: the result's completion must publish it (TSan checks).
  mpp::Pool pool(2);
  constexpr int rounds = 2'000;
  int cancelled = 0;
  for (int round = 0; round < rounds; ++round) {
    bool ran = false;
    auto r = pool.apply_async([&ran] {
      ran = true;
      return 3;
    });
    if (round % 3 == 0) std::this_thread::yield();
    const bool won = r.cancel();
    REQUIRE(r.wait(mpp_test::patience));
    CHECK(won == r.cancelled());
    CHECK(won != ran);
    if (won) {
      ++cancelled;
      CHECK_THROWS_AS((void)r.get(), mpp::CancelledError);
    } else {
      CHECK(r.get() == 3);
    }
  }
  MESSAGE(cancelled << " of " << rounds << " rounds cancelled");
}

TEST_CASE("cancel: several threads cancel one result; exactly one succeeds") {
  mpp::Pool pool(1);
  for (int round = 0; round < 200; ++round) {
    mpp_test::Event started, gate;
    auto blocker = block_worker(pool, started, gate);
    auto r = pool.apply_async([] { return 1; });
    std::atomic<int> wins{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&, r] { wins += r.cancel() ? 1 : 0; });
    }
    for (auto& t : threads) t.join();
    CHECK(wins == 1);
    gate.set();
    blocker.get();
  }
}

TEST_CASE("cancel: join and the destructor still work with cancelled tasks") {
  std::vector<mpp::AsyncResult<int>> results;
  std::atomic<int> ran{0};
  {
    mpp::Pool pool(2);
    for (int i = 0; i < 1'000; ++i) {
      results.push_back(pool.apply_async([&ran, i] {
        ++ran;
        return i;
      }));
    }
    for (int i = 0; i < 1'000; i += 2) (void)results[i].cancel();
  }  // closes and joins
  int cancelled = 0;
  for (int i = 0; i < 1'000; ++i) {
    REQUIRE(results[i].ready());
    if (results[i].cancelled()) {
      ++cancelled;
    } else {
      CHECK(results[i].get() == i);
    }
  }
  CHECK(cancelled + ran == 1'000);
}

TEST_CASE("cancelled() also holds for tasks that terminate() cancelled") {
  mpp::Pool pool(1);
  mpp_test::Event started, gate;
  auto blocker = block_worker(pool, started, gate);
  auto queued = pool.apply_async([] { return 1; });
  std::thread releaser([&] {
    std::this_thread::sleep_for(20ms);
    gate.set();
  });
  pool.terminate();
  releaser.join();
  CHECK(queued.cancelled());
  CHECK_FALSE(blocker.cancelled());
}

TEST_CASE("cancel on an empty handle throws std::logic_error") {
  mpp::AsyncResult<int> empty;
  CHECK_THROWS_AS((void)empty.cancel(), std::logic_error);
}
