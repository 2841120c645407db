// The library's own synchronisation: what a task writes is visible to whoever learns that it
// finished. The flags and values here are plain (non-atomic) on purpose, so that a missing
// happens-before edge in the library is a data race ThreadSanitizer reports, not something the
// test papers over with its own atomics.

#include <doctest/doctest.h>

#include <mpp/mpp.hpp>
#include <ranges>
#include <string>
#include <vector>

#include "support.hpp"

TEST_CASE("a task's plain writes are visible after get()") {
  mpp::Pool pool(2);
  for (int round = 0; round < 200; ++round) {
    int plain = 0;
    std::string text;
    auto r = pool.apply_async([&] {
      plain = round + 1;
      text = "written by the task";
    });
    r.get();
    CHECK(plain == round + 1);
    CHECK(text == "written by the task");
  }
}

TEST_CASE("a task's plain writes are visible after wait(timeout), ready() and successful()") {
  mpp::Pool pool(2);
  for (int round = 0; round < 200; ++round) {
    int plain = 0;
    auto r = pool.apply_async([&] { plain = 1; });
    if (round % 2 == 0) {
      REQUIRE(r.wait(mpp_test::patience));
    } else {
      REQUIRE(mpp_test::eventually([&] { return r.ready(); }));
    }
    CHECK(r.successful());
    CHECK(plain == 1);
  }
}

TEST_CASE("the caller's plain writes before submitting are visible to the task") {
  mpp::Pool pool(2);
  for (int round = 0; round < 200; ++round) {
    std::vector<int> input(64, round);  // written by the caller, read by the task
    auto r = pool.apply_async([&] {
      int sum = 0;
      for (int v : input) sum += v;
      return sum;
    });
    CHECK(r.get() == 64 * round);
  }
}

TEST_CASE("map items' plain writes are visible after map returns") {
  mpp::Pool pool(4);
  std::vector<int> side(10'000, 0);  // each item writes its own element, no atomics
  for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                 mpp::schedule::python}) {
    (void)pool.map(
        [&](int i) {
          side[static_cast<std::size_t>(i)] += 1;
          return 0;
        },
        std::views::iota(0, 10'000), {.schedule = s});
  }
  int wrong = 0;
  for (int v : side) wrong += v != 4;
  CHECK(wrong == 0);
}

TEST_CASE("a callback's plain writes are visible after get(), and so are the result's") {
  mpp::Pool pool(2);
  for (int round = 0; round < 200; ++round) {
    int from_callback = 0;
    int from_error_callback = 0;
    auto ok = pool.apply_async(mpp::callbacks([&](int v) { from_callback = v; }),
                               [round] { return round; });
    auto bad = pool.apply_async(
        mpp::callbacks([](int) {}, [&](const std::exception_ptr&) { from_error_callback = 1; }),
        []() -> int { throw 1; });
    CHECK(ok.get() == round);
    CHECK(from_callback == round);
    CHECK_THROWS(bad.get());
    CHECK(from_error_callback == 1);
  }
}

TEST_CASE("join() orders every task's plain writes before the caller's reads") {
  std::vector<int> slots(500, 0);
  mpp::Pool pool(4);
  for (int i = 0; i < 500; ++i) {
    (void)pool.apply_async([&slots, i] { slots[static_cast<std::size_t>(i)] = i; });
  }
  pool.close();
  pool.join();
  int wrong = 0;
  for (int i = 0; i < 500; ++i) wrong += slots[static_cast<std::size_t>(i)] != i;
  CHECK(wrong == 0);
}

TEST_CASE("imap results and the items' plain writes are visible to the consumer") {
  mpp::Pool pool(3);
  std::vector<int> side(2'000, 0);
  int position = 0;
  for (int r : pool.imap(
           [&](int i) {
             side[static_cast<std::size_t>(i)] = i + 1;
             return i;
           },
           std::views::iota(0, 2'000), {.chunksize = 3})) {
    CHECK(side[static_cast<std::size_t>(r)] == r + 1);
    ++position;
  }
  CHECK(position == 2'000);
  std::vector<int> seen(2'000, 0);
  for (int r : pool.imap_unordered(
           [&](int i) {
             seen[static_cast<std::size_t>(i)] = 1;
             return i;
           },
           std::views::iota(0, 2'000), {.chunksize = 5})) {
    CHECK(seen[static_cast<std::size_t>(r)] == 1);
  }
}

TEST_CASE("a nested task's plain writes are visible to the task that waited for it") {
  mpp::Pool pool(2);
  auto outer = pool.apply_async([&] {
    int total = 0;
    for (int i = 0; i < 100; ++i) {
      int plain = 0;
      pool.apply_async([&] { plain = i; }).get();
      total += plain;
    }
    return total;
  });
  REQUIRE(outer.wait(mpp_test::patience));
  CHECK(outer.get() == 4'950);
}
