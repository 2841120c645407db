// Pool::transform: std::transform run by the pool, writing into the caller's storage.
//
//     std::transform(xs.begin(), xs.end(), out.begin(), f) == pool.transform(xs, out, f)
//
// for every sized input, every schedule and chunk size, into vectors, arrays, spans and raw
// pointers; in place; and the same buffer reused call after call. Every parallel result is
// compared with the sequential std::transform.

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <list>
#include <mpp/mpp.hpp>
#include <numeric>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

constexpr std::array all_schedules = {mpp::schedule::adaptive, mpp::schedule::static_,
                                      mpp::schedule::dynamic, mpp::schedule::python};

// Irregular on purpose, so adaptive and dynamic schedules really split and steal.
long long work(int x) {
  long long acc = x;
  for (int i = 0; i < (x % 7) * 10; ++i) acc = (acc * 31 + i) % 1'000'003;
  return acc;
}

std::vector<int> iota_vector(std::size_t n, int first = -3) {
  std::vector<int> xs(n);
  std::iota(xs.begin(), xs.end(), first);
  return xs;
}

std::vector<long long> reference(const std::vector<int>& xs) {
  std::vector<long long> expected(xs.size());
  std::transform(xs.begin(), xs.end(), expected.begin(), work);
  return expected;
}

// Whether pool.transform(items, out, f) compiles: the concepts reject what would be wrong.
template <class Items, class Out, class F>
concept can_transform = requires(mpp::Pool& pool, Items&& items, Out&& out, F f) {
  pool.transform(std::forward<Items>(items), std::forward<Out>(out), f);
};

constexpr auto identity = [](int x) { return x; };
static_assert(can_transform<std::vector<int>&, std::vector<long long>&, decltype(identity)>);
static_assert(can_transform<std::vector<int>&, std::span<long long>, decltype(identity)>);
static_assert(can_transform<std::vector<int>&, long long*, decltype(identity)>);
// Proxy elements (bits) cannot be written by two threads at once.
static_assert(!can_transform<std::vector<int>&, std::vector<bool>&, decltype(identity)>);
// Not random access: no parallel writes by index.
static_assert(!can_transform<std::vector<int>&, std::list<int>&, decltype(identity)>);
// A result the output cannot hold.
struct Unrelated {};
static_assert(!can_transform<std::vector<int>&, std::vector<Unrelated>&, decltype(identity)>);
// A read-only output.
static_assert(!can_transform<std::vector<int>&, const std::vector<int>&, decltype(identity)>);
// A function that does not take the items.
static_assert(!can_transform<std::vector<std::string>&, std::vector<int>&, decltype(identity)>);

}  // namespace

TEST_CASE("transform writes f(x) for each x into the output, in input order, like std::transform") {
  for (int threads : {1, 2, 4}) {
    mpp::Pool pool(threads);
    for (std::size_t n : {0u, 1u, 2u, 7u, 100u, 5'003u}) {
      INFO("threads = " << threads << ", n = " << n);
      const auto xs = iota_vector(n);
      std::vector<long long> out(n, -1);
      const auto end = pool.transform(xs, out, work);
      CHECK(out == reference(xs));
      CHECK(end == out.end());
    }
  }
}

TEST_CASE("transform gives the same results under every schedule and chunk size") {
  mpp::Pool pool(4);
  for (std::size_t n : {0u, 1u, 13u, 1'000u}) {
    const auto xs = iota_vector(n);
    const auto expected = reference(xs);
    for (auto s : all_schedules) {
      for (std::size_t c : {std::size_t{1}, std::size_t{6}, n + 1, 3 * n + 5}) {
        INFO("n = " << n << ", schedule = " << static_cast<int>(s) << ", chunksize = " << c);
        std::vector<long long> out(n, -1);
        pool.transform(xs, out, work, {.chunksize = c, .schedule = s});
        CHECK(out == expected);
      }
      std::vector<long long> out(n, -1);
      pool.transform(xs, out, work, {.schedule = s});
      CHECK(out == expected);
    }
  }
}

TEST_CASE("transform fills a reused buffer anew on every call") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(10'000);
  std::vector<long long> out(xs.size());
  const long long* const storage = out.data();
  for (int step = 0; step < 20; ++step) {
    pool.transform(xs, out, [step](int x) { return static_cast<long long>(x) * step; });
    long long wrong = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      wrong += out[i] != static_cast<long long>(xs[i]) * step;
    }
    CHECK(wrong == 0);
  }
  CHECK(out.data() == storage);  // the buffer was never reallocated
}

TEST_CASE("transform writes into the first size(items) elements of a larger output only") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(100);
  std::vector<long long> out(150, -7);
  const auto end = pool.transform(xs, out, work);
  CHECK(end == out.begin() + 100);
  CHECK(std::equal(out.begin(), end, reference(xs).begin()));
  CHECK(std::all_of(end, out.end(), [](long long v) { return v == -7; }));
}

