// Keep going past failures: with `mpp::on_error::collect` a map runs every item and returns one
// `mpp::Outcome` per item, in input order, holding its value or its exception:
//
//     auto out = pool.map(mpp::on_error::collect, simulate, grid);   // vector<Outcome<R>>
//     for (auto o : pool.imap(mpp::on_error::collect, simulate, xs))  // Outcome<R> each
//
// Without the tag a map stops at the first exception and rethrows it (Python's behaviour).

#include <doctest/doctest.h>

#include <atomic>
#include <mpp/mpp.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"

namespace {

// Every tenth item is bad input.
int tenth_fails(int x) {
  if (x % 10 == 3) throw std::domain_error("bad input " + std::to_string(x));
  return x * x;
}

// Checks `out` against tenth_fails item by item: a value where it returns, its error where it
// throws.
template <class Outcomes>
void check_tenth_fails(const Outcomes& out, int n) {
  REQUIRE(out.size() == static_cast<std::size_t>(n));
  int values = 0, errors = 0;
  for (int x = 0; x < n; ++x) {
    const auto& o = out[static_cast<std::size_t>(x)];
    if (x % 10 == 3) {
      ++errors;
      CHECK_FALSE(o.has_value());
      CHECK_THROWS_WITH_AS(o.value(), ("bad input " + std::to_string(x)).c_str(),
                           std::domain_error);
    } else {
      ++values;
      CHECK(o.has_value());
      CHECK(*o == x * x);
      CHECK(o.error() == nullptr);
    }
  }
  CHECK(values == n * 9 / 10);
  CHECK(errors == n / 10);
}

}  // namespace

TEST_CASE("Outcome holds a value or an exception, like std::expected") {
  mpp::Outcome<std::string> good = std::string("fine");
  CHECK(good.has_value());
  CHECK(static_cast<bool>(good));
  CHECK(*good == "fine");
  CHECK(good->size() == 4);
  CHECK(good.error() == nullptr);
  CHECK(good.value_or("other") == "fine");

  mpp::Outcome<std::string> bad = mpp::Failure{std::make_exception_ptr(std::out_of_range("no"))};
  CHECK_FALSE(bad.has_value());
  CHECK_FALSE(static_cast<bool>(bad));
  CHECK(bad.error() != nullptr);
  CHECK_THROWS_WITH_AS(bad.value(), "no", std::out_of_range);
  CHECK_THROWS_AS((void)*bad, std::out_of_range);
  CHECK(bad.value_or("other") == "other");
  CHECK(std::move(good).value() == "fine");
}

TEST_CASE(
    "a collecting map where 10% of the items throw returns 90% values and 10% errors, "
    "in order") {
  mpp::Pool pool(4);
  constexpr int n = 1000;
  std::atomic<int> calls{0};
  auto f = [&](int x) {
    ++calls;
    return tenth_fails(x);
  };
  SUBCASE("map") {
    const std::vector<mpp::Outcome<int>> out =
        pool.map(mpp::on_error::collect, f, std::views::iota(0, n), {.chunksize = 7});
    check_tenth_fails(out, n);
  }
  SUBCASE("map_async") {
    auto r = pool.map_async(mpp::on_error::collect, f, std::views::iota(0, n));
    REQUIRE(r.wait(mpp_test::patience));
    check_tenth_fails(r.get(), n);
  }
  SUBCASE("every schedule") {
    for (auto schedule : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                          mpp::schedule::python}) {
      calls = 0;
      check_tenth_fails(
          pool.map(mpp::on_error::collect, f, std::views::iota(0, n), {.schedule = schedule}), n);
      CHECK(calls == n);
    }
    calls = n;
  }
  // The map did not stop at the first failure: every item was called.
  CHECK(calls == n);
}

TEST_CASE("without collect, the same map stops at the first failure and rethrows it") {
  mpp::Pool pool(4);
  CHECK_THROWS_AS(pool.map(tenth_fails, std::views::iota(0, 1000)), std::domain_error);
}

TEST_CASE("collecting starmap and starmap_async unpack tuples") {
  mpp::Pool pool(2);
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < 100; ++i) pairs.emplace_back(i, 10);
  auto divide = [](int a, int b) {
    if (a % 10 == 3) throw std::domain_error("bad input " + std::to_string(a));
    return a * a * b / 10;
  };
  check_tenth_fails(pool.starmap(mpp::on_error::collect, divide, pairs), 100);
  auto r = pool.starmap_async(mpp::on_error::collect, divide, pairs);
  REQUIRE(r.wait(mpp_test::patience));
  check_tenth_fails(r.get(), 100);
}

TEST_CASE("imap and imap_unordered with collect yield outcomes") {
  mpp::Pool pool(3);
  constexpr int n = 200;
  SUBCASE("imap, in input order") {
    std::vector<mpp::Outcome<int>> got;
    for (auto&& o :
         pool.imap(mpp::on_error::collect, tenth_fails, std::views::iota(0, n), {.chunksize = 3})) {
      got.push_back(std::move(o));
    }
    check_tenth_fails(got, n);
  }
  SUBCASE("imap_unordered, as they finish") {
    int values = 0, errors = 0;
    for (const mpp::Outcome<int>& o :
         pool.imap_unordered(mpp::on_error::collect, tenth_fails, std::views::iota(0, n))) {
      (o ? values : errors) += 1;
    }
    CHECK(values == n * 9 / 10);
    CHECK(errors == n / 10);
  }
}

TEST_CASE("collect combines with retries: an item fails only when its last attempt does") {
  mpp::Pool pool(2);
  constexpr int n = 100;
  std::vector<std::atomic<int>> attempts(n);
  auto flaky = [&](int x) {
    const int attempt = attempts[static_cast<std::size_t>(x)].fetch_add(1);
    if (x % 10 == 3) throw std::domain_error("bad input " + std::to_string(x));  // always
    if (attempt == 0) throw std::runtime_error("transient");                     // once
    return x * x;
  };
  check_tenth_fails(pool.map(mpp::on_error::collect, flaky, std::views::iota(0, n), {.retries = 2}),
                    n);
  for (int x = 0; x < n; ++x) {
    CHECK(attempts[static_cast<std::size_t>(x)] == (x % 10 == 3 ? 3 : 2));
  }
}

TEST_CASE("a collecting map refuses a checkpoint, whose journal holds only values") {
  mpp::Pool pool(2);
  CHECK_THROWS_AS(pool.map(mpp::on_error::collect, tenth_fails, std::views::iota(0, 10),
                           {.checkpoint = "unused.journal"}),
                  std::invalid_argument);
}
