// Waiting on many results together, Python's concurrent.futures.wait and as_completed:
//
//     >>> done, not_done = wait(fs, timeout=1.0, return_when=FIRST_COMPLETED)
//     >>> for f in as_completed(fs, timeout=10.0):   # in the order they finish
//     ...     print(f.result())                      # TimeoutError if too slow
//
// In mpp: mpp::wait(results, mpp::wait_for::first_completed, 1s) returns positions in
// `results`; mpp::as_completed(results, 10s) yields the handles; mpp::AnyResult mixes types.

#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>
#include <mpp/mpp.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {
// `n` tasks on a pool of `n` threads, task i returning i once gate i is set.
struct Gated {
  explicit Gated(mpp::Pool& pool, int n) : gates(static_cast<std::size_t>(n)) {
    for (int i = 0; i < n; ++i) {
      results.push_back(pool.apply_async([this, i] {
        if (!gates[static_cast<std::size_t>(i)].wait()) throw std::runtime_error("gate timeout");
        return i;
      }));
    }
  }
  ~Gated() {
    for (auto& gate : gates) gate.set();  // never leave a task blocked, nor one reading a gate
    for (auto& result : results) (void)result.wait(mpp_test::patience);
  }
  std::deque<mpp_test::Event> gates;
  std::vector<mpp::AsyncResult<int>> results;
};
}  // namespace

TEST_CASE("as_completed yields each result in the order the results complete") {
  mpp::Pool pool(3);
  Gated tasks(pool, 3);
  auto completed = mpp::as_completed(tasks.results, mpp_test::patience);
  const int order[] = {2, 0, 1};
  tasks.gates[2].set();
  auto it = completed.begin();
  std::vector<int> seen;
  for (int step = 0; step < 3; ++step) {
    REQUIRE(it != completed.end());
    seen.push_back(it->get());
    if (step + 1 < 3) tasks.gates[static_cast<std::size_t>(order[step + 1])].set();
    ++it;
  }
  CHECK(it == completed.end());
  CHECK(seen == std::vector<int>{2, 0, 1});
}

TEST_CASE("as_completed yields results already ready first, in their order") {
  mpp::Pool pool(2);
  std::vector<mpp::AsyncResult<int>> results;
  for (int i = 0; i < 5; ++i) results.push_back(pool.apply_async([i] { return i; }));
  for (const auto& r : results) r.wait();
  std::vector<int> seen;
  for (const auto& r : mpp::as_completed(results)) seen.push_back(r.get());
  CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
}

// A pool's results mostly complete in order, and as_completed takes them in order as cheaply as
// a loop of get(); but a slow first result must not hold back the ones that finish after it.
TEST_CASE("as_completed yields finished results while the first one still runs") {
  mpp::Pool pool(2);
  mpp_test::Event gate;
  std::vector<mpp::AsyncResult<int>> results;
  results.push_back(pool.apply_async([&] { return gate.wait() ? -1 : -2; }));
  for (int i = 0; i < 100; ++i) results.push_back(pool.apply_async([i] { return i; }));
  auto completed = mpp::as_completed(results, mpp_test::patience);
  auto it = completed.begin();
  int sum = it->get();
  for (int step = 1; step < 100; ++step) sum += (++it)->get();
  CHECK(sum == 99 * 100 / 2);
  CHECK_FALSE(results[0].ready());
  gate.set();
  CHECK((++it)->get() == -1);
  CHECK(++it == completed.end());
}

TEST_CASE("as_completed over no results yields nothing") {
  std::vector<mpp::AsyncResult<int>> none;
  int count = 0;
  for (const auto& r : mpp::as_completed(none)) count += r.valid() ? 1 : 0;
  CHECK(count == 0);
}

TEST_CASE("as_completed throws mpp::TimeoutError when the next result is late") {
  mpp::Pool pool(2);
  Gated tasks(pool, 2);
  tasks.gates[0].set();
  auto completed = mpp::as_completed(tasks.results, 100ms);
  auto it = completed.begin();
  CHECK(it->get() == 0);
  try {
    ++it;
    FAIL("as_completed did not time out");
  } catch (const mpp::TimeoutError& e) {
    CHECK(std::string(e.what()).find("1 result was not ready") != std::string::npos);
  }
  tasks.gates[1].set();
  CHECK(tasks.results[1].get() == 1);  // the task kept running
}

