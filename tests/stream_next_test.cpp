// A stream's `next(timeout)`, Python's `IMapIterator.next(timeout)`:
//
//     it = p.imap(f, xs)
//     it.next(timeout=1)     # the next result, or TimeoutError; StopIteration at the end
//
// In C++ `next(1s)` returns the next result, throws `mpp::TimeoutError` when none arrives in
// time (the stream stays usable), and returns an empty optional once every result was read.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <mpp/mpp.hpp>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

TEST_CASE("next(timeout) returns the results in order, then nothing at the end") {
  mpp::Pool pool(2);
  auto results = pool.imap([](int x) { return x * 10; }, std::views::iota(0, 5));
  for (int x = 0; x < 5; ++x) CHECK(results.next(mpp_test::patience) == std::optional(x * 10));
  CHECK_FALSE(results.next(mpp_test::patience).has_value());
  CHECK_FALSE(results.next(1ms).has_value());  // still the end
  CHECK_FALSE(results.next().has_value());
}

TEST_CASE(
    "next(timeout) throws TimeoutError when no result comes in time, and the stream "
    "stays usable") {
  mpp::Pool pool(2);
  mpp_test::Event release;
  auto results = pool.imap(
      [&](int x) {
        if (x == 1) (void)release.wait();  // bounded: the patience at most
        return x;
      },
      std::views::iota(0, 3));
  CHECK(results.next(mpp_test::patience) == std::optional(0));
  CHECK_THROWS_AS((void)results.next(20ms), mpp::TimeoutError);
  CHECK_THROWS_AS((void)results.next(1ms), mpp::TimeoutError);
  release.set();
  CHECK(results.next(mpp_test::patience) == std::optional(1));
  CHECK(results.next(mpp_test::patience) == std::optional(2));
  CHECK_FALSE(results.next(mpp_test::patience).has_value());
}

TEST_CASE("imap_unordered's next(timeout) also waits at most its timeout") {
  mpp::Pool pool(2);
  mpp_test::Event release;
  auto results = pool.imap_unordered(
      [&](int x) {
        (void)release.wait();
        return x;
      },
      std::views::iota(0, 4));
  CHECK_THROWS_AS((void)results.next(20ms), mpp::TimeoutError);
  release.set();
  std::vector<int> got;
  while (auto r = results.next(mpp_test::patience)) got.push_back(*r);
  std::ranges::sort(got);
  CHECK(got == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("next() rethrows a failed call's exception, and the next call moves past it") {
  mpp::Pool pool(2);
  auto results = pool.imap(
      [](int x) {
        if (x == 1) throw std::out_of_range("one");
        return x;
      },
      std::views::iota(0, 3));
  CHECK(results.next(mpp_test::patience) == std::optional(0));
  CHECK_THROWS_WITH_AS((void)results.next(mpp_test::patience), "one", std::out_of_range);
  CHECK(results.next(mpp_test::patience) == std::optional(2));
  CHECK_FALSE(results.next(mpp_test::patience).has_value());
}

TEST_CASE("a collecting stream's next() yields outcomes") {
  mpp::Pool pool(2);
  auto results = pool.imap(
      mpp::on_error::collect,
      [](int x) {
        if (x == 1) throw std::out_of_range("one");
        return x;
      },
      std::views::iota(0, 2));
  auto first = results.next(mpp_test::patience);
  REQUIRE(first.has_value());
  CHECK(first->value() == 0);
  auto second = results.next(mpp_test::patience);
  REQUIRE(second.has_value());
  CHECK_THROWS_AS(second->value(), std::out_of_range);
  CHECK_FALSE(results.next(mpp_test::patience).has_value());
}
