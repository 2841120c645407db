// Fault injection: whatever goes wrong — tasks and callbacks that throw, terminate() in the middle
// of a flood, many submitting threads, timeouts — every submitted task's outcome (its value or its
// exception) is delivered exactly once, nothing is lost or duplicated, and nothing hangs.
#include <doctest/doctest.h>

#include <mpp/mpp.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// What a collection of results added up to.
struct Tally {
  std::size_t values = 0, injected = 0, cancelled = 0, other = 0;
  std::size_t total() const { return values + injected + cancelled + other; }
};

// Gets every result once, each within the test's patience, and sorts its outcome.
template <class T>
Tally collect(std::vector<mpp::AsyncResult<T>>& results) {
  Tally tally;
  for (auto& result : results) {
    REQUIRE(result.wait(mpp_test::patience));
    try {
      (void)result.get();
      ++tally.values;
    } catch (const std::domain_error&) {
      ++tally.injected;
    } catch (const mpp::CancelledError&) {
      ++tally.cancelled;
    } catch (...) {
      ++tally.other;
    }
  }
  return tally;
}

int fail_every_seventh(int x) {
  if (x % 7 == 0) throw std::domain_error("injected");
  return x;
}

}  // namespace

TEST_CASE("terminate() during a flood of apply_async: every task runs once or is cancelled") {
  for (int threads : {1, 2, 4}) {
    CAPTURE(threads);
    mpp::Pool pool(threads);
    std::atomic<int> ran{0};
    std::vector<mpp::AsyncResult<int>> results;
    for (int i = 0; i < 20'000; ++i) {
      results.push_back(pool.apply_async(
          [&ran](int x) {
            ran.fetch_add(1);
            return fail_every_seventh(x);
          },
          i));
    }
    pool.terminate();
    const Tally tally = collect(results);
    CHECK(tally.total() == results.size());
    CHECK(tally.other == 0);
    CHECK(tally.values + tally.injected == static_cast<std::size_t>(ran.load()));
  }
}

TEST_CASE("terminate() during map and imap ends them with mpp::CancelledError, never a hang") {
  mpp::Pool pool(2);
  mpp_test::Event started;
  std::thread stopper([&] {
    if (started.wait()) pool.terminate();
  });
  auto slow = [&](int x) {
    started.set();
    std::this_thread::sleep_for(100us);
    return x;
  };
  CHECK_THROWS_AS(pool.map(slow, std::views::iota(0, 1'000'000), {.chunksize = 1}),
                  mpp::CancelledError);
  stopper.join();

  mpp::Pool other(2);
  mpp_test::Event streaming;
  std::thread stop_stream([&] {
    if (streaming.wait()) other.terminate();
  });
  bool stopped = false;
  try {
    for (int x : other.imap(slow, std::views::iota(0))) {
      (void)x;
      streaming.set();
    }
  } catch (const mpp::CancelledError&) {
    stopped = true;
  } catch (const mpp::PoolStateError&) {
    stopped = true;  // the stream wanted to submit its next chunk to the terminated pool
  }
  stop_stream.join();
  CHECK(stopped);
}

TEST_CASE("eight threads submitting at once, with failures: each outcome arrives exactly once") {
  mpp::Pool pool(4);
  constexpr int per_thread = 5'000;
  std::vector<std::vector<mpp::AsyncResult<int>>> results(8);
  std::atomic<int> callbacks{0}, error_callbacks{0};
  std::vector<std::thread> submitters;
  for (int t = 0; t < 8; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        results[t].push_back(pool.apply_async(
            mpp::callbacks([&](int) { callbacks.fetch_add(1); },
                           [&](const std::exception_ptr&) { error_callbacks.fetch_add(1); }),
            fail_every_seventh, t * per_thread + i));
      }
    });
  }
  for (auto& s : submitters) s.join();
  std::size_t values = 0, injected = 0;
  for (auto& list : results) {
    const Tally tally = collect(list);
    CHECK(tally.total() == per_thread);
    CHECK(tally.cancelled + tally.other == 0);
    values += tally.values;
    injected += tally.injected;
  }
  const std::size_t expected_failures = (8 * per_thread + 6) / 7;
  CHECK(injected == expected_failures);
  CHECK(values == 8 * per_thread - expected_failures);
  CHECK(callbacks.load() == static_cast<int>(values));
  CHECK(error_callbacks.load() == static_cast<int>(injected));
}

TEST_CASE("callbacks that throw turn their task's outcome into that exception, exactly once") {
  mpp::Pool pool(2);
  std::vector<mpp::AsyncResult<int>> results;
  for (int i = 0; i < 1'000; ++i) {
    results.push_back(pool.apply_async(
        mpp::callbacks([](int x) {
          if (x % 2 == 0) throw std::domain_error("callback failed");
        }),
        [](int x) { return x; }, i));
  }
  const Tally tally = collect(results);
  CHECK(tally.injected == 500);
  CHECK(tally.values == 500);
}

TEST_CASE("every timeout path returns or throws in time while the task is stuck") {
  mpp::Pool pool(1);
  mpp_test::Event release;
  auto stuck = pool.apply_async([&] { return release.wait(); });
  CHECK_FALSE(stuck.wait(10ms));
  CHECK_THROWS_AS((void)stuck.get(10ms), mpp::TimeoutError);
  CHECK_THROWS_AS((void)stuck.get(std::chrono::microseconds(0)), mpp::TimeoutError);
  CHECK_FALSE(stuck.ready());
  CHECK_THROWS_AS((void)stuck.successful(), mpp::NotReadyError);
  auto queued = pool.apply_async([] { return 1; });  // behind the stuck task on Pool(1)
  CHECK_FALSE(queued.wait(10ms));
  release.set();
  CHECK(stuck.get(mpp_test::patience));
  CHECK(queued.get(mpp_test::patience) == 1);
}

TEST_CASE("destroying a pool with a backlog and failures delivers every outcome first") {
  std::vector<mpp::AsyncResult<int>> results;
  std::atomic<int> ran{0};
  {
    mpp::Pool pool(2);
    for (int i = 0; i < 10'000; ++i) {
      results.push_back(pool.apply_async(
          [&ran](int x) {
            ran.fetch_add(1);
            return fail_every_seventh(x);
          },
          i));
    }
  }  // ~Pool closes and joins
  CHECK(ran.load() == 10'000);
  for (auto& r : results) CHECK(r.ready());
  const Tally tally = collect(results);
  CHECK(tally.injected == (10'000 + 6) / 7);
  CHECK(tally.values == 10'000 - (10'000 + 6) / 7);
}

TEST_CASE("nested maps where inner items fail: the outer map reports one failure, pool lives on") {
  mpp::Pool pool(2);
  for (int round = 0; round < 20; ++round) {
    CHECK_THROWS_AS(pool.map(
                        [&](int x) {
                          return pool.map(fail_every_seventh,
                                          std::views::iota(x * 10 + 1, x * 10 + 8));
                        },
                        std::views::iota(0, 50)),
                    std::domain_error);
  }
  CHECK(pool.map([](int x) { return x + 1; }, std::views::iota(0, 100)).back() == 100);
}
