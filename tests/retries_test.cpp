// Retries, as ipyparallel's `retries`: a call that throws is run again, up to `retries` more
// times; if every attempt fails, only the last exception is delivered. Once the pool is
// terminated no call is retried.
//
//     pool.apply_async({.retries = 3}, fetch, url)
//     pool.map(f, xs, {.retries = 1})

#include <doctest/doctest.h>

#include <atomic>
#include <mpp/mpp.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

TEST_CASE("apply_async with retries runs a failing call again until it succeeds") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto flaky = [&](int x) {
    if (attempts.fetch_add(1) < 2) throw std::runtime_error("flaky");
    return x * 2;
  };
  CHECK(pool.apply_async({.retries = 2}, flaky, 21).get() == 42);
  CHECK(attempts == 3);
}

TEST_CASE("when every attempt fails, get() rethrows the last attempt's exception") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto always = [&]() -> int {
    throw std::runtime_error("attempt " + std::to_string(attempts.fetch_add(1) + 1));
  };
  CHECK_THROWS_WITH_AS(pool.apply_async({.retries = 2}, always).get(), "attempt 3",
                       std::runtime_error);
  CHECK(attempts == 3);
  // Without retries a call runs once.
  attempts = 0;
  CHECK_THROWS_AS(pool.apply_async(always).get(), std::runtime_error);
  CHECK(attempts == 1);
}

TEST_CASE("every attempt sees the same argument values") {
  mpp::Pool pool(2);
  std::atomic<int> attempts{0};
  auto consume = [&](const std::string& s) {
    if (attempts.fetch_add(1) == 0) throw std::runtime_error("first");
    return s;
  };
  CHECK(pool.apply_async({.retries = 1}, consume, std::string("same")).get() == "same");
}

TEST_CASE("map and imap retry each failing item on its own") {
  mpp::Pool pool(3);
  constexpr int n = 500;
  std::vector<std::atomic<int>> attempts(n);
  auto fails_once = [&](int x) {
    if (attempts[static_cast<std::size_t>(x)].fetch_add(1) == 0) throw std::runtime_error("once");
    return x + 1;
  };
  const auto expected =
      mpp_test::sequential_map([](int x) { return x + 1; }, std::views::iota(0, n));

  SUBCASE("map") {
    CHECK(pool.map(fails_once, std::views::iota(0, n), {.chunksize = 7, .retries = 1}) == expected);
  }
  SUBCASE("map_async") {
    CHECK(pool.map_async(fails_once, std::views::iota(0, n), {.retries = 1}).get() == expected);
  }
  SUBCASE("imap") {
    std::vector<int> got;
    for (int r : pool.imap(fails_once, std::views::iota(0, n), {.chunksize = 4, .retries = 1})) {
      got.push_back(r);
    }
    CHECK(got == expected);
  }
  int wrong = 0;
  for (const auto& a : attempts) wrong += a != 2;
  CHECK(wrong == 0);
}

TEST_CASE("a map with too few retries fails with the item's last exception") {
  mpp::Pool pool(2);
  auto never = [](int x) -> int {
    if (x == 7) throw std::out_of_range("seven");
    return x;
  };
  CHECK_THROWS_AS(pool.map(never, std::views::iota(0, 20), {.retries = 3}), std::out_of_range);
}

TEST_CASE("no call is retried once the pool is terminated") {
  mpp::Pool pool(1);
  std::atomic<int> attempts{0};
  mpp_test::Event started;
  auto r = pool.apply_async({.retries = 1'000}, [&]() -> int {
    ++attempts;
    started.set();
    (void)mpp_test::eventually([] { return mpp::this_task::stop_requested(); });
    throw std::runtime_error("stopping");
  });
  REQUIRE(started.wait());
  pool.terminate();
  REQUIRE(r.wait(mpp_test::patience));
  CHECK_THROWS_WITH_AS((void)r.get(), "stopping", std::runtime_error);
  CHECK(attempts == 1);
}
