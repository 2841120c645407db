// Work stealing for nested submissions. What a task of the pool submits (apply_async, map_async)
// goes to the deque of the thread running that task, as tbb::task_group::run does: that thread
// takes the newest first, idle threads steal the oldest, and a thread waiting for one (get(),
// wait()) runs it itself or helps with other such tasks meanwhile. Submissions from outside the
// pool keep their first-in, first-out queue. The pool's promises still hold: join() waits for
// every nested task, and terminate() cancels those that have not started.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mpp/mpp.hpp>
#include <mutex>
#include <ranges>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// The order in which tasks ran, recorded from any thread.
struct Order {
  std::mutex mutex;
  std::vector<int> seen;
  void add(int i) {
    std::lock_guard lock(mutex);
    seen.push_back(i);
  }
  std::vector<int> get() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

// Sum of [lo, hi) as a tree of tasks: each call submits its left half and computes its right
// half, then waits for the left (the shape of parallel divide and conquer).
long long tree_sum(mpp::Pool& pool, long long lo, long long hi) {
  if (hi - lo == 1) return lo;
  const long long mid = lo + (hi - lo) / 2;
  auto left = pool.apply_async(tree_sum, std::ref(pool), lo, mid);
  const long long right = tree_sum(pool, mid, hi);
  return left.get() + right;
}

}  // namespace

TEST_CASE("tasks a task submits and does not wait for run after it, newest first (its deque)") {
  mpp::Pool pool(1);
  Order order;
  auto parent = pool.apply_async([&] {
    for (int i = 0; i < 4; ++i) (void)pool.apply_async([&, i] { order.add(i); });
    order.add(-1);
  });
  REQUIRE(parent.wait(mpp_test::patience));
  pool.close();
  pool.join();
  // A first-in, first-out queue would give -1, 0, 1, 2, 3.
  CHECK(order.get() == std::vector<int>{-1, 3, 2, 1, 0});
}

