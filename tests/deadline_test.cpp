// Time limits per item and per task, as `MapOptions::task_timeout` and `ApplyOptions::timeout`:
//
//     pool.map(mpp::on_error::collect, simulate, grid, {.task_timeout = 30s});
//     pool.apply_async({.timeout = 5s}, solve, problem);
//
// At the limit the task's stop token is set (`mpp::this_task::stop_requested()`); whether it then
// returns or throws, it completes with `mpp::TaskTimeoutError`. A thread cannot be killed: a task
// that ignores its stop token runs to its end and is reported overdue by how much.
//
// Times here are loose on purpose: a test only asserts that something took at least a limit,
// or far less than the patience, never an exact duration.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mpp/mpp.hpp>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Works until asked to stop (bounded by the patience, so a broken deadline fails the test instead
// of hanging it), then returns how many rounds it did.
int cooperative_forever(int) {
  int rounds = 0;
  const auto give_up = Clock::now() + mpp_test::patience;
  while (!mpp::this_task::stop_requested() && Clock::now() < give_up) {
    std::this_thread::sleep_for(1ms);
    ++rounds;
  }
  return rounds;
}

}  // namespace

TEST_CASE(
    "a cooperative task that checks its stop token ends at its deadline with "
    "TaskTimeoutError") {
  mpp::Pool pool(2);
  const auto start = Clock::now();
  auto r = pool.apply_async({.timeout = 50ms}, cooperative_forever, 0);
  REQUIRE(r.wait(mpp_test::patience));
  const auto took = Clock::now() - start;
  CHECK(took >= 50ms);
  CHECK(took < 5s);  // it stopped at the deadline, not after its own give-up time
  try {
    (void)r.get();
    FAIL("expected TaskTimeoutError");
  } catch (const mpp::TaskTimeoutError& e) {
    CHECK_FALSE(e.index().has_value());
    CHECK(e.limit() == 50ms);
    CHECK(e.elapsed() >= 50ms);
    CHECK(std::string(e.what()).find("the task ran") != std::string::npos);
  }
}

TEST_CASE(
    "a task that ignores its stop token completes with TaskTimeoutError naming how long "
    "it was overdue") {
  mpp::Pool pool(2);
  // Collected, so that only item 2 is looked at: on a loaded machine a trivial item may be
  // descheduled past its limit too.
  auto r = pool.map_async(mpp::on_error::collect,
                          [](int x) {
                            if (x == 2)
                              std::this_thread::sleep_for(200ms);  // never looks at the stop token
                            return x;
                          },
                          std::views::iota(0, 4), {.task_timeout = 50ms});
  REQUIRE(r.wait(mpp_test::patience));
  const auto& item = r.get()[2];
  REQUIRE_FALSE(item.has_value());
  try {
    std::rethrow_exception(item.error());
  } catch (const mpp::TaskTimeoutError& e) {
    REQUIRE(e.index().has_value());
    CHECK(*e.index() == 2);
    CHECK(e.elapsed() >= 200ms);
    CHECK(e.overdue() >= 150ms);
    const std::string what = e.what();
    CHECK(what.find("item 2 ran") != std::string::npos);
    CHECK(what.find("limit of 0.05 s") != std::string::npos);
    CHECK(what.find("cannot be killed") != std::string::npos);
  } catch (...) {
    FAIL("expected TaskTimeoutError");
  }
}

TEST_CASE(
    "a task that throws after its deadline fails with TaskTimeoutError, its exception "
    "nested") {
  mpp::Pool pool(2);
  auto r = pool.apply_async({.timeout = 20ms}, []() -> int {
    (void)mpp_test::eventually([] { return mpp::this_task::stop_requested(); });
    throw std::runtime_error("stopped early");
  });
  REQUIRE(r.wait(mpp_test::patience));
  try {
    (void)r.get();
    FAIL("expected TaskTimeoutError");
  } catch (const mpp::TaskTimeoutError& e) {
    CHECK(std::string(e.what()).find("threw") != std::string::npos);
    CHECK_THROWS_WITH_AS(std::rethrow_if_nested(e), "stopped early", std::runtime_error);
  }
}

TEST_CASE("tasks under their deadline are unaffected") {
  mpp::Pool pool(4);
  const auto xs = std::views::iota(0, 2000);
  CHECK(pool.map([](int x) { return x + 1; }, xs, {.task_timeout = 10s}) ==
        mpp_test::sequential_map([](int x) { return x + 1; }, xs));
  CHECK(pool.apply_async(
                {.timeout = 10s}, [](int x) { return 2 * x; }, 21)
            .get() == 42);
  // Their stop tokens were never set.
  const auto stopped = pool.map([](int) { return mpp::this_task::stop_requested() ? 1 : 0; }, xs,
                                {.task_timeout = 10s});
  CHECK(std::ranges::count(stopped, 1) == 0);
}

