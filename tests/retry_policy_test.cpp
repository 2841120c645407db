// Which failures to retry, and how long to wait before each retry (Ray's `retry_exceptions`,
// Parsl's retry handler):
//
//     pool.map(fetch, urls, {.retries = 5,
//                            .retry_if = is_transient,
//                            .backoff = {.initial = 10ms, .multiplier = 2, .max = 1s,
//                                        .jitter = true}});
//
// Only the exceptions `retry_if` accepts are retried; the others fail the item at once. The
// backoff delay is spent on the worker thread and ends early when the pool is terminated.
// Delays are checked loosely: at least the delay, never an exact time.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mpp/mpp.hpp>
#include <ranges>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// Accepts only std::system_error: a dropped connection is worth another try, a bug is not.
bool transient(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

TEST_CASE("an exception retry_if rejects is not retried") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto buggy = [&]() -> int {
    ++attempts;
    throw std::logic_error("a bug");
  };
  auto r = pool.apply_async({.retries = 5, .retry_if = transient}, buggy);
  CHECK_THROWS_WITH_AS((void)r.get(), "a bug", std::logic_error);
  CHECK(attempts == 1);
}

TEST_CASE("an exception retry_if accepts is retried up to `retries` times") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto unreachable = [&]() -> int {
    ++attempts;
    throw std::system_error(std::make_error_code(std::errc::connection_reset));
  };
  auto r = pool.apply_async({.retries = 4, .retry_if = transient}, unreachable);
  CHECK_THROWS_AS((void)r.get(), std::system_error);
  CHECK(attempts == 5);  // the first call and 4 retries
}

TEST_CASE("in a map, retry_if decides per item") {
  mpp::Pool pool(3);
  constexpr int n = 300;
  std::vector<std::atomic<int>> attempts(n);
  auto f = [&](int x) {
    const int attempt = attempts[static_cast<std::size_t>(x)].fetch_add(1);
    if (x % 2 == 0 && attempt == 0) {
      throw std::system_error(std::make_error_code(std::errc::timed_out));  // transient
    }
    if (x % 3 == 1) throw std::logic_error("bad");  // permanent
    return x;
  };
  const auto out = pool.map(mpp::on_error::collect, f, std::views::iota(0, n),
                            {.retries = 3, .retry_if = transient});
  for (int x = 0; x < n; ++x) {
    const auto i = static_cast<std::size_t>(x);
    if (x % 3 == 1) {
      CHECK_THROWS_AS(out[i].value(), std::logic_error);
    } else {
      CHECK(out[i].value_or(-1) == x);
    }
    // A transient failure costs one retry; a permanent one none.
    CHECK(attempts[i] == (x % 2 == 0 ? 2 : 1));
  }
}

TEST_CASE("a fixed backoff waits at least its delay before each retry") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto twice = [&] {
    if (attempts.fetch_add(1) < 2) throw std::runtime_error("not yet");
    return 7;
  };
  const auto start = Clock::now();
  CHECK(pool.apply_async({.retries = 2, .backoff = {.initial = 30ms}}, twice).get() == 7);
  CHECK(Clock::now() - start >= 60ms);  // two retries, 30 ms before each
  CHECK(attempts == 3);
}

TEST_CASE("an exponential backoff grows by its multiplier up to its maximum") {
  mpp::Pool pool(2);
  std::vector<Clock::time_point> times;
  auto fails = [&]() -> int {
    times.push_back(Clock::now());  // one attempt at a time: no race
    throw std::runtime_error("down");
  };
  auto r = pool.apply_async(
      {.retries = 4, .backoff = {.initial = 10ms, .multiplier = 2, .max = 25ms}}, fails);
  CHECK_THROWS_AS((void)r.get(), std::runtime_error);
  REQUIRE(times.size() == 5);
  // Delays of 10, 20, 25 (capped), 25 ms: each gap at least that.
  const std::chrono::milliseconds expected[] = {10ms, 20ms, 25ms, 25ms};
  for (std::size_t i = 0; i < 4; ++i) CHECK(times[i + 1] - times[i] >= expected[i]);
}

TEST_CASE("with jitter each delay lies between half the delay and the delay") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto once = [&] {
    if (attempts.fetch_add(1) == 0) throw std::runtime_error("once");
    return 1;
  };
  const auto start = Clock::now();
  CHECK(pool.map([&](int) { return once(); }, std::views::iota(0, 1),
                 {.retries = 1, .backoff = {.initial = 40ms, .jitter = true}}) ==
        std::vector<int>{1});
  CHECK(Clock::now() - start >= 20ms);
}

TEST_CASE("terminate() cuts a backoff short and no retry follows") {
  mpp::Pool pool(1);
  std::atomic<int> attempts{0};
  mpp_test::Event failed;
  auto r = pool.apply_async({.retries = 3, .backoff = {.initial = 1h, .max = 1h}}, [&]() -> int {
    ++attempts;
    failed.set();
    throw std::runtime_error("down");
  });
  REQUIRE(failed.wait());
  pool.terminate();
  REQUIRE(r.wait(mpp_test::patience));
  CHECK_THROWS_WITH_AS((void)r.get(), "down", std::runtime_error);
  CHECK(attempts == 1);
}

TEST_CASE("a backoff must not shrink") {
  mpp::Pool pool(1);
  CHECK_THROWS_AS(pool.map([](int x) { return x; }, std::views::iota(0, 3),
                           {.retries = 1, .backoff = {.initial = 10ms, .multiplier = 0.5}}),
                  std::invalid_argument);
}
