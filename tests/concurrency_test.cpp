// Pool(n) runs n tasks at once, even when the caller only submits asynchronously and waits, and
// even when n is larger than the machine's core count (Python's Pool(n) starts n processes
// whatever the machine). Checked with tasks that all wait for each other: if fewer than n could
// run at once, they would not all arrive (and the bounded wait turns that into a failure).

#include <doctest/doctest.h>

#include <oneapi/tbb/global_control.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mpp/mpp.hpp>
#include <ranges>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

// Submits n tasks that each wait until all n have arrived; returns how many saw everyone. The
// tasks share the rendezvous, so one still waiting when this gives up never outlives it.
int meet(mpp::Pool& pool, int n) {
  auto all = std::make_shared<mpp_test::Rendezvous>(n);
  std::vector<mpp::AsyncResult<bool>> rs;
  for (int i = 0; i < n; ++i)
    rs.push_back(pool.apply_async([all] { return all->arrive_and_wait(); }));
  int met = 0;
  for (auto& r : rs) {
    if (r.wait(2 * mpp_test::patience) && r.get()) ++met;
  }
  return met;
}

// As meet(), but signals `submitted` once all n tasks are queued.
int meet_later(mpp::Pool& pool, int n, mpp_test::Event& submitted) {
  auto all = std::make_shared<mpp_test::Rendezvous>(n);
  std::vector<mpp::AsyncResult<bool>> rs;
  for (int i = 0; i < n; ++i)
    rs.push_back(pool.apply_async([all] { return all->arrive_and_wait(); }));
  submitted.set();
  int met = 0;
  for (auto& r : rs) {
    if (r.wait(2 * mpp_test::patience) && r.get()) ++met;
  }
  return met;
}

}  // namespace

TEST_CASE("Pool(n) runs n asynchronous tasks at once while the caller only waits") {
  for (int n : {1, 2, 3, 4}) {
    INFO("n = " << n << " on " << std::thread::hardware_concurrency() << " cores");
    mpp::Pool pool(n);
    CHECK(meet(pool, n) == n);
  }
}

TEST_CASE("Pool(8) on a small machine still runs 8 tasks at once") {
  mpp::Pool pool(8);
  CHECK(meet(pool, 8) == 8);
}

TEST_CASE("Pool(n) runs n tasks at once again and again") {
  mpp::Pool pool(4);
  for (int round = 0; round < 20; ++round) CHECK(meet(pool, 4) == 4);
}

TEST_CASE("n tasks in the middle of a long queue still run at once") {
  // A worker never keeps queued tasks to itself while it runs one: a task that waits for tasks
  // submitted after it (here, for all of them) finds them running on the other threads, however
  // many short tasks come before and after them.
  const auto short_task = [](int i) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(2);
    while (std::chrono::steady_clock::now() < until) {
    }
    return i;
  };
  for (int n : {2, 4}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    for (int round = 0; round < 3; ++round) {
      std::vector<mpp::AsyncResult<int>> before;
      std::vector<mpp::AsyncResult<int>> after;
      for (int i = 0; i < 2000; ++i) before.push_back(pool.apply_async(short_task, i));
      mpp_test::Rendezvous all(n);
      std::vector<mpp::AsyncResult<bool>> met;
      for (int i = 0; i < n; ++i)
        met.push_back(pool.apply_async([&] { return all.arrive_and_wait(); }));
      for (int i = 0; i < 2000; ++i) after.push_back(pool.apply_async(short_task, i));
      for (auto& r : met) CHECK(r.get());
      for (int i = 0; i < 2000; ++i) CHECK(before[i].get() + after[i].get() == 2 * i);
    }
  }
}

TEST_CASE("while two pools are alive, each runs its n tasks at once when the other is idle") {
  // Pools share oneTBB's workers rather than each keeping its own; an idle pool holds none.
  mpp::Pool a(2);
  mpp::Pool b(3);
  for (int round = 0; round < 3; ++round) {
    CHECK(meet(a, 2) == 2);
    CHECK(meet(b, 3) == 3);
  }
}

TEST_CASE("a map uses all n threads: n items can wait for each other") {
  for (int n : {2, 4}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    mpp_test::Rendezvous all(n);
    // One item per chunk, claimed on demand: each thread takes one item and waits in it.
    auto met = pool.map([&](int) { return all.arrive_and_wait(); }, std::views::iota(0, n),
                        {.schedule = mpp::schedule::dynamic});
    CHECK(std::ranges::all_of(met, [](bool b) { return b; }));
  }
}

TEST_CASE("map_async and imap chunks also run n at once") {
  mpp::Pool pool(3);
  SUBCASE("map_async") {
    auto all = std::make_shared<mpp_test::Rendezvous>(3);  // outlives a timed-out wait
    auto r = pool.map_async([all](int) { return all->arrive_and_wait(); }, std::views::iota(0, 3),
                            {.chunksize = 1, .schedule = mpp::schedule::dynamic});
    REQUIRE(r.wait(2 * mpp_test::patience));
    CHECK(std::ranges::all_of(r.get(), [](bool b) { return b; }));
  }
  SUBCASE("imap") {
    mpp_test::Rendezvous all(3);
    int met = 0;
    for (bool b : pool.imap([&](int) { return all.arrive_and_wait(); }, std::views::iota(0, 3))) {
      met += b;
    }
    CHECK(met == 3);
  }
}

