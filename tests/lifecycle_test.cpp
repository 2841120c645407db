// The life of a pool, as Python's: running -> close() (no new work, submitted work completes) or
// terminate() (work not started is cancelled) -> join(). mpp's destructor closes and joins, so
// submitted work is never abandoned.
//
//     >>> Pool(0)                    ValueError   (std::invalid_argument)
//     >>> p.close(); p.map(f, xs)    ValueError: Pool not running   (mpp::PoolStateError)
//     >>> p.join()  # not closed     ValueError   (mpp::PoolStateError)

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <mpp/mpp.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

bool says_not_running(const mpp::PoolStateError& e) {
  return std::string(e.what()).find("not running") != std::string::npos;
}

}  // namespace

TEST_CASE("Pool(n) needs a positive thread count") {
  CHECK_THROWS_AS(mpp::Pool(0), std::invalid_argument);
  CHECK_THROWS_AS(mpp::Pool(-1), std::invalid_argument);
  CHECK_THROWS_AS(mpp::Pool(mpp::PoolOptions{.threads = 0}), std::invalid_argument);
  try {
    mpp::Pool pool(0);
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("threads") != std::string::npos);
  }
  mpp::Pool one(1);
  CHECK(one.threads() == 1);
  mpp::Pool three(3);
  CHECK(three.threads() == 3);
}

TEST_CASE("Pool() uses mpp::available_cpus() threads") {
  mpp::Pool pool;
  CHECK(pool.threads() == mpp::available_cpus());
}

TEST_CASE("every call after close() throws mpp::PoolStateError saying the pool is not running") {
  static_assert(std::is_base_of_v<std::logic_error, mpp::PoolStateError>);
  mpp::Pool pool(2);
  pool.close();
  pool.close();  // idempotent
  const std::vector<int> xs{1, 2, 3};
  auto f = [](int x) { return x; };
  auto g = [](int a, int b) { return a + b; };
  const std::vector<std::pair<int, int>> pairs{{1, 2}};

  auto check_rejected = [](auto call) {
    try {
      call();
      FAIL("the closed pool accepted work");
    } catch (const mpp::PoolStateError& e) {
      CHECK(says_not_running(e));
    }
  };
  check_rejected([&] { (void)pool.apply(f, 1); });
  check_rejected([&] { (void)pool.apply_async(f, 1); });
  check_rejected([&] { (void)pool.map(f, xs); });
  check_rejected([&] { (void)pool.map_async(f, xs); });
  check_rejected([&] { (void)pool.starmap(g, pairs); });
  check_rejected([&] { (void)pool.starmap_async(g, pairs); });
  check_rejected([&] { (void)pool.imap(f, xs); });
  check_rejected([&] { (void)pool.imap_unordered(f, xs); });
  pool.join();
}

TEST_CASE("calls after terminate() throw mpp::PoolStateError too") {
  mpp::Pool pool(2);
  pool.terminate();
  pool.terminate();  // idempotent
  CHECK_THROWS_AS((void)pool.apply_async([] { return 1; }), mpp::PoolStateError);
  CHECK_THROWS_AS(pool.map([](int x) { return x; }, std::vector<int>{1}), mpp::PoolStateError);
  pool.join();
}

TEST_CASE("join() before close() throws mpp::PoolStateError, and the pool keeps running") {
  mpp::Pool pool(2);
  CHECK_THROWS_AS(pool.join(), mpp::PoolStateError);
  CHECK(pool.apply([] { return 1; }) == 1);
  pool.close();
  pool.join();
  pool.join();  // joining twice is harmless
}

