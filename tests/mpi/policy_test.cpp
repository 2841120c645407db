// Item policies across ranks: `retries` with `retry_if` and `backoff`, and `task_timeout`, apply
// to each item on whichever rank runs it, as they do on the local pool, in map (gathered or
// streamed to the root's progress) and imap alike. Bad settings are refused on every rank
// before any collective call, so the ranks stay in step.
#include <doctest/doctest.h>
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <mpp/mpi.hpp>
#include <mutex>
#include <optional>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

mpp::mpi::Pool& cluster() {
  static mpp::mpi::Pool pool({.threads = 2});
  return pool;
}

// Items that fail on their first attempt in this process, and succeed on the next.
class FailOnce {
 public:
  int operator()(int x) {
    {
      std::lock_guard lock(mutex_);
      if (seen_.insert(x).second) throw std::runtime_error("first attempt of " + std::to_string(x));
    }
    return x * x;
  }

 private:
  std::mutex mutex_;
  std::set<int> seen_;
};

std::vector<int> squares(int n) {
  std::vector<int> out;
  for (int x = 0; x < n; ++x) out.push_back(x * x);
  return out;
}

// The total of `mine` over every rank.
long sum_over_ranks(long mine) {
  long total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

}  // namespace

TEST_CASE("policy: retries recover items that fail once, whichever rank runs them") {
  constexpr int n = 60;
  for (auto s : {mpp::schedule::static_, mpp::schedule::dynamic, mpp::schedule::adaptive}) {
    CAPTURE(static_cast<int>(s));
    FailOnce f;
    const auto got = cluster().map([&](int x) { return f(x); }, std::views::iota(0, n),
                                   {.schedule = s, .retries = 1});
    if (cluster().is_root()) CHECK(got == squares(n));
  }
  FailOnce streamed;  // progress streams the chunks to the root: another code path
  std::size_t reported = 0;
  const auto got = cluster().map(
      [&](int x) { return streamed(x); }, std::views::iota(0, n),
      {.retries = 1, .progress = [&](std::size_t done, std::size_t) { reported = done; }});
  if (cluster().is_root()) {
    CHECK(got == squares(n));
    CHECK(reported == n);
  }
  FailOnce imapped;
  std::vector<int> yielded;
  for (int r :
       cluster().imap([&](int x) { return imapped(x); }, std::views::iota(0, n), {.retries = 1}))
    yielded.push_back(r);
  if (cluster().is_root()) CHECK(yielded == squares(n));
}

TEST_CASE("policy: retry_if refuses an error, and the map fails at its first attempt") {
  std::atomic<long> attempts{0};
  bool threw = false;
  try {
    (void)cluster().map(
        [&](int x) {
          if (x == 13) {
            ++attempts;
            throw std::invalid_argument("item 13 is malformed");
          }
          return x;
        },
        std::views::iota(0, 40),
        {.schedule = mpp::schedule::dynamic, .retries = 5, .retry_if = [](std::exception_ptr e) {
           try {
             std::rethrow_exception(e);
           } catch (const std::invalid_argument&) {
             return false;  // bad input: retrying cannot help
           } catch (...) {
             return true;
           }
         }});
  } catch (const mpp::mpi::RemoteError& e) {
    threw = true;
    CHECK(e.type_name() == "std::invalid_argument");
  } catch (const std::invalid_argument& e) {  // the rank that ran item 13
    threw = true;
    CHECK(std::string(e.what()) == "item 13 is malformed");
  }
  CHECK(threw);
  CHECK(sum_over_ranks(attempts.load()) == 1);
}

TEST_CASE("policy: a backoff waits between the attempts on the rank that retries") {
  std::atomic<int> attempts{0};
  std::chrono::steady_clock::time_point first{}, last{};
  const auto got = cluster().map(
      [&](int x) {
        if (x == 3) {
          const auto now = std::chrono::steady_clock::now();
          if (attempts++ == 0) {
            first = now;
            throw std::runtime_error("transient");
          }
          last = now;
        }
        return x;
      },
      std::views::iota(0, 8),
      {.schedule = mpp::schedule::static_,
       .retries = 2,
       .backoff = {.initial = 50ms, .max = 50ms, .jitter = false}});
  if (cluster().is_root()) CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  if (attempts.load() > 0) {  // the rank that ran item 3
    CHECK(attempts.load() == 2);
    CHECK(last - first >= 50ms);
  }
  CHECK(sum_over_ranks(attempts.load()) == 2);
}

TEST_CASE("policy: an item past its task_timeout fails the map with TaskTimeoutError") {
  for (const bool streamed : {false, true}) {
    CAPTURE(streamed);
    mpp::MapOptions options{.schedule = mpp::schedule::dynamic, .task_timeout = 100ms};
    if (streamed) options.progress = [](std::size_t, std::size_t) {};
    const auto start = std::chrono::steady_clock::now();
    bool threw = false;
    try {
      (void)cluster().map(
          [](int x) {
            // Cooperative, and bounded so that a broken deadline fails instead of hanging.
            const auto give_up = std::chrono::steady_clock::now() + 10s;
            while (x == 5 && !mpp::this_task::stop_requested() &&
                   std::chrono::steady_clock::now() < give_up)
              std::this_thread::sleep_for(1ms);
            return x;
          },
          std::views::iota(0, 20), options);
    } catch (const mpp::mpi::RemoteError& e) {
      threw = true;
      CHECK(e.type_name() == "mpp::TaskTimeoutError");
      CHECK(e.item() == std::optional<std::size_t>(5));
    } catch (const mpp::TaskTimeoutError& e) {  // the rank that ran item 5
      threw = true;
      CHECK(e.index() == std::optional<std::size_t>(5));
    }
    CHECK(threw);
    CHECK(std::chrono::steady_clock::now() - start < 5s);  // at the deadline, not at give-up
  }
  // Items within their limit are unaffected, and the ranks are still in step.
  const auto got =
      cluster().map([](int x) { return x * x; }, std::views::iota(0, 30), {.task_timeout = 30s});
  if (cluster().is_root()) CHECK(got == squares(30));
}

TEST_CASE("policy: bad settings are refused on every rank, which stay in step") {
  CHECK_THROWS_AS(
      (void)cluster().map([](int x) { return x; }, std::views::iota(0, 10), {.task_timeout = 0s}),
      std::invalid_argument);
  CHECK_THROWS_AS((void)cluster().map([](int x) { return x; }, std::views::iota(0, 10),
                                      {.backoff = {.initial = 2s, .max = 1s}}),
                  std::invalid_argument);
  CHECK_THROWS_AS((void)cluster().imap([](int x) { return x; }, std::views::iota(0, 10),
                                       {.retries = 1, .backoff = {.multiplier = 0.5}}),
                  std::invalid_argument);
  const auto got = cluster().map([](int x) { return x + 1; }, std::views::iota(0, 5));
  if (cluster().is_root()) CHECK(got == std::vector<int>{1, 2, 3, 4, 5});
}