TEST_CASE("with collect, a timed-out item becomes an error outcome and the map goes on") {
  mpp::Pool pool(4);
  // The limit is far above a quick item's time even under a sanitizer on a loaded machine: only
  // the items that wait for their stop token may reach it.
  constexpr int n = 40;
  std::atomic<int> calls{0};
  auto out = pool.map(mpp::on_error::collect,
                      [&](int x) {
                        ++calls;
                        return x % 10 == 7 ? cooperative_forever(x) * 0 - 1 : x;
                      },
                      std::views::iota(0, n), {.chunksize = 1, .task_timeout = 1s});
  CHECK(calls == n);
  for (int x = 0; x < n; ++x) {
    const auto& o = out[static_cast<std::size_t>(x)];
    if (x % 10 == 7) {
      REQUIRE_FALSE(o.has_value());
      CHECK_THROWS_AS(o.value(), mpp::TaskTimeoutError);
    } else {
      CHECK(o.value_or(-2) == x);
    }
  }
}

TEST_CASE("a deadline covers the retries: no attempt starts after it") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto r = pool.apply_async({.retries = 1'000'000, .timeout = 50ms}, [&]() -> int {
    ++attempts;
    std::this_thread::sleep_for(1ms);
    throw std::runtime_error("again");
  });
  REQUIRE(r.wait(mpp_test::patience));
  CHECK_THROWS_AS((void)r.get(), mpp::TaskTimeoutError);
  CHECK(attempts < 1'000'000);
}

TEST_CASE("imap items have deadlines too") {
  mpp::Pool pool(2);
  int errors = 0, values = 0;
  for (const auto& o :
       pool.imap(mpp::on_error::collect, [](int x) { return x == 5 ? cooperative_forever(x) : x; },
                 std::views::iota(0, 10), {.task_timeout = 1s})) {
    (o ? values : errors) += 1;
  }
  CHECK(values == 9);
  CHECK(errors == 1);
}

TEST_CASE("a deadline belongs to its task: a map the task runs does not inherit it") {
  mpp::Pool pool(2);
  std::vector<int> inner;
  auto r = pool.apply_async({.timeout = 20ms}, [&] {
    // The items may run on this very thread while the task waits for the map: still not stopped.
    inner = pool.map(
        [](int) {
          std::this_thread::sleep_for(40ms);
          return mpp::this_task::stop_requested() ? 1 : 0;
        },
        std::views::iota(0, 4));
    return mpp::this_task::stop_requested();
  });
  REQUIRE(r.wait(mpp_test::patience));
  CHECK_THROWS_AS((void)r.get(), mpp::TaskTimeoutError);  // it returned past its limit
  CHECK(inner == std::vector<int>{0, 0, 0, 0});
}

TEST_CASE("terminate() still stops a task with a deadline") {
  mpp::Pool pool(1);
  mpp_test::Event started;
  auto r = pool.apply_async({.timeout = 1h}, [&] {
    started.set();
    return cooperative_forever(0);
  });
  REQUIRE(started.wait());
  pool.terminate();
  REQUIRE(r.wait(mpp_test::patience));
  CHECK(r.get() >= 0);  // it returned before its (far) deadline: no timeout error
}

TEST_CASE("a time limit must be positive") {
  mpp::Pool pool(1);
  CHECK_THROWS_AS(pool.map([](int x) { return x; }, std::views::iota(0, 3), {.task_timeout = 0s}),
                  std::invalid_argument);
  CHECK_THROWS_AS((void)pool.apply_async({.timeout = -1s}, [] { return 1; }),
                  std::invalid_argument);
}

TEST_CASE("on_overdue logs a task when it passes its limit, and again when it ends") {
  std::mutex mutex;
  std::vector<mpp::Overdue> reports;
  mpp::Pool pool({.threads = 2, .on_overdue = [&](const mpp::Overdue& o) {
                    std::lock_guard lock(mutex);
                    reports.push_back(o);
                  }});
  auto r = pool.map_async(mpp::on_error::collect,
                          [](int x) {
                            if (x == 1) std::this_thread::sleep_for(200ms);  // ignores its token
                            return x;
                          },
                          std::views::iota(0, 3), {.task_timeout = 50ms});
  REQUIRE(r.wait(mpp_test::patience));
  const auto of_item_1 = [&](bool ended) -> std::optional<mpp::Overdue> {
    std::lock_guard lock(mutex);
    for (const auto& o : reports) {
      if (o.index == std::optional<std::size_t>(1) && o.ended == ended) return o;
    }
    return std::nullopt;
  };
  // The report at the limit comes from the timer thread: looked for with patience.
  REQUIRE(mpp_test::eventually([&] { return of_item_1(false).has_value(); }));
  const mpp::Overdue at_limit = *of_item_1(false);
  CHECK(at_limit.limit == 50ms);
  CHECK(at_limit.elapsed >= 50ms);
  const auto at_end = of_item_1(true);
  REQUIRE(at_end.has_value());  // made on the item's thread, before the map completed
  CHECK(at_end->elapsed >= 200ms);
  CHECK(at_end->limit == 50ms);
}

TEST_CASE("an on_overdue hook that throws does not change the task's outcome") {
  mpp::Pool pool({.threads = 1, .on_overdue = [](const mpp::Overdue&) {
                    throw std::runtime_error("the log is full");
                  }});
  auto r = pool.apply_async({.timeout = 20ms}, cooperative_forever, 0);
  REQUIRE(r.wait(mpp_test::patience));
  CHECK_THROWS_AS((void)r.get(), mpp::TaskTimeoutError);
  CHECK(pool.apply_async([] { return 7; }).get() == 7);  // the pool goes on
}
