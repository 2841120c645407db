// What a task knows about the thread it runs on: the pool's initializer has run there first
// (Python's `Pool(n, initializer)`), `mpp::worker_local<T>` gives it per-thread state, and
// `mpp::this_worker::index()` names its slot in [0, threads).

#include <doctest/doctest.h>

#include <pthread.h>

#include <atomic>
#include <csignal>
#include <exception>
#include <functional>
#include <map>
#include <mpp/mpp.hpp>
#include <mutex>
#include <numeric>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

// Records, per thread, how often the initializer ran there.
struct InitLog {
  std::mutex mutex;
  std::map<std::thread::id, int> runs;

  void initializer() {
    std::lock_guard lock(mutex);
    ++runs[std::this_thread::get_id()];
  }
  bool initialized_here() {
    std::lock_guard lock(mutex);
    return runs.contains(std::this_thread::get_id());
  }
  bool each_once() {
    std::lock_guard lock(mutex);
    for (const auto& [thread, count] : runs) {
      if (count != 1) return false;
    }
    return true;
  }
};

}  // namespace

TEST_CASE("the initializer runs once on each thread, before that thread's first task") {
  InitLog log;
  std::atomic<int> uninitialized{0};
  auto task = [&](int x) {
    if (!log.initialized_here()) ++uninitialized;
    return x;
  };
  {
    mpp::Pool pool({.threads = 2, .initializer = [&] { log.initializer(); }});
    for (int round = 0; round < 20; ++round) {
      std::vector<mpp::AsyncResult<int>> rs;
      for (int i = 0; i < 50; ++i) rs.push_back(pool.apply_async(task, i));
      for (auto& r : rs) CHECK(r.get() >= 0);
      CHECK(pool.map(task, std::views::iota(0, 1'000), {.chunksize = 1}).size() == 1'000);
      for (int x : pool.imap(task, std::views::iota(0, 50))) CHECK(x >= 0);
    }
  }
  CHECK(uninitialized == 0);
  CHECK(log.each_once());
  CHECK_FALSE(log.runs.empty());
}

TEST_CASE("an initializer may set up thread_local state that the tasks use") {
  static thread_local int seed = 0;
  mpp::Pool pool({.threads = 3, .initializer = [] { seed = 1234; }});
  auto seeds = pool.map([](int) { return seed; }, std::views::iota(0, 3'000), {.chunksize = 1});
  CHECK(std::ranges::all_of(seeds, [](int s) { return s == 1234; }));
}

TEST_CASE("a throwing initializer makes calls report mpp::InitializerError with the cause nested") {
  auto failing = [] { throw std::runtime_error("cannot open the database"); };
  auto check_nested_cause = [](const mpp::InitializerError& e) {
    try {
      std::rethrow_if_nested(e);
      FAIL("no nested exception");
    } catch (const std::runtime_error& cause) {
      CHECK(std::string(cause.what()) == "cannot open the database");
    }
  };

  SUBCASE("apply_async") {
    mpp::Pool pool({.threads = 2, .initializer = failing});
    auto r = pool.apply_async([] { return 1; });
    REQUIRE(r.wait(mpp_test::patience));
    try {
      (void)r.get();
      FAIL("the task ran although the initializer failed");
    } catch (const mpp::InitializerError& e) {
      check_nested_cause(e);
    }
    // Every later call reports it as well.
    try {
      (void)pool.apply_async([] { return 2; });
      FAIL("the pool accepted work");
    } catch (const mpp::InitializerError& e) {
      check_nested_cause(e);
    }
    CHECK_THROWS_AS(pool.map([](int x) { return x; }, std::views::iota(0, 10)),
                    mpp::InitializerError);
    CHECK_THROWS_AS((void)pool.imap([](int x) { return x; }, std::views::iota(0, 10)),
                    mpp::InitializerError);
  }
  SUBCASE("map") {
    std::atomic<int> ran{0};
    mpp::Pool pool({.threads = 2, .initializer = failing});
    auto f = [&](int x) {
      ++ran;
      return x;
    };
    CHECK_THROWS_AS(pool.map(f, std::views::iota(0, 100)), mpp::InitializerError);
    CHECK_THROWS_AS(pool.map(f, std::views::iota(0, 100)), mpp::InitializerError);
    CHECK(ran == 0);
  }
  SUBCASE("a failure on one thread only") {
    // The initializer fails on the second thread that runs it; the pool then stops all work.
    std::atomic<int> calls{0};
    mpp::Pool pool({.threads = 2, .initializer = [&] {
                      if (calls.fetch_add(1) == 1) throw std::runtime_error("second thread");
                    }});
    // Each task holds its thread until the other thread has entered the pool. A task that started
    // before the failure was recorded may still succeed (one thread may run both tasks); every
    // call from then on reports the failure, the second submission included: the second thread
    // may enter the pool, and fail, as soon as the first task is queued.
    std::vector<mpp::AsyncResult<void>> rs;
    for (int i = 0; i < 2; ++i) {
      try {
        rs.push_back(
            pool.apply_async([&] { (void)mpp_test::eventually([&] { return calls >= 2; }); }));
      } catch (const mpp::InitializerError&) {
      }
    }
    for (auto& r : rs) {
      REQUIRE(r.wait(mpp_test::patience));
      try {
        r.get();
      } catch (const mpp::InitializerError&) {
      }
    }
    CHECK(mpp_test::eventually([&] {
      try {
        pool.apply_async([] {}).get();
      } catch (const mpp::InitializerError&) {
        return true;
      }
      return false;
    }));
  }
}

TEST_CASE("this_worker::index() is between 0 and threads - 1 inside tasks and -1 outside") {
  CHECK(mpp::this_worker::index() == -1);
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    auto valid = [threads](int i) { return i >= 0 && i < threads; };
    auto index = [](auto&&...) { return mpp::this_worker::index(); };

    CHECK(valid(pool.apply(index)));
    auto from_map = pool.map(index, std::views::iota(0, 5'000), {.chunksize = 1});
    CHECK(std::ranges::all_of(from_map, valid));
    for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                   mpp::schedule::python}) {
      CHECK(
          std::ranges::all_of(pool.map(index, std::views::iota(0, 2'000), {.schedule = s}), valid));
    }
    CHECK(std::ranges::all_of(pool.map_async(index, std::views::iota(0, 2'000)).get(), valid));
    for (int i : pool.imap(index, std::views::iota(0, 200))) CHECK(valid(i));
    for (int i : pool.imap_unordered(index, std::views::iota(0, 200))) CHECK(valid(i));
    // Nested work sees the index of the thread it runs on.
    CHECK(valid(pool.apply([&] { return pool.apply(index); })));
    CHECK(mpp::this_worker::index() == -1);
  }
}

TEST_CASE("tasks running at the same time have different indices") {
  mpp::Pool pool(3);
  mpp_test::Rendezvous all(3);
  std::vector<mpp::AsyncResult<int>> rs;
  for (int i = 0; i < 3; ++i) {
    rs.push_back(pool.apply_async([&] {
      all.arrive_and_wait();
      return mpp::this_worker::index();
    }));
  }
  std::set<int> indices;
  for (auto& r : rs) {
    REQUIRE(r.wait(mpp_test::patience));
    indices.insert(r.get());
  }
  CHECK(indices == std::set<int>{0, 1, 2});
}

TEST_CASE("worker_local gives each thread its own value, and combine reduces them") {
  mpp::Pool pool(4);
  mpp::worker_local<long long> partial;
  constexpr int n = 100'000;
  (void)pool.map(
      [&](int x) {
        partial.local() += x;  // no lock: the value belongs to this thread
        return 0;
      },
      std::views::iota(0, n));
  CHECK(partial.combine(std::plus<>()) == static_cast<long long>(n) * (n - 1) / 2);
  CHECK(partial.size() >= 1);
  long long via_for_each = 0;
  partial.for_each([&](long long v) { via_for_each += v; });
  CHECK(via_for_each == static_cast<long long>(n) * (n - 1) / 2);
  long long via_iteration = 0;
  for (long long v : partial) via_iteration += v;
  CHECK(via_iteration == via_for_each);
}

TEST_CASE("worker_local values start from an exemplar or a factory") {
  mpp::Pool pool(2);
  mpp::worker_local<std::string> copies(std::string("start"));
  std::atomic<int> made{0};
  mpp::worker_local<std::vector<int>> buffers([&] {
    ++made;
    return std::vector<int>(16, 1);
  });
  auto ok = pool.map(
      [&](int) {
        const bool fresh_copy = copies.local().starts_with("start");
        copies.local() += "+";
        return fresh_copy && buffers.local().size() == 16;
      },
      std::views::iota(0, 1'000));
  CHECK(std::ranges::all_of(ok, [](bool b) { return b; }));
  CHECK(made == static_cast<int>(buffers.size()));
  std::size_t pluses = 0;
  copies.for_each([&](const std::string& s) { pluses += s.size() - 5; });
  CHECK(pluses == 1'000);
}

TEST_CASE("an item of a pool runs only where that pool's initializer ran, and no other since") {
  // Two pools whose initializers tag their threads: oneTBB lends threads from pool to pool, and
  // a thread that served b is prepared by a's initializer again before it runs a's items.
  static thread_local int tag = 0;
  mpp::Pool a({.threads = 2, .initializer = [] { tag = 1; }});
  mpp::Pool b({.threads = 2, .initializer = [] { tag = 2; }});
  std::atomic<int> wrong{0};
  auto expect = [&](int wanted) {
    return [&wrong, wanted](int x) {
      if (tag != wanted) ++wrong;
      return x;
    };
  };
  for (int round = 0; round < 20; ++round) {
    auto from_a = a.map_async(expect(1), std::views::iota(0, 400), {.chunksize = 1});
    auto from_b = b.map_async(expect(2), std::views::iota(0, 400), {.chunksize = 1});
    CHECK(a.map(expect(1), std::views::iota(0, 200), {.chunksize = 1}).size() == 200);
    CHECK(b.map(expect(2), std::views::iota(0, 200), {.chunksize = 1}).size() == 200);
    CHECK(b.apply_async(expect(2), 1).get() == 1);
    CHECK(from_a.get().size() == 400);
    CHECK(from_b.get().size() == 400);
  }
  CHECK(wrong == 0);
}

TEST_CASE("a pool's initializer never runs on the calling thread, nor changes its signal mask") {
  // Python runs the initializer in the pool's own processes only. Here an initializer blocks
  // SIGINT and SIGTERM for its threads: the thread calling map must keep Ctrl-C.
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> ran_on_caller{false};
  auto block_signals = [&] {
    if (std::this_thread::get_id() == caller) ran_on_caller = true;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  };
  static thread_local bool prepared = false;
  mpp::Pool pool({.threads = 2, .initializer = [&] {
                    block_signals();
                    prepared = true;
                  }});
  auto on_prepared = [](int x) { return prepared ? x : -1; };
  std::vector<int> expected(1'000);
  std::iota(expected.begin(), expected.end(), 0);
  CHECK(pool.map(on_prepared, std::views::iota(0, 1'000)) == expected);
  CHECK(pool.apply(on_prepared, 5) == 5);
  CHECK(pool.starmap([](int x, int y) { return prepared ? x + y : -1; },
                     std::vector<std::pair<int, int>>{{1, 2}, {3, 4}}) == std::vector<int>{3, 7});
  CHECK_FALSE(ran_on_caller);
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  CHECK_FALSE(sigismember(&now, SIGINT));
  CHECK_FALSE(sigismember(&now, SIGTERM));
}