// CPython's test_zero_timeout and test_future_times_out: the finished results come out even
// when the timeout has passed, and only then does the late one raise.
TEST_CASE("as_completed with a zero timeout yields the finished results, then throws") {
  mpp::Pool pool(3);
  Gated tasks(pool, 3);
  tasks.gates[1].set();
  tasks.gates[2].set();
  REQUIRE(tasks.results[1].wait(mpp_test::patience));
  REQUIRE(tasks.results[2].wait(mpp_test::patience));
  auto completed = mpp::as_completed(tasks.results, 0s);
  std::vector<int> seen;
  try {
    for (const auto& r : completed) seen.push_back(r.get());
    FAIL("as_completed did not time out");
  } catch (const mpp::TimeoutError&) {
  }
  CHECK(seen == std::vector<int>{1, 2});
  CHECK_FALSE(tasks.results[0].ready());
}

TEST_CASE("as_completed may stop early while results are still pending") {
  mpp::Pool pool(2);
  Gated tasks(pool, 2);
  tasks.gates[1].set();
  {
    auto completed = mpp::as_completed(tasks.results);
    CHECK(completed.begin()->get() == 1);
  }  // dropped with a result pending: its hook frees the rest later
  tasks.gates[0].set();
  CHECK(tasks.results[0].get() == 0);
}

TEST_CASE("wait(first_completed) returns once any result is ready") {
  mpp::Pool pool(3);
  Gated tasks(pool, 3);
  tasks.gates[1].set();
  const auto [done, not_done] =
      mpp::wait(tasks.results, mpp::wait_for::first_completed, mpp_test::patience);
  CHECK(done == std::vector<std::size_t>{1});
  CHECK(not_done == std::vector<std::size_t>{0, 2});
}

TEST_CASE("wait(first_exception) returns at the first failure, without waiting for the rest") {
  mpp::Pool pool(3);
  mpp_test::Event gate;
  std::vector<mpp::AsyncResult<int>> results;
  results.push_back(pool.apply_async([&] { return gate.wait() ? 0 : -1; }));
  results.push_back(pool.apply_async([]() -> int { throw std::invalid_argument("bad"); }));
  const auto waited = mpp::wait(results, mpp::wait_for::first_exception, mpp_test::patience);
  CHECK(waited.done == std::vector<std::size_t>{1});
  CHECK(waited.not_done == std::vector<std::size_t>{0});
  CHECK_THROWS_AS((void)results[1].get(), std::invalid_argument);
  gate.set();
  // With no failure, first_exception waits for all.
  results.pop_back();
  CHECK(mpp::wait(results, mpp::wait_for::first_exception).not_done.empty());
}

TEST_CASE("wait with a timeout returns what is not done by then") {
  mpp::Pool pool(2);
  Gated tasks(pool, 2);
  tasks.gates[0].set();
  REQUIRE(tasks.results[0].wait(mpp_test::patience));
  const auto start = std::chrono::steady_clock::now();
  const auto waited = mpp::wait(tasks.results, mpp::wait_for::all_completed, 50ms);
  CHECK(std::chrono::steady_clock::now() - start >= 50ms);
  CHECK(waited.done == std::vector<std::size_t>{0});
  CHECK(waited.not_done == std::vector<std::size_t>{1});
  // A zero timeout only looks.
  CHECK(mpp::wait(tasks.results, mpp::wait_for::first_completed, 0s).done.size() == 1);
  tasks.gates[1].set();
  const auto all = mpp::wait(tasks.results);
  CHECK(all.done.size() == 2);
  CHECK(all.not_done.empty());
}