TEST_CASE("close() then join() waits for all submitted work") {
  mpp::Pool pool(2);
  constexpr int n = 200;
  std::atomic<int> done{0};
  int plain = 0;  // written by the last task, read after join: join must synchronise
  std::vector<mpp::AsyncResult<void>> results;
  for (int i = 0; i < n; ++i) {
    results.push_back(pool.apply_async([&] {
      mpp_test::pause_briefly();
      if (done.fetch_add(1) + 1 == n) plain = 1;
    }));
  }
  auto m = pool.map_async([](int x) { return x; }, std::views::iota(0, 1'000));
  pool.close();
  pool.join();
  CHECK(done == n);
  CHECK(plain == 1);
  for (auto& r : results) CHECK(r.ready());
  CHECK(m.ready());
  CHECK(m.get().size() == 1'000);
}

TEST_CASE("close() lets running work continue and submit the follow-up work it needs") {
  mpp::Pool pool(2);
  mpp_test::Event closed;
  auto r = pool.apply_async([&] {
    closed.wait();
    // A task admitted before close() still completes its own nested work.
    auto inner = pool.apply_async([] { return 20; });
    return inner.get() + pool.map([](int x) { return x; }, std::vector<int>{1, 1}).size();
  });
  pool.close();
  closed.set();
  CHECK(r.get() == 22);
  pool.join();
}

TEST_CASE("the destructor closes and joins: submitted work is never abandoned") {
  constexpr int n = 500;
  std::atomic<int> done{0};
  {
    mpp::Pool pool(2);
    for (int i = 0; i < n; ++i) {
      (void)pool.apply_async([&] {
        mpp_test::pause_briefly();
        ++done;
      });
    }
  }
  CHECK(done == n);

  // The same for map_async and for work whose handles were dropped at once.
  std::atomic<int> items{0};
  {
    mpp::Pool pool(3);
    (void)pool.map_async(
        [&](int) {
          ++items;
          return 0;
        },
        std::views::iota(0, 10'000), {.chunksize = 3});
  }
  CHECK(items == 10'000);
}

TEST_CASE("terminate(): tasks not started complete with mpp::CancelledError") {
  mpp::Pool pool(1);
  mpp_test::Event started;
  std::atomic<bool> saw_stop{false};
  auto running = pool.apply_async([&] {
    started.set();
    // A long task polls for the stop request, bounded so a bug fails rather than hangs.
    saw_stop = mpp_test::eventually([] { return mpp::this_task::stop_requested(); });
    return 1;
  });
  REQUIRE(started.wait());
  std::atomic<int> ran{0};
  std::vector<mpp::AsyncResult<int>> queued;
  for (int i = 0; i < 20; ++i) {
    queued.push_back(pool.apply_async([&] {
      ++ran;
      return 2;
    }));
  }
  pool.terminate();  // returns once the running task has returned
  CHECK(saw_stop);
  CHECK(running.ready());
  CHECK(running.get() == 1);  // it returned normally, so it succeeded
  CHECK(ran == 0);
  for (auto& r : queued) {
    REQUIRE(r.wait(mpp_test::patience));
    CHECK_THROWS_AS((void)r.get(), mpp::CancelledError);
    CHECK_FALSE(r.successful());
  }
  pool.join();
}

TEST_CASE("terminate(): a cancelled task calls its error_callback with mpp::CancelledError") {
  mpp::Pool pool(1);
  mpp_test::Event started;
  auto blocker = pool.apply_async([&] {
    started.set();
    (void)mpp_test::eventually([] { return mpp::this_task::stop_requested(); });
  });
  REQUIRE(started.wait());
  std::atomic<bool> cancelled_seen{false};
  auto r = pool.apply_async(mpp::callbacks([](int) {},
                                           [&](const std::exception_ptr& e) {
                                             try {
                                               std::rethrow_exception(e);
                                             } catch (const mpp::CancelledError&) {
                                               cancelled_seen = true;
                                             } catch (...) {
                                             }
                                           }),
                            [] { return 1; });
  pool.terminate();
  REQUIRE(r.wait(mpp_test::patience));
  CHECK(cancelled_seen);
}

TEST_CASE("running tasks see this_task::stop_requested() and its stop_token after terminate()") {
  mpp::Pool pool(2);
  mpp_test::Rendezvous both(3);
  std::atomic<int> stopped{0};
  std::vector<mpp::AsyncResult<void>> running;
  for (int i = 0; i < 2; ++i) {
    running.push_back(pool.apply_async([&] {
      CHECK_FALSE(mpp::this_task::stop_requested());
      std::stop_token token = mpp::this_task::stop_token();
      both.arrive_and_wait();
      if (mpp_test::eventually([&] { return token.stop_requested(); })) ++stopped;
    }));
  }
  REQUIRE(both.arrive_and_wait());
  pool.terminate();
  CHECK(stopped == 2);
  CHECK_FALSE(mpp::this_task::stop_requested());  // outside a task: always false
}

TEST_CASE("terminate() during a running map makes the map throw mpp::CancelledError") {
  mpp::Pool pool(2);
  std::atomic<int> started{0};
  std::atomic<int> saw_stop{0};
  auto f = [&](int x) {
    ++started;
    // Every item that runs, on whichever thread, sees the stop request.
    if (mpp_test::eventually([] { return mpp::this_task::stop_requested(); })) ++saw_stop;
    return x;
  };
  SUBCASE("map, called from another thread") {
    auto mapping = std::async(std::launch::async, [&] {
      return pool.map(f, std::views::iota(0, 1'000), {.chunksize = 1});
    });
    REQUIRE(mpp_test::eventually([&] { return started > 0; }));
    pool.terminate();
    REQUIRE(mapping.wait_for(mpp_test::patience) == std::future_status::ready);
    CHECK_THROWS_AS(mapping.get(), mpp::CancelledError);
  }
  SUBCASE("map_async") {
    auto r = pool.map_async(f, std::views::iota(0, 1'000), {.schedule = mpp::schedule::dynamic});
    REQUIRE(mpp_test::eventually([&] { return started > 0; }));
    pool.terminate();
    REQUIRE(r.wait(mpp_test::patience));
    CHECK_THROWS_AS((void)r.get(), mpp::CancelledError);
  }
  CHECK(started < 1'000);
  CHECK(saw_stop == started);
}

TEST_CASE("terminate() before the destructor cancels queued work instead of running it") {
  std::atomic<int> ran{0};
  std::vector<mpp::AsyncResult<void>> results;
  {
    mpp::Pool pool(1);
    mpp_test::Event started;
    results.push_back(pool.apply_async([&] {
      started.set();
      (void)mpp_test::eventually([] { return mpp::this_task::stop_requested(); });
    }));
    REQUIRE(started.wait());
    for (int i = 0; i < 100; ++i) results.push_back(pool.apply_async([&] { ++ran; }));
    pool.terminate();
  }
  CHECK(ran == 0);
  for (std::size_t i = 1; i < results.size(); ++i) {
    CHECK_THROWS_AS(results[i].get(), mpp::CancelledError);
  }
}

TEST_CASE("join() from inside one of the pool's own tasks throws instead of deadlocking") {
  mpp::Pool pool(2);
  auto r = pool.apply_async([&] {
    pool.close();
    pool.join();
  });
  CHECK_THROWS_AS(r.get(), mpp::PoolStateError);
  pool.join();
}

TEST_CASE("several pools live side by side and each runs its own work") {
  mpp::Pool a(2);
  mpp::Pool b(3);
  auto ra = a.map_async([](int x) { return x; }, std::views::iota(0, 1'000));
  auto rb = b.map_async([](int x) { return -x; }, std::views::iota(0, 1'000));
  CHECK(ra.get().back() == 999);
  CHECK(rb.get().back() == -999);
  // A task of one pool may use the other.
  CHECK(a.apply([&] { return b.apply([] { return 7; }); }) == 7);
}

// The ends of a pool's life that used to kill the process run in a child (tests/lifetime_helper):
// a crash there fails the test instead of ending the test binary.

TEST_CASE(
    "dropping the last owner of a pool inside one of its tasks closes it and frees it later") {
  // A callback that captured the pool's shared_ptr is often its last owner. The pool cannot join
  // itself from its own worker: it closes, the work already queued runs, and the pool's core is
  // freed when its last task returns. (Before: std::terminate, from ~Pool throwing on a worker.)
  const auto child = mpp_test::run_program(MPP_LIFETIME_HELPER, {"drop-in-task"});
  INFO(child.output);
  CHECK(child.ok());
  CHECK(child.output.find("ran 101 of 101, pool destroyed, 0 pool cores alive") !=
        std::string::npos);
}

TEST_CASE("a pool still alive when the program exits runs its queued work and exits cleanly") {
  // A global std::unique_ptr<Pool> (or a static Pool) is destroyed during exit, after the
  // statics created later than it: mpp's own statics never die before a pool that uses them,
  // and the pool's destructor runs the work still queued, as it does anywhere else.
  // (Before: "free(): double free detected" or a use after free in the CPU placement code.)
  for (const char* mode : {"unique-ptr", "static-pool"}) {
    INFO(mode);
    const auto child = mpp_test::run_program(MPP_LIFETIME_HELPER, {mode});
    INFO(child.output);
    CHECK(child.ok());
    CHECK(child.output == "ran 100 of 100\n");
  }
}

TEST_CASE("in a child forked after the parent used a pool, pools throw mpp::ForkError") {
  // oneTBB's worker threads do not survive fork(): the child inherits a scheduler whose threads
  // are gone, and a pool there would never run its tasks. mpp says so at once instead of
  // hanging. (Before: apply_async(...).wait(2s) timed out in the child.)
  auto parent = std::make_unique<mpp::Pool>(2);
  REQUIRE(parent->apply([] { return 1; }) == 1);
  // The worker that ran the task may still be freeing it, or leaving the arena, when apply
  // returns; a child forked at that moment inherits whatever lock it held (GCC 12's
  // AddressSanitizer does not hold its allocator's lock across fork(), oneTBB's own locks are
  // not fork-aware) and may hang on it. A child killed by SIGALRM was seen once under ASan on a
  // loaded machine. The pause lets the workers go idle first; what is tested is mpp's refusal.
  std::this_thread::sleep_for(100ms);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::alarm(5);  // a hang ends the child, whatever the parent does
    enum : int { ok = 0, hung = 2, no_error = 3, wrong_error = 4 };
    int code = ok;
    try {
      mpp::Pool fresh(2);
      code = fresh.apply_async([] { return 1; }).wait(2s) ? no_error : hung;
      ::_exit(code);  // skips ~Pool, which would wait for the task forever
    } catch (const mpp::ForkError& e) {
      if (std::string(e.what()).find("fork") == std::string::npos) code = wrong_error;
    } catch (...) {
      code = wrong_error;
    }
    // The pool inherited from the parent refuses work too, and destroying it does not wait for
    // threads that do not exist here.
    try {
      (void)parent->apply_async([] { return 1; });
      code = code == ok ? no_error : code;
    } catch (const mpp::ForkError&) {
    } catch (...) {
      code = wrong_error;
    }
    parent.reset();
    ::_exit(code);
  }
  const auto child = mpp_test::wait_for_child(pid);
  CHECK_FALSE(child.timed_out);
  CHECK(child.signal == 0);  // SIGALRM: the child hung
  CHECK(child.exited);
  CHECK(child.code == 0);
  // The parent's pool is unaffected.
  CHECK(parent->apply([] { return 2; }) == 2);
}
