// mpp/asio.hpp: the pool's asynchronous calls with Boost.Asio completion tokens.
#include <doctest/doctest.h>

#include <mpp/asio.hpp>
#include <mpp/worker.hpp>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/version.hpp>
#include <chrono>
#include <exception>
#include <future>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>
#if BOOST_VERSION >= 108000
#include <boost/asio/deferred.hpp>
#endif

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

int slow_square(int x) {
  std::this_thread::sleep_for(1ms);
  return x * x;
}

int fail(int) {
  throw std::out_of_range("fail");
}

// Tests that inspect an exception from a use_future future hold it through a std::shared_future:
// Asio drops its promise on its system executor's thread, and if that drops the last reference
// to the exception after future::get() let go of the state, ThreadSanitizer (which cannot see the
// reference count inside libstdc++) reports the exception's deletion as a race with its reading.

// Where a completion handler ran.
struct Where {
  std::thread::id thread;
  int worker = -2;
  static Where here() { return {std::this_thread::get_id(), mpp::this_worker::index()}; }
};

// A minimal lazy completion token: the operation is packaged, and starts only when the package
// is called with a handler (what asio::deferred does on Boost 1.80 and later).
struct lazy_t {};
constexpr lazy_t lazy;

}  // namespace

template <class Signature>
struct boost::asio::async_result<lazy_t, Signature> {
  template <class Initiation, class... Args>
  static auto initiate(Initiation initiation, lazy_t, Args... args) {
    return [initiation = std::move(initiation), ... args = std::move(args)](auto handler) mutable {
      std::move(initiation)(std::move(handler), std::move(args)...);
    };
  }
};

TEST_CASE("asio: a callback bound to an io_context runs on the io_context's thread") {
  mpp::Pool pool(2);
  asio::io_context io;
  int value = 0;
  std::exception_ptr error;
  Where where;
  mpp::async_apply(pool, slow_square, 7, asio::bind_executor(io, [&](std::exception_ptr e, int v) {
                     error = e;
                     value = v;
                     where = Where::here();
                   }));
  // run() returns only after the handler ran: the operation keeps the io_context busy.
  io.run();
  CHECK_FALSE(error);
  CHECK(value == 49);
  CHECK(where.thread == std::this_thread::get_id());
  CHECK(where.worker == -1);
}

TEST_CASE("asio: a plain callback runs off the pool, on Asio's system executor") {
  mpp::Pool pool(2);
  std::promise<std::pair<int, Where>> done;
  mpp::async_apply(
      pool, [] { return 5; },
      [&](std::exception_ptr e, int v) {
        CHECK_FALSE(e);
        done.set_value({v, Where::here()});
      });
  auto [value, where] = done.get_future().get();
  CHECK(value == 5);
  CHECK(where.worker == -1);
}

TEST_CASE("asio: a callback receives the task's exception as std::exception_ptr") {
  mpp::Pool pool(2);
  asio::io_context io;
  std::exception_ptr error;
  std::vector<int> got{1};
  mpp::async_map(pool, fail, std::vector<int>{1, 2, 3},
                 asio::bind_executor(io, [&](std::exception_ptr e, std::vector<int> v) {
                   error = e;
                   got = std::move(v);
                 }));
  io.run();
  REQUIRE(error);
  CHECK_THROWS_AS(std::rethrow_exception(error), std::out_of_range);
  CHECK(got.empty());
}

TEST_CASE("asio: use_future") {
  mpp::Pool pool(2);
  std::future<int> g = mpp::async_apply(pool, std::gcd<int, int>, 12, 18, asio::use_future);
  CHECK(g.get() == 6);

  std::vector<int> xs(1000);
  std::iota(xs.begin(), xs.end(), 0);
  std::future<std::vector<long>> squares = mpp::async_map(
      pool, [](int x) { return long{x} * x; }, xs, {.chunksize = 7}, asio::use_future);
  std::vector<long> want(xs.size());
  std::ranges::transform(xs, want.begin(), [](int x) { return long{x} * x; });
  CHECK(squares.get() == want);

  std::vector<std::tuple<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  auto sums = mpp::async_starmap(
      pool, [](int a, int b) { return a + b; }, pairs, asio::use_future);
  CHECK(sums.get() == std::vector<int>{3, 7, 11});

  std::future<void> nothing = mpp::async_apply(
      pool, [] {}, asio::use_future);
  CHECK_NOTHROW(nothing.get());

  std::shared_future<int> failed = mpp::async_apply(pool, fail, 1, asio::use_future).share();
  CHECK_THROWS_AS(failed.get(), std::out_of_range);
}