TEST_CASE("tasks submitted from several threads at once all run") {
  mpp::Pool pool(2);
  constexpr int submitters = 4;
  constexpr int per = 2'000;
  std::atomic<int> ran{0};
  std::vector<std::thread> threads;
  std::vector<std::vector<mpp::AsyncResult<int>>> results(submitters);
  for (int t = 0; t < submitters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per; ++i) {
        results[static_cast<std::size_t>(t)].push_back(pool.apply_async([&ran, i] {
          ++ran;
          return i;
        }));
      }
    });
  }
  for (auto& th : threads) th.join();
  int correct = 0;
  for (auto& rs : results) {
    for (int i = 0; i < per; ++i) correct += rs[static_cast<std::size_t>(i)].get() == i;
  }
  CHECK(correct == submitters * per);
  CHECK(ran == submitters * per);
}

TEST_CASE("maps called from several threads at once on one pool") {
  for (int n : {1, 2}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    constexpr int callers = 4;
    std::vector<std::thread> threads;
    std::atomic<int> correct{0};
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < 20; ++round) {
          auto out = pool.map([t](int x) { return x * t; }, std::views::iota(0, 1'000));
          bool ok = true;
          for (int x = 0; x < 1'000; ++x) ok = ok && out[static_cast<std::size_t>(x)] == x * t;
          correct += ok;
        }
      });
    }
    for (auto& th : threads) th.join();
    CHECK(correct == callers * 20);
  }
}

TEST_CASE("a map called from outside an idle pool starts on the calling thread") {
  // As with a hand-written parallel_for, the caller does not hand its map to a worker and sleep;
  // with Pool(1) it runs the whole map.
  for (int n : {1, 2}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    const auto caller = std::this_thread::get_id();
    const auto threads = pool.map([](int) { return std::this_thread::get_id(); },
                                  std::views::iota(0, 64), {.chunksize = 1});
    CHECK(std::ranges::count(threads, caller) >= 1);
    if (n == 1) CHECK(std::ranges::count(threads, caller) == 64);
  }
}

namespace {

// Tracks how many calls run at the same moment, and the most seen.
struct Occupancy {
  std::atomic<int> now{0};
  std::atomic<int> most{0};
  void enter() {
    const int n = ++now;
    int seen = most.load();
    while (n > seen && !most.compare_exchange_weak(seen, n)) {
    }
  }
  void leave() { --now; }
  // A task that occupies a thread briefly and returns its item.
  auto busy() {
    return [this](int x) {
      enter();
      mpp_test::pause_briefly();
      leave();
      return x;
    };
  }
};

}  // namespace

TEST_CASE("Pool(n) never runs more than n tasks at once, like Python's n processes") {
  for (int n : {1, 2, 3}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    Occupancy occupancy;
    auto busy = occupancy.busy();
    std::vector<mpp::AsyncResult<int>> rs;
    for (int i = 0; i < 8 * n; ++i) rs.push_back(pool.apply_async(busy, i));
    auto m = pool.map_async(busy, std::views::iota(0, 16 * n), {.chunksize = 1});
    for (auto& r : rs) REQUIRE(r.wait(mpp_test::patience));
    REQUIRE(m.wait(mpp_test::patience));
    CHECK(occupancy.most.load() <= n);
  }
}

// A map called from outside while asynchronous work runs must not add the calling thread to
// the pool's n: oneTBB lets an external thread into an arena beside its workers.
TEST_CASE("a map called from outside while asynchronous work runs keeps the pool at n threads") {
  for (int n : {1, 2, 3}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    Occupancy occupancy;
    auto busy = occupancy.busy();
    // Each task holds its thread until the map has started, or 200 ms: long enough that a map
    // item running beside it is seen, and short enough to end once the map waits for it.
    mpp_test::Event mapping;
    std::vector<mpp::AsyncResult<void>> rs;
    for (int i = 0; i < n; ++i) {
      rs.push_back(pool.apply_async([&] {
        occupancy.enter();
        (void)mapping.wait(std::chrono::milliseconds(200));
        occupancy.leave();
      }));
    }
    const auto out = pool.map(
        [&](int x) {
          mapping.set();
          return busy(x);
        },
        std::views::iota(0, 4 * n), {.chunksize = 1});
    for (auto& r : rs) REQUIRE(r.wait(mpp_test::patience));
    CHECK(out.size() == static_cast<std::size_t>(4 * n));
    CHECK(occupancy.most.load() <= n);
  }
}

