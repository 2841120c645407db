// mpp::AsyncResult, Python's multiprocessing.pool.AsyncResult:
//
//     r.get()          the value, or the task's exception raised again
//     r.get(timeout)   ... or multiprocessing.TimeoutError   (mpp::TimeoutError)
//     r.wait(timeout)  blocks at most `timeout`               (mpp returns ready())
//     r.ready()        finished, with a value or an exception
//     r.successful()   finished without exception; ValueError if not ready (mpp::NotReadyError)

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mpp/mpp.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

TEST_CASE("get returns the value, and may be called again on the same result") {
  mpp::Pool pool(2);
  auto r = pool.apply_async([] { return std::string("value"); });
  CHECK(r.get() == "value");
  CHECK(r.get() == "value");
  const auto& ref = r.get();
  CHECK(&ref == &r.get());  // an lvalue result hands out a reference to the stored value
}

TEST_CASE("get(timeout) throws mpp::TimeoutError while the task runs, and succeeds later") {
  mpp::Pool pool(2);
  mpp_test::Event release;
  auto r = pool.apply_async([&] { return release.wait() ? 7 : -1; });
  CHECK_THROWS_AS(r.get(10ms), mpp::TimeoutError);
  static_assert(std::is_base_of_v<std::runtime_error, mpp::TimeoutError>);
  // The task keeps running: a later get succeeds.
  release.set();
  CHECK(r.get(mpp_test::patience) == 7);
  CHECK(r.get(0ms) == 7);  // a ready result never times out
}

TEST_CASE("wait(timeout) returns whether the result became ready in time") {
  mpp::Pool pool(2);
  mpp_test::Event release;
  auto r = pool.apply_async([&] { return release.wait(); });
  CHECK_FALSE(r.wait(10ms));
  CHECK_FALSE(r.wait(0s));
  CHECK_FALSE(r.ready());
  release.set();
  CHECK(r.wait(mpp_test::patience));
  CHECK(r.ready());
  CHECK(r.wait(0s));
  CHECK(r.get());
}

TEST_CASE("ready and successful, as Python's AsyncResult") {
  mpp::Pool pool(2);
  mpp_test::Event release;
  auto ok = pool.apply_async([&] { return release.wait(); });
  auto bad = pool.apply_async([&]() -> int {
    release.wait();
    throw std::runtime_error("failed");
  });

  SUBCASE("successful() before ready throws mpp::NotReadyError, a std::logic_error") {
    CHECK_FALSE(ok.ready());
    CHECK_THROWS_AS((void)ok.successful(), mpp::NotReadyError);
    CHECK_THROWS_AS((void)bad.successful(), std::logic_error);
    try {
      (void)ok.successful();
    } catch (const mpp::NotReadyError& e) {
      CHECK(std::string(e.what()).find("not ready") != std::string::npos);
    }
  }
  release.set();
  REQUIRE(ok.wait(mpp_test::patience));
  REQUIRE(bad.wait(mpp_test::patience));
  CHECK(ok.ready());
  CHECK(bad.ready());  // finished with an exception is still ready
  CHECK(ok.successful());
  CHECK_FALSE(bad.successful());
}