TEST_CASE("wait and as_completed take results of different types as mpp::AnyResult") {
  mpp::Pool pool(2);
  auto number = pool.apply_async([] { return 1; });
  auto text = pool.apply_async([] { return std::string("two"); });
  auto nothing = pool.apply_async([] {});
  const auto waited = mpp::wait({number, text, nothing});
  CHECK(waited.done.size() == 3);
  int seen = 0;
  for (const mpp::AnyResult& r : mpp::as_completed({number, text, nothing})) {
    CHECK(r.successful());
    r.get();  // rethrows a failure, if any
    ++seen;
  }
  CHECK(seen == 3);
  std::vector<mpp::AnyResult> mixed{number, text};
  CHECK(mpp::wait(mixed, mpp::wait_for::first_completed).done.size() >= 1);
  CHECK(text.get() == "two");  // the typed handle still reads the value
}

TEST_CASE("as_completed inside a task of the pool runs the pool's pending tasks") {
  // One thread, busy with the waiting task: only the waiting thread can run the others.
  mpp::Pool pool(1);
  const int sum = pool.apply([&] {
    std::vector<mpp::AsyncResult<int>> parts;
    for (int i = 1; i <= 10; ++i) parts.push_back(pool.apply_async([i] { return i; }));
    int total = 0;
    for (const auto& r : mpp::as_completed(parts)) total += r.get();
    return total;
  });
  CHECK(sum == 55);
}

TEST_CASE("as_completed over 10^4 mixed results: values, exceptions and cancellations") {
  mpp::Pool pool(4);
  constexpr int n = 10'000;
  std::vector<mpp::AsyncResult<int>> results;
  results.reserve(n);
  for (int i = 0; i < n; ++i) {
    results.push_back(pool.apply_async([i] {
      if (i % 7 == 0) throw std::runtime_error("seven");
      return i;
    }));
  }
  int cancelled = 0;
  for (int i = 1; i < n; i += 13) cancelled += results[static_cast<std::size_t>(i)].cancel();
  long long sum = 0;
  int failures = 0, cancellations = 0, yielded = 0;
  for (const auto& r : mpp::as_completed(results, mpp_test::patience * 3)) {
    ++yielded;
    try {
      sum += r.get();
    } catch (const mpp::CancelledError&) {
      ++cancellations;
    } catch (const std::runtime_error&) {
      ++failures;  // every exception reaches the caller
    }
  }
  CHECK(yielded == n);
  CHECK(cancellations == cancelled);
  long long expected = 0;
  int expected_failures = 0;
  for (int i = 0; i < n; ++i) {
    if (results[static_cast<std::size_t>(i)].cancelled()) continue;
    if (i % 7 == 0) {
      ++expected_failures;
    } else {
      expected += i;
    }
  }
  CHECK(failures == expected_failures);
  CHECK(sum == expected);
}

TEST_CASE(
    "several threads may each iterate as_completed over the same results, some leaving early") {
  mpp::Pool pool(4);
  for (int round = 0; round < 20; ++round) {
    INFO("round = " << round);
    constexpr int n = 2'000;
    std::vector<mpp::AsyncResult<int>> results;
    for (int i = 0; i < n; ++i) results.push_back(pool.apply_async([i] { return i % 3; }));
    std::vector<int> yielded(4, 0);
    std::vector<std::thread> consumers;
    for (int c = 0; c < 4; ++c) {
      // Consumer c stops after n / (c + 1) results: its hooks still to fire free the set.
      consumers.emplace_back([&, c] {
        const int wanted = n / (c + 1);
        for (const auto& r : mpp::as_completed(results, mpp_test::patience)) {
          (void)r.get();
          if (++yielded[static_cast<std::size_t>(c)] == wanted) break;
        }
      });
    }
    for (auto& consumer : consumers) consumer.join();
    for (int c = 0; c < 4; ++c) CHECK(yielded[static_cast<std::size_t>(c)] == n / (c + 1));
  }
}

TEST_CASE("wait on an empty handle throws std::logic_error") {
  std::vector<mpp::AsyncResult<int>> results(1);
  CHECK_THROWS_AS((void)mpp::wait(results), std::logic_error);
}