// A map called from outside the pool starts on the calling thread (in an arena with a slot
// reserved for it); asynchronous work submitted meanwhile joins that map's threads instead of
// adding its own, so the pool still runs at most n things at once.
TEST_CASE("asynchronous work submitted during a caller's map keeps the pool at n threads") {
  for (int n : {1, 2, 3}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    Occupancy occupancy;
    auto busy = occupancy.busy();
    mpp_test::Event mapping;
    std::vector<mpp::AsyncResult<int>> rs;
    std::thread submitter([&] {
      if (!mapping.wait()) return;
      for (int i = 0; i < 8 * n; ++i) rs.push_back(pool.apply_async(busy, i));
    });
    auto out = pool.map(
        [&](int x) {
          mapping.set();
          return busy(x);
        },
        std::views::iota(0, 16 * n), {.chunksize = 1});
    submitter.join();
    REQUIRE(rs.size() == static_cast<std::size_t>(8 * n));
    for (int i = 0; i < 8 * n; ++i) {
      REQUIRE(rs[static_cast<std::size_t>(i)].wait(mpp_test::patience));
      CHECK(rs[static_cast<std::size_t>(i)].get() == i);
    }
    CHECK(out.size() == static_cast<std::size_t>(16 * n));
    CHECK(occupancy.most.load() <= n);
  }
}

TEST_CASE("n tasks submitted during a caller's map all run at once after it") {
  for (int n : {2, 3}) {
    INFO("n = " << n);
    mpp::Pool pool(n);
    mpp_test::Event mapping;
    mpp_test::Event submitted;
    int met = 0;
    std::thread submitter([&] {
      if (mapping.wait()) met = meet_later(pool, n, submitted);
    });
    // The map holds on until the tasks are queued, so they all start while it runs.
    pool.map(
        [&](int) {
          mapping.set();
          return submitted.wait();
        },
        std::views::iota(0, 1));
    submitter.join();
    CHECK(met == n);
  }
}

TEST_CASE("a map from inside a task runs on the pool's threads, not in a new slot") {
  mpp::Pool pool(2);
  mpp_test::Rendezvous all(2);
  auto r = pool.apply_async([&] {
    return pool.map([&](int) { return all.arrive_and_wait(); }, std::views::iota(0, 2),
                    {.schedule = mpp::schedule::dynamic});
  });
  REQUIRE(r.wait(2 * mpp_test::patience));
  CHECK(std::ranges::all_of(r.get(), [](bool b) { return b; }));
}

TEST_CASE("tasks of one pool may wait on another pool's tasks: each pool keeps its n threads") {
  // Both of a's threads are taken by tasks that wait on b before b has any work; b must still
  // run it on threads of its own (Python gives each pool its own processes).
  mpp::Pool a(2);
  mpp::Pool b(2);
  for (int round = 0; round < 5; ++round) {
    mpp_test::Rendezvous both(2);
    auto wait_on_b = [&] {
      if (!both.arrive_and_wait()) return -1;
      return b.apply_async([] { return 7; }).get(mpp_test::patience);  // TimeoutError if not
    };
    auto first = a.apply_async(wait_on_b);
    auto second = a.apply_async(wait_on_b);
    CHECK(first.get() == 7);
    CHECK(second.get() == 7);
  }
}

TEST_CASE("a busy pool never delays an idle one") {
  using namespace std::chrono_literals;
  mpp::Pool a(2);
  mpp::Pool b(2);
  mpp_test::Rendezvous started(3);
  mpp_test::Event release;
  std::vector<mpp::AsyncResult<bool>> busy;
  for (int i = 0; i < 2; ++i) {
    busy.push_back(a.apply_async([&] {
      started.arrive_and_wait();
      return release.wait();
    }));
  }
  REQUIRE(started.arrive_and_wait());
  CHECK(b.apply_async([] { return 1; }).get(500ms) == 1);
  release.set();
  for (auto& r : busy) CHECK(r.get());
}

TEST_CASE("Pool() twice: each runs available_cpus() tasks at once, also while the other is busy") {
  mpp::Pool a;
  mpp::Pool b;
  const int n = mpp::available_cpus();
  int met_a = 0;
  std::thread other([&] { met_a = meet(a, n); });
  const int met_b = meet(b, n);
  other.join();
  CHECK(met_a == n);
  CHECK(met_b == n);
}

TEST_CASE("a tbb::global_control limit below what a pool needs is never obeyed silently") {
  // oneTBB honours the smallest max_allowed_parallelism alive, the application's included. A
  // pool's tasks run on oneTBB's workers, so under a limit of L only L - 1 tasks can run at once.
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 2);
  SUBCASE("Pool(n) asking for more is refused, naming the limit") {
    CHECK_THROWS_WITH_AS(mpp::Pool(4), doctest::Contains("max_allowed_parallelism"),
                         std::invalid_argument);
  }
  SUBCASE("Pool() takes the threads the limit leaves") {
    mpp::Pool pool;
    CHECK(pool.threads() == 1);
    CHECK(meet(pool, 1) == 1);
  }
  SUBCASE("Pool(n) within the limit keeps its promise") {
    mpp::Pool pool(1);
    CHECK(meet(pool, 1) == 1);
  }
}
