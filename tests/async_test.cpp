// apply, apply_async, map_async and starmap_async, with Python's callback and error_callback:
//
//     >>> p.apply(pow, (2, 10))                                  # 1024
//     >>> r = p.apply_async(pow, (2, 10), callback=print)        # print(1024) runs before
//     >>> r.get()                                                # ... get() returns 1024
//     >>> p.map_async(f, xs, callback=cb).get() == list(map(f, xs))
//     >>> p.starmap_async(pow, [(2, 3), (3, 2)]).get()           # [8, 9]
//     >>> p.apply_async(fail, error_callback=ecb)                # ecb(exc) runs, get() raises exc

#include <doctest/doctest.h>

#include <atomic>
#include <exception>
#include <functional>
#include <memory>
#include <mpp/mpp.hpp>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

TEST_CASE("apply runs f(args...) on the pool and returns its result") {
  mpp::Pool pool(2);
  CHECK(pool.apply(
            [](int base, int exp) {
              int r = 1;
              for (int i = 0; i < exp; ++i) r *= base;
              return r;
            },
            2, 10) == 1024);
  CHECK(pool.apply([] { return std::string("no arguments"); }) == "no arguments");
  // void functions are fine too.
  int side_effect = 0;
  pool.apply([&] { side_effect = 42; });
  CHECK(side_effect == 42);
}

TEST_CASE("apply runs on a pool thread, not on the caller") {
  mpp::Pool pool(2);
  const auto caller = std::this_thread::get_id();
  CHECK(pool.apply([] { return std::this_thread::get_id(); }) != caller);
  CHECK(pool.apply([] { return mpp::this_worker::index(); }) >= 0);
}

TEST_CASE("apply_async copies or moves its function and arguments into the task, like std::async") {
  mpp::Pool pool(2);
  mpp::AsyncResult<std::string> r;
  {
    std::string prefix = "hello ";
    std::string name = "world";
    r = pool.apply_async([](const std::string& a, const std::string& b) { return a + b; }, prefix,
                         name);
    prefix = "changed";  // the task holds its own copies
  }
  CHECK(r.get() == "hello world");

  // Move-only arguments are moved in.
  auto box = std::make_unique<int>(7);
  auto moved = pool.apply_async([](std::unique_ptr<int> p) { return *p * 6; }, std::move(box));
  CHECK(moved.get() == 42);
}

TEST_CASE("apply_async returns at once, and the task runs concurrently with the caller") {
  mpp::Pool pool(2);
  mpp_test::Event go;
  auto r = pool.apply_async([&] { return go.wait() ? 1 : -1; });
  // The caller is free while the task waits for it.
  CHECK_FALSE(r.ready());
  go.set();
  CHECK(r.get() == 1);
}

