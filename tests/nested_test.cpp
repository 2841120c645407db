// Tasks may use their own pool: call map inside a task, submit with apply_async and wait with
// get(), recurse. This never deadlocks, even at Pool(1): a thread of the pool that waits without a
// timeout for a task nobody has started runs that task itself; a timed wait only sleeps until its
// deadline. (Python's processes cannot do this; a thread pool should.) Every wait of the test
// itself is bounded, so a deadlock shows as a failure.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mpp/mpp.hpp>
#include <mutex>
#include <numeric>
#include <ranges>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

long long fib_reference(int n) {
  return n < 2 ? n : fib_reference(n - 1) + fib_reference(n - 2);
}

// Recursive Fibonacci where every call below the cutoff is a task of `pool` waited for by get().
long long fib(mpp::Pool& pool, int n) {
  if (n < 2) return n;
  auto a = pool.apply_async(fib, std::ref(pool), n - 1);
  auto b = pool.apply_async(fib, std::ref(pool), n - 2);
  return a.get() + b.get();
}

}  // namespace

TEST_CASE("recursive fib with apply_async and get() inside tasks does not deadlock") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.apply_async(fib, std::ref(pool), 16);
    REQUIRE(r.wait(mpp_test::patience));
    CHECK(r.get() == fib_reference(16));
    // Also when the top-level call is made directly by the caller.
    CHECK(fib(pool, 12) == fib_reference(12));
  }
}

TEST_CASE("waiting inside a task for a pending task of the same pool runs it on that thread") {
  mpp::Pool pool(1);
  // At one thread the awaited task can only run if the waiting task runs it.
  auto outer = pool.apply_async([&] {
    const auto here = std::this_thread::get_id();
    auto inner = pool.apply_async([] { return std::this_thread::get_id(); });
    return inner.get() == here;
  });
  REQUIRE(outer.wait(mpp_test::patience));
  CHECK(outer.get());
}

// Only an untimed wait helps. A timed wait keeps its deadline: running the awaited task inline
// could take any time, and the waiting thread may hold a lock that task needs.
TEST_CASE("a timed wait inside a task returns by its deadline and never runs the awaited task") {
  mpp::Pool pool(1);
  SUBCASE("get(timeout) on a task that has not started throws mpp::TimeoutError in time") {
    // Python: AsyncResult.get(timeout) raises TimeoutError after about `timeout`
    // (test_async_timeout).
    mpp_test::Event release;
    auto outer = pool.apply_async([&] {
      auto inner = pool.apply_async([&] { return release.wait(2s) ? 1 : -1; });
      const auto start = std::chrono::steady_clock::now();
      bool timed_out = false;
      try {
        (void)inner.get(10ms);
      } catch (const mpp::TimeoutError&) {
        timed_out = true;
      }
      const auto waited = std::chrono::steady_clock::now() - start;
      const bool ran_here = inner.ready();
      release.set();
      // The untimed get() runs the inner task here, before `release` goes out of scope.
      return timed_out && waited < 1s && !ran_here && inner.get() == 1;
    });
    REQUIRE(outer.wait(mpp_test::patience));
    CHECK(outer.get());
  }
  SUBCASE("wait(timeout) while holding a mutex the awaited task needs does not deadlock") {
    std::mutex mutex;
    // Takes the lock within 3 s; polls with try_lock, so that a self-deadlock fails, not hangs.
    const auto lock_briefly = [&] {
      return mpp_test::eventually(
          [&] {
            if (!mutex.try_lock()) return false;
            mutex.unlock();
            return true;
          },
          3s);
    };
    auto outer = pool.apply_async([&] {
      std::unique_lock lock(mutex);
      // Were it run here, inline, the inner task would wait for this very thread's lock.
      auto inner = pool.apply_async(lock_briefly);
      const auto start = std::chrono::steady_clock::now();
      const bool ready = inner.wait(50ms);
      const auto waited = std::chrono::steady_clock::now() - start;
      lock.unlock();
      // With the lock released, an untimed wait may run the inner task here.
      return !ready && waited < 1s && inner.get();
    });
    REQUIRE(outer.wait(mpp_test::patience));
    CHECK(outer.get());
  }
  SUBCASE("an untimed wait after a timed one still runs the pending task") {
    auto outer = pool.apply_async([&] {
      auto inner = pool.apply_async([] { return 3; });
      const bool ready_early = inner.wait(1ms);
      return (ready_early ? 100 : 0) + inner.get();
    });
    REQUIRE(outer.wait(mpp_test::patience));
    CHECK(outer.get() == 3);  // at Pool(1) only this thread can run it, after the timed wait
  }
}

TEST_CASE("map inside a task of the same pool") {
  for (int threads : {1, 2}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.apply_async([&] {
      auto squares = pool.map([](int x) { return x * x; }, std::views::iota(0, 1'000));
      return std::accumulate(squares.begin(), squares.end(), 0LL);
    });
    REQUIRE(r.wait(mpp_test::patience));
    CHECK(r.get() == 332'833'500LL);
  }
}

TEST_CASE("map inside map items, two levels deep") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto rows = pool.map(
        [&](int i) {
          auto row = pool.map([i](int j) { return i * j; }, std::views::iota(0, 50));
          return std::accumulate(row.begin(), row.end(), 0);
        },
        std::views::iota(0, 50), {.chunksize = 1});
    for (int i = 0; i < 50; ++i) CHECK(rows[static_cast<std::size_t>(i)] == i * 1'225);
  }
}

TEST_CASE("apply_async(...).get() inside map items does not deadlock") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.map_async(
        [&](int x) { return pool.apply_async([](int y) { return y + 1; }, x).get(); },
        std::views::iota(0, 2'000), {.chunksize = 1});
    REQUIRE(r.wait(mpp_test::patience));
    const auto& out = r.get();
    for (int x = 0; x < 2'000; ++x) CHECK(out[static_cast<std::size_t>(x)] == x + 1);
  }
}

TEST_CASE("map_async(...).get() and imap inside a task of the same pool") {
  for (int threads : {1, 2}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.apply_async([&] {
      auto inner = pool.map_async([](int x) { return x; }, std::views::iota(0, 100));
      int total = 0;
      for (int x : inner.get()) total += x;
      for (int x : pool.imap([](int x) { return x; }, std::views::iota(0, 100), {.chunksize = 7})) {
        total += x;
      }
      for (int x : pool.imap_unordered([](int x) { return x; }, std::views::iota(0, 100))) {
        total += x;
      }
      return total;
    });
    REQUIRE(r.wait(mpp_test::patience));
    CHECK(r.get() == 3 * 4'950);
  }
}

TEST_CASE("every thread of the pool blocked in a nested wait still makes progress") {
  // Each of the n running tasks waits for a task it submits; none of those can find a free thread,
  // so each waiter has to run its own.
  for (int threads : {1, 2, 3}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    mpp_test::Rendezvous all(threads);
    std::vector<mpp::AsyncResult<int>> rs;
    for (int i = 0; i < threads; ++i) {
      rs.push_back(pool.apply_async([&, i] {
        all.arrive_and_wait();  // all threads are now busy
        return pool.apply_async([i] { return i * 10; }).get();
      }));
    }
    for (int i = 0; i < threads; ++i) {
      REQUIRE(rs[static_cast<std::size_t>(i)].wait(mpp_test::patience));
      CHECK(rs[static_cast<std::size_t>(i)].get() == i * 10);
    }
  }
}
