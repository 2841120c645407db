// Pool::map and Pool::starmap, checked against Python's `Pool.map(f, xs, chunksize)`:
//
//     >>> with Pool(4) as p: p.map(f, xs, chunksize=c) == [f(x) for x in xs]
//     True        # for every iterable xs (list, range, ...), every c >= 1, and len(xs) == 0
//     >>> p.map(f, xs, chunksize=0)
//     ValueError  # (ZeroDivisionError in CPython; mpp throws std::invalid_argument)
//
// Every parallel result is compared with a sequential reference.

#include <doctest/doctest.h>

#include <array>
#include <deque>
#include <list>
#include <memory>
#include <mpp/mpp.hpp>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"

namespace {

constexpr std::array all_schedules = {mpp::schedule::adaptive, mpp::schedule::static_,
                                      mpp::schedule::dynamic, mpp::schedule::python};

const char* name(mpp::schedule s) {
  switch (s) {
    case mpp::schedule::adaptive:
      return "adaptive";
    case mpp::schedule::static_:
      return "static_";
    case mpp::schedule::dynamic:
      return "dynamic";
    case mpp::schedule::python:
      return "python";
  }
  return "?";
}

// The chunk sizes Python's own tests use: 1, a small one, exactly n and more than n.
std::vector<std::size_t> chunk_sizes(std::size_t n) {
  std::vector<std::size_t> sizes{1, 6, n + 1, 3 * n + 5};
  if (n > 0) sizes.push_back(n);
  return sizes;
}

// Irregular on purpose, so adaptive and dynamic schedules really split and steal.
long long work(int x) {
  long long acc = x;
  for (int i = 0; i < (x % 7) * 10; ++i) acc = (acc * 31 + i) % 1'000'003;
  return acc;
}

// Every option combination a map call can take, each one checked on its own.
template <class Check>
void for_each_option(std::size_t n, Check check) {
  for (auto s : all_schedules) {
    INFO("schedule = " << name(s));
    check(mpp::MapOptions{.schedule = s});
    for (std::size_t c : chunk_sizes(n)) {
      INFO("chunksize = " << c);
      check(mpp::MapOptions{.chunksize = c, .schedule = s});
    }
  }
}

}  // namespace