TEST_CASE("tasks submitted from outside the pool still run first in, first out") {
  mpp::Pool pool(1);
  mpp_test::Event release;
  auto blocker = pool.apply_async([&] { return release.wait(); });
  Order order;
  std::vector<mpp::AsyncResult<void>> rs;
  for (int i = 0; i < 6; ++i) rs.push_back(pool.apply_async([&, i] { order.add(i); }));
  release.set();
  for (auto& r : rs) REQUIRE(r.wait(mpp_test::patience));
  CHECK(blocker.get());
  CHECK(order.get() == std::vector<int>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("a tree of nested tasks is spread over the pool's threads by stealing") {
  mpp::Pool pool(2);
  std::mutex mutex;
  std::set<std::thread::id> ids;
  // 64 leaves of 1 ms: one thread alone would take 64 ms; both threads take part.
  std::function<int(int)> tree = [&](int depth) -> int {
    if (depth == 0) {
      std::this_thread::sleep_for(1ms);
      std::lock_guard lock(mutex);
      ids.insert(std::this_thread::get_id());
      return 1;
    }
    auto left = pool.apply_async(tree, depth - 1);
    const int right = tree(depth - 1);
    return left.get() + right;
  };
  auto r = pool.apply_async(tree, 6);
  REQUIRE(r.wait(mpp_test::patience));
  CHECK(r.get() == 64);
  CHECK(ids.size() == 2);
}

TEST_CASE("nested divide and conquer gives the right sum, swept over 1, 2, 4 and 8 threads") {
  constexpr long long n = 100'000;
  for (int threads : {1, 2, 4, 8}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto r = pool.apply_async(tree_sum, std::ref(pool), 0LL, n);
    REQUIRE(r.wait(4 * mpp_test::patience));
    CHECK(r.get() == n * (n - 1) / 2);
    // Also when the caller makes the top-level call itself (its submissions are queued).
    CHECK(tree_sum(pool, 0, 1'000) == 1'000LL * 999 / 2);
  }
}

TEST_CASE("join waits for nested tasks that outlive the task that submitted them") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    std::atomic<int> ran{0};
    {
      mpp::Pool pool(threads);
      for (int parent = 0; parent < 4; ++parent) {
        (void)pool.apply_async([&] {
          for (int i = 0; i < 250; ++i) {
            (void)pool.apply_async([&] {
              std::this_thread::sleep_for(10us);
              ++ran;
            });
          }
        });
      }
      pool.close();
      pool.join();
      CHECK(ran.load() == 1'000);
    }
    // The destructor waits the same way.
    {
      mpp::Pool pool(threads);
      (void)pool.apply_async([&] {
        for (int i = 0; i < 100; ++i) (void)pool.apply_async([&] { ++ran; });
      });
    }
    CHECK(ran.load() == 1'100);
  }
}

TEST_CASE("terminate cancels nested tasks that have not started") {
  mpp::Pool pool(1);
  std::vector<mpp::AsyncResult<int>> children;
  mpp_test::Event spawned;
  auto parent = pool.apply_async([&] {
    for (int i = 0; i < 10; ++i) children.push_back(pool.apply_async([i] { return i; }));
    spawned.set();
    // At Pool(1) the children cannot start before this task returns.
    while (!mpp::this_task::stop_requested()) std::this_thread::sleep_for(1ms);
  });
  REQUIRE(spawned.wait());
  pool.terminate();
  CHECK_NOTHROW(parent.get());
  for (auto& child : children) {
    REQUIRE(child.ready());
    CHECK_THROWS_AS(child.get(), mpp::CancelledError);
  }
}

TEST_CASE("nested tasks deliver exceptions and run callbacks like any other") {
  mpp::Pool pool(2);
  auto r = pool.apply_async([&] {
    auto failing = pool.apply_async([]() -> int { throw std::out_of_range("nested"); });
    std::atomic<int> called{0};
    auto with_callback =
        pool.apply_async(mpp::callbacks([&](int v) { called += v; }), [] { return 5; });
    int caught = 0;
    try {
      (void)failing.get();
    } catch (const std::out_of_range&) {
      caught = 1;
    }
    return caught + 10 * with_callback.get() + 100 * called.load();
  });
  REQUIRE(r.wait(mpp_test::patience));
  CHECK(r.get() == 1 + 50 + 500);
}

TEST_CASE("nested tasks left running while a map is called from outside all run, and the map too") {
  for (int n : {1, 2, 3}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    std::atomic<int> children{0};
    auto parent = pool.apply_async([&] {
      for (int i = 0; i < 40 * n; ++i) {
        (void)pool.apply_async([&] {
          std::this_thread::sleep_for(100us);
          ++children;
        });
      }
    });
    const auto items = pool.map(
        [](int x) {
          std::this_thread::sleep_for(100us);
          return 2 * x;
        },
        std::views::iota(0, 16 * n), {.chunksize = 1});
    CHECK(items.size() == static_cast<std::size_t>(16 * n));
    CHECK(items.back() == 2 * (16 * n - 1));
    REQUIRE(parent.wait(mpp_test::patience));
    pool.close();
    pool.join();
    CHECK(children.load() == 40 * n);
  }
}

TEST_CASE("a timed wait for a nested task only sleeps, also when the task is in this deque") {
  mpp::Pool pool(1);
  auto outer = pool.apply_async([&] {
    auto inner = pool.apply_async([] { return 7; });
    const bool early = inner.wait(20ms);  // at Pool(1) nobody else can run it
    return (early ? 100 : 0) + inner.get();
  });
  REQUIRE(outer.wait(mpp_test::patience));
  CHECK(outer.get() == 7);
}

TEST_CASE("the result of a nested task may outlive its pool and be read on another thread") {
  mpp::AsyncResult<std::vector<int>> kept;
  {
    mpp::Pool pool(2);
    auto parent = pool.apply_async(
        [&] { return pool.apply_async([] { return std::vector<int>(1'000, 7); }); });
    REQUIRE(parent.wait(mpp_test::patience));
    kept = parent.get();
  }
  std::thread reader([&] {
    CHECK(kept.get().size() == 1'000);
    CHECK(kept.get().back() == 7);
    kept = {};  // the last reference goes here, on a thread that never ran a task
  });
  reader.join();
  CHECK(!kept.valid());
}