TEST_CASE("transform takes arrays, spans, raw pointers and iterators as output") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(64);
  const auto expected = reference(xs);

  std::array<long long, 64> array{};
  CHECK(pool.transform(xs, array, work) == array.end());
  CHECK(std::equal(array.begin(), array.end(), expected.begin()));

  std::vector<long long> storage(80, 0);
  std::span<long long> window(storage.data() + 8, 64);
  CHECK(pool.transform(xs, window, work) == window.end());  // a span is borrowed: no dangling
  CHECK(std::equal(window.begin(), window.end(), expected.begin()));
  CHECK(storage[7] == 0);
  CHECK(storage[72] == 0);

  std::vector<long long> raw(64, 0);
  long long* const end = pool.transform(xs, raw.data(), work);
  CHECK(end == raw.data() + 64);
  CHECK(raw == expected);

  std::vector<long long> by_iterator(64, 0);
  CHECK(pool.transform(xs, by_iterator.begin(), work) == by_iterator.end());
  CHECK(by_iterator == expected);
}

TEST_CASE("transform into an rvalue container returns std::ranges::dangling, as std::ranges does") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(10);
  auto result = pool.transform(xs, std::vector<long long>(10), work);
  static_assert(std::is_same_v<decltype(result), std::ranges::dangling>);
}