TEST_CASE("as_completed over an empty handle throws std::logic_error; the others still complete") {
  mpp::Pool pool(2);
  Gated tasks(pool, 2);
  tasks.results.insert(tasks.results.begin() + 1, mpp::AsyncResult<int>());
  // The first task is watched before the empty handle is found: its hook frees the set later.
  CHECK_THROWS_AS((void)mpp::as_completed(tasks.results), std::logic_error);
  tasks.results.erase(tasks.results.begin() + 1);
  tasks.gates[0].set();
  tasks.gates[1].set();
  CHECK(tasks.results[0].get() == 0);
  CHECK(tasks.results[1].get() == 1);
}

TEST_CASE("as_completed takes views: a sized one and a filtered one") {
  mpp::Pool pool(2);
  std::vector<mpp::AsyncResult<int>> results;
  for (int i = 0; i < 10; ++i) results.push_back(pool.apply_async([i] { return i; }));
  int sum = 0;
  for (const auto& r : mpp::as_completed(results | std::views::take(4), mpp_test::patience)) {
    sum += r.get();
  }
  CHECK(sum == 0 + 1 + 2 + 3);
  const auto odd = [&](const auto& r) { return (&r - results.data()) % 2 == 1; };
  sum = 0;
  for (const auto& r : mpp::as_completed(results | std::views::filter(odd), mpp_test::patience)) {
    sum += r.get();
  }
  CHECK(sum == 1 + 3 + 5 + 7 + 9);
}

// Python's as_completed takes a set, so a future given twice comes out once (bpo-20367). mpp's
// ranges are positional, as mpp::wait's answer is: each element comes out once.
TEST_CASE("as_completed yields a result given twice once per position") {
  mpp::Pool pool(2);
  auto twice = pool.apply_async([] { return 7; });
  auto once = pool.apply_async([] { return 1; });
  std::vector<mpp::AsyncResult<int>> results{twice, once, twice};
  int yielded = 0;
  int sum = 0;
  for (const auto& r : mpp::as_completed(results, mpp_test::patience)) {
    ++yielded;
    sum += r.get();
  }
  CHECK(yielded == 3);
  CHECK(sum == 7 + 1 + 7);
  CHECK(mpp::wait(results, mpp::wait_for::all_completed).done == std::vector<std::size_t>{0, 1, 2});
}

// CPython's test_free_reference_yielded_future (bpo-14406): the iteration keeps no reference to
// a result it has yielded, so a large value can go before the loop ends.
TEST_CASE("as_completed drops each result it has yielded") {
  mpp::Pool pool(2);
  std::vector<mpp::AsyncResult<std::shared_ptr<int>>> results;
  for (int i = 0; i < 4; ++i) {
    results.push_back(pool.apply_async([i] { return std::make_shared<int>(i); }));
  }
  std::vector<std::weak_ptr<int>> yielded;
  for (const auto& r : mpp::as_completed(std::move(results), mpp_test::patience)) {
    for (const auto& value : yielded) {
      // The worker may still hold the task for a moment after completing it.
      CHECK(mpp_test::eventually([&] { return value.expired(); }));
    }
    yielded.push_back(r.get());
  }
  CHECK(yielded.size() == 4);
}

// The only thread of `pool` waits on a result of another pool and on its continuation on
// `pool`, which becomes runnable only once the source completes: it must still run.
TEST_CASE("as_completed on a pool's only thread runs a continuation that becomes runnable later") {
  mpp::Pool other(1);
  mpp::Pool pool(1);
  mpp_test::Event go;
  auto source = other.apply_async([&] { return go.wait() ? 1 : -1; });
  auto next = source.then(pool, [](int v) { return v + 1; });
  auto outer = pool.apply_async([&] {
    std::vector<mpp::AsyncResult<int>> both{next, source};
    int sum = 0;
    for (const auto& r : mpp::as_completed(both)) sum += r.get();
    return sum;
  });
  std::this_thread::sleep_for(20ms);  // the outer task is waiting by now, most likely
  go.set();
  REQUIRE(outer.wait(mpp_test::patience));
  CHECK(outer.get() == 1 + 2);
}
