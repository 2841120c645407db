// asio_timers: an io_context program that keeps serving its timers while a coroutine awaits a
// large map on the pool.
//
// Teaches `mpp::async_map` with `asio::use_awaitable`: the coroutine is suspended while the pool's
// workers compute, the io_context thread stays free for its other work (here a 10 ms heartbeat
// standing in for network I/O), and the coroutine resumes on the io_context thread with the
// results. Without mpp, calling `pool.map` inside the coroutine would block the loop for the
// whole computation and the heartbeat would stall.
//
//     asio::awaitable<void> crunch(mpp::Pool& pool) {
//       std::vector<int> counts =
//           co_await mpp::async_map(pool, collatz_steps, std::views::iota(1, n),
//           asio::use_awaitable);
//     }
//
// Usage: asio_timers [items]      (default 2000000)

// First: it works around a missing include in Boost 1.74's Asio headers.
#include <mpp/asio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <ranges>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Steps of the Collatz sequence from `n` down to 1: cheap, but irregular from item to item.
int collatz_steps(long n) {
  int steps = 0;
  while (n != 1) {
    n = (n % 2 == 0) ? n / 2 : 3 * n + 1;
    ++steps;
  }
  return steps;
}

struct Heartbeat {
  int ticks = 0;
  Clock::duration longest_gap{};
  bool stop = false;
};

// Ticks every 10 ms on the io_context until told to stop, recording the longest gap.
asio::awaitable<void> heartbeat(Heartbeat& state) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto last = Clock::now();
  while (!state.stop) {
    timer.expires_after(10ms);
    co_await timer.async_wait(asio::use_awaitable);
    const auto now = Clock::now();
    state.longest_gap = std::max(state.longest_gap, now - last);
    last = now;
    ++state.ticks;
  }
}

// Awaits the map on the pool, then stops the heartbeat.
asio::awaitable<void> crunch(mpp::Pool& pool, long items, Heartbeat& state) {
  const auto start = Clock::now();
  std::vector<int> steps = co_await mpp::async_map(
      pool, collatz_steps, std::views::iota(1L, items + 1), asio::use_awaitable);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  state.stop = true;

  const auto longest = std::ranges::max_element(steps);
  std::printf("map of %ld items on %d threads: %.3f s; longest chain starts at %ld (%d steps)\n",
              items, pool.threads(), seconds, static_cast<long>(longest - steps.begin()) + 1,
              *longest);
  std::printf("meanwhile the io_context served %d timer ticks; longest gap %.1f ms\n", state.ticks,
              std::chrono::duration<double, std::milli>(state.longest_gap).count());
}

int main(int argc, char** argv) {
  const long items = argc > 1 ? std::atol(argv[1]) : 2'000'000;
  if (items < 1) {
    std::fprintf(stderr, "usage: asio_timers [items]   (items >= 1)\n");
    return 2;
  }
  mpp::Pool pool;
  asio::io_context io;
  Heartbeat state;
  std::exception_ptr failure;
  auto rethrow = [&](std::exception_ptr e) {
    if (e) failure = e;
  };
  asio::co_spawn(io, heartbeat(state), rethrow);
  asio::co_spawn(io, crunch(pool, items, state), rethrow);
  io.run();  // returns once both coroutines have finished
  if (failure) std::rethrow_exception(failure);
}