TEST_CASE("transform reads any sized range: a std::list, a view, a const vector") {
  mpp::Pool pool(3);
  std::list<int> list;
  for (int i = 0; i < 500; ++i) list.push_back(i * 3);
  std::vector<long long> out(list.size());
  pool.transform(list, out, work);
  const std::vector<int> as_vector(list.begin(), list.end());
  CHECK(out == reference(as_vector));

  std::vector<long long> squares(1'000);
  pool.transform(std::views::iota(0, 1'000), squares,
                 [](int i) { return static_cast<long long>(i) * i; });
  for (int i = 0; i < 1'000; ++i) CHECK(squares[static_cast<std::size_t>(i)] == 1LL * i * i);
}

TEST_CASE("transform works in place, with the input as its own output") {
  mpp::Pool pool(4);
  std::vector<int> xs = iota_vector(10'000, 0);
  pool.transform(xs, xs, [](int x) { return 2 * x + 1; });
  bool all = true;
  for (int i = 0; i < 10'000; ++i) all = all && xs[static_cast<std::size_t>(i)] == 2 * i + 1;
  CHECK(all);
}

TEST_CASE("transform into too small an output throws std::invalid_argument naming both sizes") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(10);
  std::vector<long long> out(9, -1);
  std::atomic<int> calls{0};
  const auto counted = [&](int x) {
    ++calls;
    return work(x);
  };
  try {
    pool.transform(xs, out, counted);
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("transform") != std::string::npos);
    CHECK(what.find("room for 9") != std::string::npos);
    CHECK(what.find("has 10") != std::string::npos);
  }
  CHECK(calls.load() == 0);  // checked before anything runs
  CHECK(std::all_of(out.begin(), out.end(), [](long long v) { return v == -1; }));
}

TEST_CASE("transform refuses chunksize 0 and checkpoints with std::invalid_argument") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(10);
  std::vector<long long> out(10);
  CHECK_THROWS_AS(pool.transform(xs, out, work, {.chunksize = 0}), std::invalid_argument);
  CHECK_THROWS_AS(pool.transform(xs, out.data(), work, {.chunksize = 0}), std::invalid_argument);
  mpp_test::TempJournal journal("transform-checkpoint");
  CHECK_THROWS_WITH_AS(pool.transform(xs, out, work, {.checkpoint = journal.path}),
                       doctest::Contains("checkpoint"), std::invalid_argument);
  CHECK_THROWS_AS(pool.transform(xs, out.data(), work, {.checkpoint = journal.path}),
                  std::invalid_argument);
}

TEST_CASE("an exception thrown by f reaches the caller of transform with its type") {
  struct Boom {
    int item;
  };
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    const auto xs = iota_vector(10'000, 0);
    std::vector<long long> out(xs.size());
    for (auto s : all_schedules) {
      try {
        pool.transform(xs, out,
                       [](int x) -> long long {
                         if (x == 4'321) throw Boom{x};
                         return x;
                       },
                       {.schedule = s});
        FAIL("expected Boom");
      } catch (const Boom& boom) {
        CHECK(boom.item == 4'321);
      }
    }
    // The pool is still usable afterwards.
    pool.transform(xs, out, work);
    CHECK(out == reference(xs));
  }
}

TEST_CASE("transform retries a failing call when asked, as map does") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(200, 0);
  std::vector<std::atomic<int>> attempts(xs.size());
  std::vector<long long> out(xs.size());
  pool.transform(xs, out,
                 [&](int x) -> long long {
                   if (attempts[static_cast<std::size_t>(x)]++ == 0)
                     throw std::runtime_error("first try");
                   return work(x);
                 },
                 {.retries = 1});
  CHECK(out == reference(xs));
}

TEST_CASE("transform reports progress ending with (n, n)") {
  mpp::Pool pool(2);
  const auto xs = iota_vector(1'000);
  std::vector<long long> out(xs.size());
  std::size_t last_done = 0, last_total = 0, reports = 0;
  pool.transform(xs, out, work, {.progress = [&](std::size_t done, std::size_t total) {
                   last_done = done;
                   last_total = total;
                   ++reports;
                 }});
  CHECK(reports >= 2);
  CHECK(last_done == 1'000);
  CHECK(last_total == 1'000);
}

TEST_CASE("transform on a closed pool throws mpp::PoolStateError") {
  mpp::Pool pool(2);
  pool.close();
  const auto xs = iota_vector(10);
  std::vector<long long> out(10);
  CHECK_THROWS_AS(pool.transform(xs, out, work), mpp::PoolStateError);
  CHECK_THROWS_AS(pool.transform(xs, out.begin(), work), mpp::PoolStateError);
}

TEST_CASE("a task may transform on its own pool without deadlock") {
  for (int threads : {1, 2, 4}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    const auto xs = iota_vector(1'000);
    std::vector<std::vector<long long>> outs(8, std::vector<long long>(xs.size()));
    std::vector<mpp::AsyncResult<void>> results;
    for (auto& out : outs) {
      results.push_back(pool.apply_async([&pool, &xs, &out] { pool.transform(xs, out, work); }));
    }
    for (auto& r : results) CHECK_NOTHROW(r.get(mpp_test::patience));
    for (auto& out : outs) CHECK(out == reference(xs));
  }
}

TEST_CASE("transform over 10^6 items, swept over 1, 2, 4 and 8 threads") {
  const auto xs = iota_vector(1'000'000, 0);
  std::vector<double> out(xs.size());
  for (int threads : {1, 2, 4, 8}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    for (int round = 0; round < 3; ++round) {
      pool.transform(xs, out, [round](int x) { return 0.5 * x + round; });
      std::size_t wrong = 0;
      for (std::size_t i = 0; i < xs.size(); ++i) wrong += out[i] != 0.5 * xs[i] + round;
      CHECK(wrong == 0);
    }
  }
}
