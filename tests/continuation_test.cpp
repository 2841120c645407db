// Continuations, as mpi4py.futures and concurrent.futures chain futures:
//
//     >>> g = compose(f, resulthook=str, excepthook=lambda e: "failed")
//     >>> collect([f1, f2, f3]).result()        # [r1, r2, r3], or the first exception
//     >>> f.add_done_callback(...)               # runs when f completes
//
// In mpp: r.then(pool, f), r.on_error(pool, g), mpp::compose(pool, r, resulthook, excepthook),
// mpp::collect(pool, results), or without naming the pool: r.then(f), r.on_error(g),
// r.add_done_callback(fn), mpp::compose(r, ...), mpp::collect(results) run on the result's own
// pool. Continuations run on the pool, queued when their input completes.

#include <doctest/doctest.h>

#include <atomic>
#include <exception>
#include <mpp/mpp.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {
// Keeps the only thread of a Pool(1) busy until release(), so that tasks submitted meanwhile
// wait in its queue, where they can be cancelled.
class Occupied {
 public:
  explicit Occupied(mpp::Pool& pool)
      : blocker_(pool.apply_async([this] {
          started_.set();
          (void)gate_.wait();
        })) {
    REQUIRE(started_.wait());
  }
  Occupied(const Occupied&) = delete;
  Occupied& operator=(const Occupied&) = delete;
  ~Occupied() { release(); }
  void release() {
    gate_.set();
    blocker_.wait();
  }

 private:
  mpp_test::Event started_, gate_;
  mpp::AsyncResult<void> blocker_;
};
}  // namespace

TEST_CASE("then runs f(value) on the pool once the result is ready") {
  mpp::Pool pool(2);
  mpp_test::Event gate;
  auto r = pool.apply_async([&] { return gate.wait() ? 20 : -1; });
  auto doubled = r.then(pool, [](int v) { return 2 * v; });
  auto text = doubled.then(pool, [](int v) { return std::to_string(v) + "!"; });
  CHECK_FALSE(doubled.wait(10ms));  // waits for its input, without blocking a worker
  gate.set();
  CHECK(doubled.get() == 40);
  CHECK(text.get() == "40!");
  // On a result that is ready already, and on void results.
  CHECK(r.then(pool, [](int v) { return v + 1; }).get() == 21);
  auto side = pool.apply_async([] {}).then(pool, [] { return mpp::this_worker::index(); });
  CHECK(side.get() >= 0);  // ran on a worker of the pool
}

TEST_CASE("then: an exception skips f and reaches the new result with its type") {
  mpp::Pool pool(2);
  std::atomic<int> calls{0};
  auto failed = pool.apply_async([]() -> int { throw std::invalid_argument("bad input"); });
  auto next = failed.then(pool, [&](int v) {
    ++calls;
    return v;
  });
  CHECK_THROWS_AS((void)next.get(), std::invalid_argument);
  CHECK_FALSE(next.cancelled());
  // f's own exception becomes the new result's.
  auto throwing = pool.apply_async([] { return 1; }).then(pool, [](int) -> int {
    throw std::out_of_range("from then");
  });
  CHECK_THROWS_AS((void)throwing.get(), std::out_of_range);
  CHECK(calls == 0);
}

TEST_CASE("then: a cancelled input cancels the continuation at once, without running f") {
  mpp::Pool pool(1);
  Occupied busy(pool);
  auto queued = pool.apply_async([] { return 1; });
  std::atomic<int> calls{0};
  auto next = queued.then(pool, [&](int v) {
    ++calls;
    return v;
  });
  REQUIRE(queued.cancel());  // completes on this thread, and so does the continuation
  CHECK(next.cancelled());   // while the pool's only thread is still busy
  busy.release();
  CHECK_THROWS_AS((void)next.get(), mpp::CancelledError);
  CHECK(next.cancelled());
  CHECK(calls == 0);
}