TEST_CASE("get on an rvalue moves the value out, so move-only results work") {
  mpp::Pool pool(2);
  std::unique_ptr<int> p = pool.apply_async([] { return std::make_unique<int>(5); }).get();
  REQUIRE(p != nullptr);
  CHECK(*p == 5);

  auto r = pool.apply_async([] { return std::vector<int>(1'000, 3); });
  const int* data = r.get().data();
  std::vector<int> taken = std::move(r).get();
  CHECK(taken.size() == 1'000);
  CHECK(taken.data() == data);  // moved, not copied
}

TEST_CASE("get on an rvalue copies while a copy of the handle or a continuation still reads it") {
  mpp::Pool pool(2);
  auto r = pool.apply_async([] { return std::string(100, 'x'); });
  const auto copy = r;
  const auto length = r.then(pool, [](const std::string& s) { return s.size(); });
  CHECK(std::move(r).get() == std::string(100, 'x'));
  CHECK(copy.get() == std::string(100, 'x'));  // not emptied by the move above
  CHECK(length.get() == 100);

  // The last handle moves: a temporary's value is never copied.
  struct Counted {
    int copies = 0;
    Counted() = default;
    Counted(const Counted& other) : copies(other.copies + 1) {}
    Counted(Counted&&) noexcept = default;
    Counted& operator=(const Counted&) = default;
    Counted& operator=(Counted&&) noexcept = default;
  };
  CHECK(pool.apply_async([] { return Counted{}; }).get().copies == 0);
  auto shared = pool.apply_async([] { return Counted{}; });
  auto second = shared;
  CHECK(std::move(shared).get().copies == 1);
  shared = {};
  CHECK(std::move(second).get().copies == 0);  // the last handle now
}

TEST_CASE("several threads may wait for and get one result") {
  mpp::Pool pool(2);
  mpp_test::Event release;
  auto r = pool.apply_async([&] {
    release.wait();
    return std::string(100, 'x');
  });
  constexpr int readers = 6;
  std::atomic<int> correct{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < readers; ++i) {
    // Each reader has its own copy of the handle, as Python's shared AsyncResult.
    threads.emplace_back([r, &correct] {
      if (r.wait(mpp_test::patience) && r.get() == std::string(100, 'x')) ++correct;
    });
  }
  release.set();
  for (auto& t : threads) t.join();
  CHECK(correct == readers);
}

TEST_CASE("timed waits on many results each end when their own task finishes") {
  // More waiting results than the pool keeps condition variables for timed waits: each waiter
  // is woken by its own task, in any order, and none waits out its timeout.
  mpp::Pool pool(2);
  constexpr int tasks = 40;
  std::vector<mpp_test::Event> release(tasks);
  std::vector<mpp::AsyncResult<int>> results;
  for (int i = 0; i < tasks; ++i) {
    results.push_back(pool.apply_async([&release, i] { return release[i].wait() ? i : -1; }));
  }
  std::atomic<int> in_time{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < tasks; ++i) {
    waiters.emplace_back([&, i] {
      if (results[i].wait(mpp_test::patience) && results[i].get() == i) ++in_time;
    });
  }
  for (int i = tasks - 1; i >= 0; --i) release[i].set();  // the queued tasks wait for the last
  for (auto& t : waiters) t.join();
  CHECK(in_time == tasks);
}

TEST_CASE("several threads may call get() on the very same handle") {
  mpp::Pool pool(2);
  for (int round = 0; round < 50; ++round) {
    auto r = pool.apply_async([round] { return round * 3; });
    std::atomic<int> correct{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&] {
        if (r.wait(mpp_test::patience) && r.get() == round * 3) ++correct;
      });
    }
    for (auto& t : threads) t.join();
    CHECK(correct == 4);
  }
}

TEST_CASE("a void task's result: get() returns nothing, or rethrows") {
  mpp::Pool pool(2);
  auto ok = pool.apply_async([] {});
  ok.get();
  CHECK(ok.successful());
  auto bad = pool.apply_async([] { throw std::invalid_argument("void task"); });
  CHECK_THROWS_AS(bad.get(), std::invalid_argument);
  CHECK_THROWS_AS(bad.get(mpp_test::patience), std::invalid_argument);
}

TEST_CASE("an empty handle says so instead of crashing") {
  mpp::AsyncResult<int> empty;
  CHECK_FALSE(empty.valid());
  CHECK_THROWS_AS((void)empty.ready(), std::logic_error);
  CHECK_THROWS_AS((void)empty.get(), std::logic_error);
  mpp::Pool pool(1);
  auto r = pool.apply_async([] { return 1; });
  CHECK(r.valid());
  CHECK(r.get() == 1);
}

namespace {
// Counts the live instances of a task's result.
struct Counted {
  static inline std::atomic<int> alive{0};
  Counted() { ++alive; }
  Counted(const Counted&) { ++alive; }
  Counted(Counted&&) noexcept { ++alive; }
  ~Counted() { --alive; }
};
}  // namespace

TEST_CASE("copies of a result share one task, whose value lives until the last copy is gone") {
  mpp::Pool pool(2);
  {
    auto r = pool.apply_async([] { return Counted{}; });
    r.wait();
    auto copy = r;
    { auto moved = std::move(r); }
    CHECK(Counted::alive == 1);
    CHECK(copy.ready());
    (void)copy.get();
    copy = mpp::AsyncResult<Counted>();
    CHECK_FALSE(copy.valid());
  }
  // The worker lets go of its own reference just after it publishes the result, so it may be
  // the last owner, a moment after wait() returned.
  for (int i = 0; i < 5000 && Counted::alive != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(Counted::alive == 0);

  SUBCASE("a task whose handles were dropped before it ran still runs, and is freed after") {
    mpp_test::Event release;
    std::atomic<bool> ran{false};
    (void)pool.apply_async([&] {
      release.wait();
      ran = true;
      return Counted{};
    });
    release.set();
    pool.close();
    pool.join();
    CHECK(ran);
    CHECK(Counted::alive == 0);
  }
}
