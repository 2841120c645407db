// Exceptions raised by tasks reach the caller with their type intact, as in Python, where
// `p.map(f, xs)` and `p.apply_async(f).get()` raise the worker's exception in the caller. When a
// map item fails, the map stops handing out work, and the pool keeps working afterwards.

#include <doctest/doctest.h>

#include <atomic>
#include <mpp/mpp.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

// An exception type of the user's own, carrying data beyond its message.
struct ItemError : std::runtime_error {
  ItemError(int item, std::string why) : std::runtime_error(std::move(why)), item(item) {}
  int item;
};

}  // namespace

TEST_CASE("get() rethrows the task's exception with its own type and data") {
  mpp::Pool pool(2);
  auto r = pool.apply_async([]() -> int { throw ItemError(7, "seven failed"); });
  try {
    (void)r.get();
    FAIL("get() did not throw");
  } catch (const ItemError& e) {
    CHECK(e.item == 7);
    CHECK(std::string(e.what()) == "seven failed");
  }
  // The same exception comes out every time get() is asked.
  CHECK_THROWS_AS((void)r.get(), ItemError);
  CHECK_FALSE(r.successful());
}

TEST_CASE("exceptions that do not derive from std::exception reach the caller too") {
  mpp::Pool pool(2);
  CHECK_THROWS_AS(pool.apply([]() -> int { throw 42; }), int);
  CHECK_THROWS_AS(pool.map([](int x) -> int { throw std::string("item ") + std::to_string(x); },
                           std::vector<int>{1}),
                  std::string);
}

TEST_CASE("map rethrows the exception of a failing item with its type intact") {
  mpp::Pool pool(4);
  for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                 mpp::schedule::python}) {
    INFO("schedule = " << static_cast<int>(s));
    auto f = [](int x) {
      if (x == 613) throw ItemError(x, "bad item");
      return x;
    };
    try {
      (void)pool.map(f, std::views::iota(0, 1'000), {.schedule = s});
      FAIL("map did not throw");
    } catch (const ItemError& e) {
      CHECK(e.item == 613);
    }
    CHECK_THROWS_AS((void)pool.map_async(f, std::views::iota(0, 1'000), {.schedule = s}).get(),
                    ItemError);
    CHECK_THROWS_AS(
        pool.starmap([&](int x, int) { return f(x); },
                     std::vector<std::pair<int, int>>(1'000, {613, 0}), {.schedule = s}),
        ItemError);
  }
}

// Python's test_map_handle_iterable_exception: an input that throws while it is read makes map
// raise that exception, whether it throws at the first item or later.
TEST_CASE("map over an input that throws while it is read rethrows the input's exception") {
  mpp::Pool pool(2);
  auto square = [](int x) { return x * x; };
  for (const int throw_at : {0, 3}) {
    INFO("throw_at = " << throw_at);
    // A sized input whose items are made as they are read, like a generator with a length.
    auto input = std::views::iota(0, 10) | std::views::transform([throw_at](int x) {
                   if (x == throw_at) throw ItemError(x, "the input failed");
                   return x;
                 });
    CHECK_THROWS_AS((void)pool.map(square, input, {.chunksize = 1}), ItemError);
    CHECK_THROWS_AS((void)pool.map_async(square, input, {.chunksize = 1}).get(), ItemError);
  }
  CHECK(pool.apply([] { return 2; }) == 2);
}

TEST_CASE("when several items fail, map rethrows one of their exceptions") {
  mpp::Pool pool(4);
  try {
    (void)pool.map([](int x) -> int { throw ItemError(x, "every item fails"); },
                   std::views::iota(0, 10'000));
    FAIL("map did not throw");
  } catch (const ItemError& e) {
    CHECK(e.item >= 0);
    CHECK(e.item < 10'000);
  }
}

TEST_CASE("after one item fails, the rest of the map is cancelled") {
  // The first item throws; every other item is slow. Chunks already running finish, but the map
  // stops handing out chunks, so far fewer than n items ever start. (Checked where chunks are
  // small next to n: a schedule that hands each thread one big block up front, such as the
  // default static_ or adaptive's first splits, may run a whole block that had started.)
  constexpr int n = 20'000;
  mpp::Pool pool(2);
  struct Case {
    const char* name;
    mpp::MapOptions options;
  };
  for (const Case& c :
       {Case{"adaptive, chunksize 1", {.chunksize = 1}},
        Case{"adaptive, chunksize 50", {.chunksize = 50}},
        Case{"static_, chunksize 1", {.chunksize = 1, .schedule = mpp::schedule::static_}},
        Case{"dynamic", {.schedule = mpp::schedule::dynamic}},
        Case{"dynamic, chunksize 50", {.chunksize = 50, .schedule = mpp::schedule::dynamic}},
        Case{"python", {.schedule = mpp::schedule::python}}}) {
    INFO(c.name);
    std::atomic<int> started{0};
    auto f = [&](int x) {
      started.fetch_add(1, std::memory_order_relaxed);
      if (x == 0) throw ItemError(0, "first item");
      mpp_test::pause_briefly();
      return x;
    };
    CHECK_THROWS_AS(pool.map(f, std::views::iota(0, n), c.options), ItemError);
    const int after_map = started.load();
    CHECK(after_map < n / 4);
    // Nothing of the failed map runs after map has thrown.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(started.load() == after_map);
  }
}

TEST_CASE("the pool keeps working after tasks and maps failed") {
  mpp::Pool pool(2);
  for (int round = 0; round < 20; ++round) {
    CHECK_THROWS_AS(
        pool.map([](int x) -> int { throw ItemError(x, "map"); }, std::views::iota(0, 100)),
        ItemError);
    CHECK_THROWS_AS(pool.apply([]() -> int { throw ItemError(-1, "apply"); }), ItemError);
  }
  CHECK(pool.map([](int x) { return x + 1; }, std::views::iota(0, 1'000)).back() == 1'000);
  CHECK(pool.apply([] { return 5; }) == 5);
  int count = 0;
  for (int x : pool.imap([](int x) { return x; }, std::views::iota(0, 10))) count += x >= 0;
  CHECK(count == 10);
}

TEST_CASE("an exception in a nested map reaches the outer map's caller") {
  mpp::Pool pool(2);
  auto inner = [&](int x) {
    return pool
        .map(
            [x](int y) {
              if (x == 3 && y == 5) throw ItemError(x * 100 + y, "inner");
              return y;
            },
            std::views::iota(0, 10))
        .size();
  };
  try {
    (void)pool.map(inner, std::views::iota(0, 8));
    FAIL("map did not throw");
  } catch (const ItemError& e) {
    CHECK(e.item == 305);
  }
}