TEST_CASE("many apply_async results each get their own value") {
  mpp::Pool pool(4);
  std::vector<mpp::AsyncResult<int>> results;
  for (int i = 0; i < 1'000; ++i)
    results.push_back(pool.apply_async([](int x) { return x * x; }, i));
  for (int i = 0; i < 1'000; ++i) CHECK(results[static_cast<std::size_t>(i)].get() == i * i);
}

TEST_CASE("map_async returns an AsyncResult of the whole list") {
  mpp::Pool pool(3);
  const auto xs = std::views::iota(0, 5'000);
  auto r = pool.map_async([](int x) { return 3 * x + 1; }, xs, {.chunksize = 10});
  const auto expected = mpp_test::sequential_map([](int x) { return 3 * x + 1; }, xs);
  REQUIRE(r.wait(mpp_test::patience));
  CHECK(r.successful());
  CHECK(r.get() == expected);
}

TEST_CASE("map_async copies its input, so the caller's container may go away") {
  mpp::Pool pool(2);
  mpp::AsyncResult<std::vector<int>> r;
  {
    std::vector<int> xs{1, 2, 3, 4, 5};
    r = pool.map_async([](int x) { return -x; }, xs);
    xs.assign(5, 0);
  }
  CHECK(r.get() == std::vector<int>{-1, -2, -3, -4, -5});

  // std::views::all shares the container instead; it must then outlive the result.
  std::vector<int> shared{10, 20};
  auto s = pool.map_async([](int x) { return x / 10; }, std::views::all(shared));
  CHECK(s.get() == std::vector<int>{1, 2});
}

TEST_CASE("starmap_async applies f to each tuple's elements") {
  mpp::Pool pool(2);
  std::vector<std::pair<int, int>> pairs{{2, 3}, {3, 2}, {10, 0}};
  auto power = [](int base, int exp) {
    int r = 1;
    for (int i = 0; i < exp; ++i) r *= base;
    return r;
  };
  CHECK(pool.starmap_async(power, pairs).get() == std::vector<int>{8, 9, 1});
  CHECK(pool.starmap_async(power, pairs, {.chunksize = 1}).get() == std::vector<int>{8, 9, 1});
  CHECK(pool.starmap_async(power, std::vector<std::tuple<int, int>>{}).get().empty());
}

TEST_CASE("callback runs with the result before get() returns") {
  mpp::Pool pool(2);
  SUBCASE("apply_async") {
    int seen = 0;  // plain int: get() must order the callback's write before our read
    auto r = pool.apply_async(mpp::callbacks([&](int v) { seen = v; }), [] { return 99; });
    CHECK(r.get() == 99);
    CHECK(seen == 99);
  }
  SUBCASE("apply_async of a void function") {
    bool called = false;
    auto r = pool.apply_async(mpp::callbacks([&] { called = true; }), [] {});
    r.get();
    CHECK(called);
  }
  SUBCASE("map_async") {
    std::vector<int> seen;
    auto r = pool.map_async([](int x) { return x + 1; }, std::vector<int>{1, 2, 3}, {},
                            mpp::callbacks([&](const std::vector<int>& v) { seen = v; }));
    CHECK(r.get() == std::vector<int>{2, 3, 4});
    CHECK(seen == std::vector<int>{2, 3, 4});
  }
  SUBCASE("starmap_async") {
    int total = 0;
    auto r = pool.starmap_async([](int a, int b) { return a * b; },
                                std::vector<std::pair<int, int>>{{2, 3}, {4, 5}}, {},
                                mpp::callbacks([&](const std::vector<int>& v) {
                                  total = std::accumulate(v.begin(), v.end(), 0);
                                }));
    r.wait();
    CHECK(total == 26);
  }
  SUBCASE("ready() is true only after the callback has run") {
    std::atomic<bool> callback_done{false};
    mpp_test::Event release;
    auto r = pool.apply_async(mpp::callbacks([&](int) {
                                release.wait();
                                callback_done = true;
                              }),
                              [] { return 1; });
    // The task itself is done, but the result is not ready while its callback runs.
    CHECK_FALSE(r.wait(20ms));
    CHECK_FALSE(r.ready());
    release.set();
    CHECK(r.get() == 1);
    CHECK(callback_done);
  }
}

TEST_CASE(
    "the callback is not called when the task throws, nor the error_callback when it does not") {
  mpp::Pool pool(2);
  std::atomic<int> callbacks{0};
  std::atomic<int> error_callbacks{0};
  auto cbs = mpp::callbacks([&](int) { ++callbacks; },
                            [&](const std::exception_ptr&) { ++error_callbacks; });
  auto ok = pool.apply_async(cbs, [] { return 1; });
  auto bad = pool.apply_async(cbs, []() -> int { throw std::runtime_error("no"); });
  CHECK(ok.get() == 1);
  CHECK_THROWS_AS(bad.get(), std::runtime_error);
  CHECK(callbacks == 1);
  CHECK(error_callbacks == 1);
}

TEST_CASE("error_callback receives the task's exception_ptr, and get() rethrows the same") {
  mpp::Pool pool(2);
  std::exception_ptr received;
  auto r = pool.apply_async(
      mpp::callbacks([](int) {}, [&](const std::exception_ptr& e) { received = e; }),
      []() -> int { throw std::out_of_range("item 3"); });
  CHECK_THROWS_AS(r.get(), std::out_of_range);
  REQUIRE(received != nullptr);
  CHECK_THROWS_WITH_AS(std::rethrow_exception(received), "item 3", std::out_of_range);

  SUBCASE("for map_async, with the failing item's exception") {
    std::exception_ptr map_error;
    auto m = pool.map_async(
        [](int x) {
          if (x == 17) throw std::domain_error("seventeen");
          return x;
        },
        std::views::iota(0, 100), {},
        mpp::callbacks([](const std::vector<int>&) {},
                       [&](const std::exception_ptr& e) { map_error = e; }));
    CHECK_THROWS_AS(m.get(), std::domain_error);
    REQUIRE(map_error != nullptr);
    CHECK_THROWS_AS(std::rethrow_exception(map_error), std::domain_error);
  }
}

TEST_CASE("an empty std::function or a null pointer as a callback is no callback, as None") {
  mpp::Pool pool(2);
  const std::function<void(int)> none;
  void (*null)(const std::exception_ptr&) = nullptr;
  auto r = pool.apply_async(mpp::callbacks(none, null), [] { return 7; });
  CHECK(r.get() == 7);
  auto failed = pool.apply_async(mpp::callbacks(none, null),
                                 []() -> int { throw std::runtime_error("task failed"); });
  CHECK_THROWS_WITH_AS(failed.get(), "task failed", std::runtime_error);
}

TEST_CASE("an exception thrown by a callback is what get() rethrows") {
  mpp::Pool pool(2);
  SUBCASE("callback") {
    auto r = pool.apply_async(mpp::callbacks([](int) { throw std::logic_error("from callback"); }),
                              [] { return 5; });
    CHECK_THROWS_WITH_AS(r.get(), "from callback", std::logic_error);
    CHECK_FALSE(r.successful());
  }
  SUBCASE("error_callback") {
    auto r = pool.apply_async(
        mpp::callbacks([](int) {},
                       [](const std::exception_ptr&) { throw std::length_error("ecb"); }),
        []() -> int { throw std::runtime_error("task"); });
    CHECK_THROWS_WITH_AS(r.get(), "ecb", std::length_error);
  }
  // A failed callback does not harm the pool.
  CHECK(pool.apply([] { return 3; }) == 3);
}

TEST_CASE("callbacks may submit more work to the pool") {
  mpp::Pool pool(2);
  mpp::AsyncResult<int> follow_up;
  mpp_test::Event submitted;
  auto r = pool.apply_async(mpp::callbacks([&](int v) {
                              follow_up = pool.apply_async([](int x) { return x * 2; }, v);
                              submitted.set();
                            }),
                            [] { return 21; });
  CHECK(r.get() == 21);
  REQUIRE(submitted.wait());
  CHECK(follow_up.get() == 42);
}

TEST_CASE("a task's function is moved, never copied, into the pool") {
  mpp::Pool pool(2);
  struct Counted {
    std::atomic<int>* copies;
    Counted(std::atomic<int>* c) : copies(c) {}
    Counted(const Counted& other) : copies(other.copies) { ++*copies; }
    Counted(Counted&&) noexcept = default;
    int operator()() const { return 1; }
  };
  std::atomic<int> copies{0};
  CHECK(pool.apply_async(Counted(&copies)).get() == 1);
  CHECK(pool.apply(Counted(&copies)) == 1);
  CHECK(copies == 0);
  // A move-only function (here, one owning a unique_ptr) is accepted.
  auto owner = [p = std::make_unique<int>(3)] { return *p; };
  CHECK(pool.apply_async(std::move(owner)).get() == 3);
}

TEST_CASE("a task's function and what it captured are destroyed right after it runs") {
  mpp::Pool pool(2);
  auto resource = std::make_shared<int>(1);
  std::weak_ptr<int> watch = resource;
  auto r = pool.apply_async([held = std::move(resource)] { return *held + 1; });
  CHECK(r.get() == 2);
  // The result is still held, but the task no longer keeps its captures alive.
  CHECK(watch.expired());

  SUBCASE("also when the task threw") {
    auto failing_resource = std::make_shared<int>(2);
    std::weak_ptr<int> failing_watch = failing_resource;
    auto f = pool.apply_async([held = std::move(failing_resource)]() -> int {
      throw std::runtime_error(std::to_string(*held));
    });
    CHECK_THROWS_AS((void)f.get(), std::runtime_error);
    CHECK(failing_watch.expired());
  }
}