TEST_CASE("asio: use_awaitable keeps the io_context serving timers while the pool works") {
  mpp::Pool pool(2);
  asio::io_context io;
  std::atomic<bool> finished{false};
  int ticks = 0;
  std::vector<int> result;
  Where resumed;

  // A ticker on the same io_context: it only advances while the loop is free.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        while (!finished) {
          timer.expires_after(1ms);
          co_await timer.async_wait(asio::use_awaitable);
          ++ticks;
        }
      },
      asio::detached);

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        result = co_await mpp::async_map(
            pool,
            [](int x) {
              std::this_thread::sleep_for(2ms);
              return x + 1;
            },
            std::views::iota(0, 50), asio::use_awaitable);
        resumed = Where::here();
        finished = true;
      },
      asio::detached);

  io.run();
  CHECK(finished);
  CHECK(result.size() == 50);
  CHECK(result.back() == 50);
  CHECK(ticks >= 3);  // ~50 ms of pool work at 1 ms per tick
  CHECK(resumed.thread == std::this_thread::get_id());
  CHECK(resumed.worker == -1);
}

TEST_CASE("asio: co_await rethrows the task's exception with its type") {
  mpp::Pool pool(2);
  asio::io_context io;
  bool caught = false;
  int after = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        try {
          co_await mpp::async_apply(pool, fail, 3, asio::use_awaitable);
        } catch (const std::out_of_range&) {
          caught = true;
        }
        after = co_await mpp::async_apply(pool, slow_square, 3, asio::use_awaitable);
      },
      asio::detached);
  io.run();
  CHECK(caught);
  CHECK(after == 9);
}

TEST_CASE("asio: a lazy token starts the work only when launched, with its own copy of items") {
  mpp::Pool pool(2);
  asio::io_context io;
  std::atomic<int> calls{0};
  std::vector<int> xs{1, 2, 3};
  auto op = mpp::async_map(
      pool,
      [&](int x) {
        ++calls;
        return 10 * x;
      },
      xs, lazy);
  xs.clear();  // the operation holds a copy
  std::this_thread::sleep_for(10ms);
  CHECK(calls == 0);

  std::vector<int> got;
  std::move(op)(asio::bind_executor(io, [&](std::exception_ptr e, std::vector<int> v) {
    CHECK_FALSE(e);
    got = std::move(v);
  }));
  io.run();
  CHECK(calls == 3);
  CHECK(got == std::vector<int>{10, 20, 30});
}

#if BOOST_VERSION >= 108000
TEST_CASE("asio: deferred") {
  mpp::Pool pool(2);
  auto op = mpp::async_apply(pool, slow_square, 4, asio::deferred);
  std::future<int> r = std::move(op)(asio::use_future);
  CHECK(r.get() == 16);
}
#endif

TEST_CASE("asio: a closed pool reports through the token, not by throwing") {
  mpp::Pool pool(2);
  pool.close();
  std::future<int> r;
  CHECK_NOTHROW(r = mpp::async_apply(pool, slow_square, 2, asio::use_future));
  std::shared_future<int> shared = r.share();
  CHECK_THROWS_AS(shared.get(), mpp::PoolStateError);
}

TEST_CASE("asio: work cancelled by terminate() completes with CancelledError") {
  mpp::Pool pool(1);
  std::promise<void> started;
  auto blocker = pool.apply_async([&] {
    started.set_value();
    std::this_thread::sleep_for(50ms);
  });
  started.get_future().wait();
  // The only worker is busy, so this task has not started when terminate() cancels it.
  std::shared_future<int> r = mpp::async_apply(pool, slow_square, 2, asio::use_future).share();
  pool.terminate();
  CHECK_THROWS_AS(r.get(), mpp::CancelledError);
  blocker.wait();
}

TEST_CASE("asio: many concurrent operations all complete on the io_context") {
  mpp::Pool pool(2);
  asio::io_context io;
  constexpr int n = 2000;
  long sum = 0;
  int completions = 0;
  bool all_on_io = true;
  for (int i = 0; i < n; ++i) {
    mpp::async_apply(
        pool, [i] { return i; }, asio::bind_executor(io, [&](std::exception_ptr e, int v) {
          if (e) std::rethrow_exception(e);
          sum += v;
          ++completions;
          all_on_io = all_on_io && mpp::this_worker::index() == -1;
        }));
  }
  io.run();
  CHECK(completions == n);
  CHECK(sum == long{n} * (n - 1) / 2);
  CHECK(all_on_io);
}