TEST_CASE("map returns the list of f(x) for x in a std::vector, in input order") {
  mpp::Pool pool(4);
  for (std::size_t n : {0u, 1u, 2u, 7u, 100u, 5'003u}) {
    INFO("n = " << n);
    std::vector<int> xs(n);
    std::iota(xs.begin(), xs.end(), -3);
    const auto expected = mpp_test::sequential_map(work, xs);
    for_each_option(
        n, [&](const mpp::MapOptions& options) { CHECK(pool.map(work, xs, options) == expected); });
  }
}

TEST_CASE("map accepts a std::list, whose iterators are not random access") {
  mpp::Pool pool(3);
  for (std::size_t n : {0u, 1u, 13u, 2'000u}) {
    INFO("n = " << n);
    std::list<int> xs;
    for (std::size_t i = 0; i < n; ++i) xs.push_back(static_cast<int>(i * 7 % 101));
    const auto expected = mpp_test::sequential_map(work, xs);
    for_each_option(
        n, [&](const mpp::MapOptions& options) { CHECK(pool.map(work, xs, options) == expected); });
  }
}

TEST_CASE("map accepts std::views::iota, Python's range()") {
  mpp::Pool pool(2);
  for (int n : {0, 1, 6, 999}) {
    INFO("n = " << n);
    const auto xs = std::views::iota(0, n);
    const auto expected = mpp_test::sequential_map(work, xs);
    for_each_option(static_cast<std::size_t>(n), [&](const mpp::MapOptions& options) {
      CHECK(pool.map(work, xs, options) == expected);
    });
  }
  // Other sized views compose as in Python: map(f, range(10, 0, -1)).
  auto backwards = std::views::iota(1, 11) | std::views::reverse;
  CHECK(pool.map([](int x) { return x; }, backwards) ==
        std::vector<int>{10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
}

TEST_CASE("map of an empty input returns an empty vector and never calls f") {
  mpp::Pool pool(2);
  std::atomic<int> calls{0};
  auto f = [&](int x) {
    ++calls;
    return x;
  };
  const std::vector<int> none;
  for_each_option(0, [&](const mpp::MapOptions& options) {
    CHECK(pool.map(f, none, options).empty());
    CHECK(pool.map(f, std::views::iota(0, 0), options).empty());
    CHECK(pool.map_async(f, none, options).get().empty());
  });
  CHECK(calls == 0);
}

TEST_CASE("every schedule gives the same results in the same order") {
  mpp::Pool pool(4);
  const auto xs = std::views::iota(0, 10'000);
  const auto expected = mpp_test::sequential_map(work, xs);
  for (auto s : all_schedules) {
    INFO("schedule = " << name(s));
    CHECK(pool.map(work, xs, {.schedule = s}) == expected);
    CHECK(pool.map_async(work, xs, {.schedule = s}).get() == expected);
    CHECK(pool.starmap([](int x) { return work(x); },
                       mpp_test::sequential_map([](int x) { return std::tuple{x}; }, xs),
                       {.schedule = s}) == expected);
  }
}

TEST_CASE("map calls f exactly once per item") {
  mpp::Pool pool(4);
  constexpr int n = 20'000;
  for_each_option(n, [&](const mpp::MapOptions& options) {
    std::vector<std::atomic<int>> calls(n);
    auto results = pool.map(
        [&](int i) {
          calls[static_cast<std::size_t>(i)].fetch_add(1, std::memory_order_relaxed);
          return i;
        },
        std::views::iota(0, n), options);
    int wrong = 0;
    for (int i = 0; i < n; ++i) {
      if (calls[static_cast<std::size_t>(i)] != 1 || results[static_cast<std::size_t>(i)] != i) {
        ++wrong;
      }
    }
    CHECK(wrong == 0);
  });
}

TEST_CASE("chunksize = 0 is rejected with std::invalid_argument before anything runs") {
  mpp::Pool pool(2);
  std::atomic<int> calls{0};
  auto f = [&](int x) {
    ++calls;
    return x;
  };
  const std::vector<int> xs{1, 2, 3};
  const std::vector<std::pair<int, int>> pairs{{1, 2}};
  auto g = [&](int a, int b) {
    ++calls;
    return a + b;
  };
  for (auto s : all_schedules) {
    INFO("schedule = " << name(s));
    const mpp::MapOptions zero{.chunksize = 0, .schedule = s};
    CHECK_THROWS_AS(pool.map(f, xs, zero), std::invalid_argument);
    CHECK_THROWS_AS(pool.starmap(g, pairs, zero), std::invalid_argument);
    CHECK_THROWS_AS((void)pool.map_async(f, xs, zero), std::invalid_argument);
    CHECK_THROWS_AS((void)pool.starmap_async(g, pairs, zero), std::invalid_argument);
    CHECK_THROWS_AS((void)pool.imap(f, xs, zero), std::invalid_argument);
    CHECK_THROWS_AS((void)pool.imap_unordered(f, xs, zero), std::invalid_argument);
  }
  // The message says what was wrong.
  try {
    (void)pool.map(f, xs, {.chunksize = 0});
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("chunksize") != std::string::npos);
  }
  CHECK(calls == 0);
  // The pool is not harmed by the rejected calls.
  CHECK(pool.map(f, xs) == xs);
}

TEST_CASE("map neither copies nor modifies its input") {
  mpp::Pool pool(2);
  // Move-only items: the range is read in place, through references.
  std::vector<std::unique_ptr<int>> boxes;
  for (int i = 0; i < 500; ++i) boxes.push_back(std::make_unique<int>(i));
  auto unboxed = pool.map([](const std::unique_ptr<int>& p) { return *p * 2; }, boxes);
  for (int i = 0; i < 500; ++i) {
    REQUIRE(boxes[static_cast<std::size_t>(i)] != nullptr);
    CHECK(*boxes[static_cast<std::size_t>(i)] == i);
    CHECK(unboxed[static_cast<std::size_t>(i)] == 2 * i);
  }
}

TEST_CASE("map returns any movable result type") {
  mpp::Pool pool(3);
  const auto xs = std::views::iota(0, 300);

  SUBCASE("strings") {
    auto out = pool.map([](int x) { return std::to_string(x); }, xs, {.chunksize = 7});
    CHECK(out == mpp_test::sequential_map([](int x) { return std::to_string(x); }, xs));
  }
  SUBCASE("bool, whose std::vector packs bits") {
    auto out = pool.map([](int x) { return x % 3 == 0; }, xs, {.chunksize = 1});
    CHECK(out == mpp_test::sequential_map([](int x) { return x % 3 == 0; }, xs));
  }
  SUBCASE("move-only results") {
    auto out = pool.map([](int x) { return std::make_unique<int>(x); }, xs);
    REQUIRE(out.size() == 300);
    for (int i = 0; i < 300; ++i) CHECK(*out[static_cast<std::size_t>(i)] == i);
  }
  SUBCASE("results without a default constructor") {
    struct NoDefault {
      explicit NoDefault(int v) : value(v) {}
      int value;
    };
    auto out = pool.map([](int x) { return NoDefault(x * x); }, xs, {.chunksize = 4});
    REQUIRE(out.size() == 300);
    for (int i = 0; i < 300; ++i) CHECK(out[static_cast<std::size_t>(i)].value == i * i);
  }
  SUBCASE("containers of plain structs, which cereal cannot serialize") {
    struct Point {
      double x, y;
    };
    auto out = pool.map([](int x) { return std::vector<Point>(2, Point{double(x), 0}); }, xs);
    REQUIRE(out.size() == 300);
    CHECK(out[299][1].x == 299.0);
  }
}

TEST_CASE("map accepts function pointers, lambdas and function objects with state") {
  mpp::Pool pool(2);
  const std::vector<int> xs{1, 2, 3, 4};
  CHECK(pool.map(work, xs) == mpp_test::sequential_map(work, xs));
  struct Scale {
    int factor;
    int operator()(int x) const { return factor * x; }
  };
  CHECK(pool.map(Scale{10}, xs) == std::vector<int>{10, 20, 30, 40});
  const std::deque<double> ds{0.5, 1.5};
  CHECK(pool.map([](double d) { return d * 2; }, ds) == std::vector<double>{1.0, 3.0});
}

TEST_CASE("starmap calls f(*args) for each tuple, like Python's starmap") {
  mpp::Pool pool(4);
  // >>> p.starmap(operator.add, [(1, 2), (3, 4)]) == [3, 7]
  const std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  CHECK(pool.starmap([](int a, int b) { return a + b; }, pairs) == std::vector<int>{3, 7, 11});

  std::vector<std::tuple<int, double, std::string>> triples;
  for (int i = 0; i < 1'000; ++i) triples.emplace_back(i, i * 0.5, std::string(i % 5, 'x'));
  auto f = [](int i, double d, const std::string& s) {
    return std::to_string(i) + ":" + std::to_string(d) + ":" + s;
  };
  std::vector<std::string> expected;
  for (const auto& t : triples) expected.push_back(std::apply(f, t));
  for_each_option(triples.size(), [&](const mpp::MapOptions& options) {
    CHECK(pool.starmap(f, triples, options) == expected);
  });

  const std::vector<std::tuple<int, int>> none;
  CHECK(pool.starmap([](int a, int b) { return a * b; }, none).empty());
}