TEST_CASE("on_error turns an exception into a value; values and cancellations pass through") {
  mpp::Pool pool(2);
  auto failed = pool.apply_async([]() -> int { throw std::runtime_error("no"); });
  auto recovered = failed.on_error(pool, [](std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::runtime_error&) {
      return -1;
    }
  });
  CHECK(recovered.get() == -1);
  auto fine =
      pool.apply_async([] { return 5; }).on_error(pool, [](std::exception_ptr) { return -1; });
  CHECK(fine.get() == 5);
  // Rethrowing keeps the failure.
  auto kept =
      failed.on_error(pool, [](std::exception_ptr error) -> int { std::rethrow_exception(error); });
  CHECK_THROWS_AS((void)kept.get(), std::runtime_error);
}

TEST_CASE("a long chain of continuations neither recurses nor blocks the pool") {
  mpp::Pool pool(2);
  auto r = pool.apply_async([] { return 0; });
  for (int i = 0; i < 2'000; ++i) r = r.then(pool, [](int v) { return v + 1; });
  CHECK(r.get(mpp_test::patience) == 2'000);
}

TEST_CASE("collect gathers the values of all inputs in input order") {
  mpp::Pool pool(4);
  std::vector<mpp::AsyncResult<int>> parts;
  for (int i = 0; i < 100; ++i) parts.push_back(pool.apply_async([i] { return i * i; }));
  const std::vector<int> squares = mpp::collect(pool, parts).get();
  REQUIRE(squares.size() == 100);
  for (int i = 0; i < 100; ++i) CHECK(squares[static_cast<std::size_t>(i)] == i * i);
  std::vector<mpp::AsyncResult<int>> none;
  CHECK(mpp::collect(pool, none).get().empty());
}

TEST_CASE("collect fails with the first exception, without waiting for the other inputs") {
  mpp::Pool pool(2);
  mpp_test::Event gate;
  std::vector<mpp::AsyncResult<int>> parts;
  parts.push_back(pool.apply_async([&] { return gate.wait() ? 1 : -1; }));
  parts.push_back(pool.apply_async([]() -> int { throw std::domain_error("part 2"); }));
  auto all = mpp::collect(pool, parts);
  CHECK_THROWS_AS((void)all.get(mpp_test::patience), std::domain_error);
  CHECK_FALSE(parts[0].ready());
  gate.set();
}

TEST_CASE("cancelling collect's result cancels the inputs that have not started") {
  mpp::Pool pool(1);
  Occupied busy(pool);
  std::vector<mpp::AsyncResult<int>> parts;
  for (int i = 0; i < 5; ++i) parts.push_back(pool.apply_async([i] { return i; }));
  auto all = mpp::collect(pool, parts);
  REQUIRE(all.cancel());
  for (const auto& part : parts) CHECK(part.cancelled());
  busy.release();
}

TEST_CASE("compose: resulthook, excepthook, and cancellation in both directions") {
  mpp::Pool pool(1);
  auto text = mpp::compose(pool, pool.apply_async([] { return 7; }),
                           [](int v) { return std::to_string(v); });
  CHECK(text.get() == "7");
  auto recovered =
      mpp::compose(pool, pool.apply_async([]() -> int { throw std::runtime_error("x"); }),
                   mpp::NoCallback{}, [](std::exception_ptr) { return 0; });
  CHECK(recovered.get() == 0);
  auto same = mpp::compose(pool, pool.apply_async([] { return 3; }));
  CHECK(same.get() == 3);

  Occupied busy(pool);
  auto source = pool.apply_async([] { return 1; });
  auto composed = mpp::compose(pool, source, [](int v) { return v; });
  REQUIRE(composed.cancel());
  CHECK(source.cancelled());  // mpi4py: cancelling the new future cancels the old one
  auto other = pool.apply_async([] { return 1; });
  auto follows = mpp::compose(pool, other, [](int v) { return v; });
  REQUIRE(other.cancel());
  busy.release();
  CHECK_THROWS_AS((void)follows.get(), mpp::CancelledError);
}

TEST_CASE("continuations on a closed pool are refused; the pool's join waits for pending ones") {
  mpp::Pool source_pool(1);
  mpp_test::Event gate;
  auto r = source_pool.apply_async([&] { return gate.wait() ? 1 : -1; });
  mpp::AsyncResult<int> next;
  {
    mpp::Pool pool(1);
    next = r.then(pool, [](int v) { return v + 1; });
    pool.close();
    CHECK_THROWS_AS((void)r.then(pool, [](int v) { return v; }), mpp::PoolStateError);
    std::thread releaser([&] {
      std::this_thread::sleep_for(20ms);
      gate.set();
    });
    pool.join();  // counts the continuation, which waits for r
    releaser.join();
    CHECK(next.ready());
  }
  CHECK(next.get() == 2);
}

TEST_CASE("continuations run when their input completes, also racing a cancel") {
  mpp::Pool pool(2);
  for (int round = 0; round < 1'000; ++round) {
    auto r = pool.apply_async([round] { return round; });
    auto next = r.then(pool, [](int v) { return v + 1; });
    const bool cancelled = r.cancel();
    if (cancelled) {
      CHECK_THROWS_AS((void)next.get(mpp_test::patience), mpp::CancelledError);
    } else {
      CHECK(next.get(mpp_test::patience) == round + 1);
    }
  }
}

TEST_CASE("without naming a pool, continuations run on the pool of their input") {
  mpp::Pool pool(2);
  auto r = pool.apply_async([] { return 20; });
  auto where = r.then([](int) { return mpp::this_worker::index(); });
  CHECK(where.get() >= 0);  // ran on a worker of `pool`
  CHECK(r.then([](int v) { return v + 1; }).get() == 21);
  auto failed = pool.apply_async([]() -> int { throw std::invalid_argument("bad"); });
  CHECK(failed.on_error([](std::exception_ptr) { return -1; }).get() == -1);
  CHECK(mpp::compose(
            failed, [](int v) { return v; }, [](std::exception_ptr) { return -2; })
            .get() == -2);
  std::vector<mpp::AsyncResult<int>> parts{r, pool.apply_async([] { return 3; })};
  CHECK(mpp::collect(parts).get() == std::vector<int>{20, 3});
  CHECK_THROWS_AS((void)mpp::collect(std::vector<mpp::AsyncResult<int>>{}), std::invalid_argument);
  CHECK_THROWS_AS((void)mpp::AsyncResult<int>{}.then([](int v) { return v; }), std::logic_error);
}

TEST_CASE("add_done_callback calls fn(result) on the result's pool, also once it is ready") {
  mpp::Pool pool(2);
  std::atomic<int> calls{0};
  std::atomic<int> seen{0};
  mpp_test::Event gate;
  auto r = pool.apply_async([&] { return gate.wait() ? 7 : -1; });
  r.add_done_callback([&](mpp::AsyncResult<int>& done) {
    seen = done.get();
    ++calls;
  });
  CHECK(calls == 0);
  gate.set();
  r.add_done_callback([&](mpp::AsyncResult<int>&) { ++calls; });
  r.add_done_callback([](mpp::AsyncResult<int>&) { throw std::runtime_error("in a callback"); });
  pool.close();
  pool.join();  // counts the callbacks as work
  CHECK(calls == 2);
  CHECK(seen == 7);
}

TEST_CASE("a long chain of continuations of a cancelled input is cancelled to its end") {
  mpp::Pool pool(1);
  Occupied busy(pool);
  auto queued = pool.apply_async([] { return 0; });
  auto r = queued;
  for (int i = 0; i < 20'000; ++i) r = r.then(pool, [](int v) { return v + 1; });
  REQUIRE(queued.cancel());  // the first links complete here, the rest on the pool
  busy.release();
  CHECK_THROWS_AS((void)r.get(mpp_test::patience), mpp::CancelledError);
  CHECK(r.cancelled());
}
