// imap and imap_unordered, Python's lazy maps:
//
//     >>> list(p.imap(f, xs, chunksize=c)) == [f(x) for x in xs]      # input order
//     >>> sorted(p.imap_unordered(f, xs)) == sorted(map(f, xs))       # completion order
//     >>> for r in p.imap(f, itertools.count()): if done(r): break     # unbounded input
//
// mpp's streams read the input lazily on the consumer's thread and keep at most `buffersize`
// chunks in flight (Python 3.15's `buffersize`), so unbounded inputs work in bounded memory;
// leaving the loop cancels what has not started.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <list>
#include <mpp/mpp.hpp>
#include <numeric>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;

namespace {

// A single-pass input range, like a Python generator: each item is produced once, on demand, and
// the range cannot be restarted. Optionally throws when asked for item `throw_at`.
class Generator {
 public:
  explicit Generator(int n, int throw_at = -1) : n_(n), throw_at_(throw_at) {}

  class iterator {
   public:
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(Generator* g) : g_(g) {}
    int operator*() const { return g_->current_; }
    iterator& operator++() {
      g_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& it, std::default_sentinel_t) { return it.g_->done(); }

   private:
    Generator* g_ = nullptr;
  };

  iterator begin() {
    advance();
    return iterator(this);
  }
  std::default_sentinel_t end() const { return {}; }
  int produced() const { return produced_; }
  bool done() const { return current_ >= n_; }

 private:
  void advance() {
    if (produced_ == throw_at_) throw std::runtime_error("the input failed");
    current_ = produced_ < n_ ? produced_++ : n_;
  }

  int n_;
  int throw_at_;
  int produced_ = 0;
  int current_ = -1;
};

static_assert(std::ranges::input_range<Generator>);
static_assert(!std::ranges::forward_range<Generator>);

}  // namespace

TEST_CASE("imap yields f(x) for every x in input order") {
  mpp::Pool pool(4);
  for (int n : {0, 1, 5, 1'000}) {
    INFO("n = " << n);
    const auto expected =
        mpp_test::sequential_map([](int x) { return x * 3; }, std::views::iota(0, n));
    for (std::size_t c : {std::size_t{1}, std::size_t{6}, static_cast<std::size_t>(n) + 1,
                          4 * static_cast<std::size_t>(n) + 3}) {
      INFO("chunksize = " << c);
      std::vector<int> got;
      for (int r :
           pool.imap([](int x) { return x * 3; }, std::views::iota(0, n), {.chunksize = c})) {
        got.push_back(r);
      }
      CHECK(got == expected);
    }
  }
}

TEST_CASE("imap accepts vectors, lists and single-pass input ranges") {
  mpp::Pool pool(2);
  auto twice = [](int x) { return 2 * x; };
  std::vector<int> expected(300);
  for (int i = 0; i < 300; ++i) expected[static_cast<std::size_t>(i)] = 2 * i;

  auto collect = [](auto&& stream) {
    std::vector<int> out;
    for (int r : stream) out.push_back(r);
    return out;
  };
  std::vector<int> vec(300);
  std::iota(vec.begin(), vec.end(), 0);
  std::list<int> lst(vec.begin(), vec.end());
  CHECK(collect(pool.imap(twice, vec, {.chunksize = 7})) == expected);
  CHECK(collect(pool.imap(twice, lst, {.chunksize = 7})) == expected);
  CHECK(collect(pool.imap(twice, std::vector<int>(vec))) == expected);  // an rvalue is moved in

  Generator gen(300);
  CHECK(collect(pool.imap(twice, gen, {.chunksize = 5})) == expected);
  CHECK(gen.produced() == 300);  // each item read exactly once

  // std::istream_view is Python's "for line in file".
  std::istringstream text("1 2 3 4 5");
  CHECK(collect(pool.imap(twice, std::views::istream<int>(text))) ==
        std::vector<int>{2, 4, 6, 8, 10});

  Generator empty(0);
  CHECK(collect(pool.imap(twice, empty)).empty());
  CHECK(collect(pool.imap_unordered(twice, std::vector<int>{})).empty());
}

TEST_CASE("imap_unordered yields every result once, in the order the chunks complete") {
  mpp::Pool pool(2);
  SUBCASE("the same multiset of results as map") {
    for (std::size_t c : {1u, 6u, 1'000u}) {
      std::vector<int> got;
      for (int r : pool.imap_unordered([](int x) { return x * x; }, std::views::iota(0, 1'000),
                                       {.chunksize = c})) {
        got.push_back(r);
      }
      std::ranges::sort(got);
      CHECK(got ==
            mpp_test::sequential_map([](int x) { return x * x; }, std::views::iota(0, 1'000)));
    }
  }
  SUBCASE("a slow first item comes last") {
    // Item 0 waits until every other item has been delivered to the consumer; imap_unordered
    // delivers the others first, where imap would have to wait for item 0.
    std::atomic<int> delivered{0};
    std::vector<int> order;
    for (int r : pool.imap_unordered(
             [&](int x) {
               if (x == 0) (void)mpp_test::eventually([&] { return delivered >= 9; });
               return x;
             },
             std::views::iota(0, 10))) {
      order.push_back(r);
      ++delivered;
    }
    REQUIRE(order.size() == 10);
    CHECK(order.back() == 0);
  }
  SUBCASE("imap keeps input order even when the first item is the slowest") {
    std::atomic<int> finished{0};
    std::vector<int> order;
    for (int r : pool.imap(
             [&](int x) {
               if (x == 0) (void)mpp_test::eventually([&] { return finished >= 9; });
               ++finished;
               return x;
             },
             std::views::iota(0, 10), {.buffersize = 10})) {
      order.push_back(r);
    }
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  }
}

TEST_CASE("imap over an unbounded std::views::iota(0), left with break") {
  mpp::Pool pool(2);
  for (bool ordered : {true, false}) {
    INFO("ordered = " << ordered);
    auto square = [](long long x) { return x * x; };
    long long total = 0;
    int count = 0;
    auto consume = [&](auto&& stream) {
      for (long long r : stream) {
        total += r;
        if (++count == 10'000) break;
      }
    };
    if (ordered) {
      consume(pool.imap(square, std::views::iota(0LL), {.chunksize = 16}));
      CHECK(total == 333'283'335'000LL);  // sum of squares below 10000
    } else {
      consume(pool.imap_unordered(square, std::views::iota(0LL), {.chunksize = 16}));
    }
    CHECK(count == 10'000);
  }
}

TEST_CASE("imap keeps a bounded window: at most buffersize x chunksize items ahead") {
  mpp::Pool pool(4);
  struct Case {
    std::size_t chunksize;
    std::size_t buffersize;
  };
  for (Case c : {Case{1, 1}, Case{1, 4}, Case{8, 2}, Case{5, 16}}) {
    for (bool ordered : {true, false}) {
      INFO("chunksize = " << c.chunksize << ", buffersize = " << c.buffersize
                          << ", ordered = " << ordered);
      std::atomic<long long> started{0};
      std::atomic<long long> read{0};
      auto input = std::views::iota(0LL) | std::views::transform([&](long long x) {
                     ++read;
                     return x;
                   });
      auto f = [&](long long x) {
        ++started;
        return x;
      };
      const long long window = static_cast<long long>(c.chunksize * c.buffersize);
      long long consumed = 0;
      long long worst_started = 0;
      long long worst_read = 0;
      auto consume = [&](auto&& stream) {
        for (long long r : stream) {
          (void)r;
          ++consumed;
          if (consumed % 50 == 0) {
            // Give the workers every chance to run ahead, then measure how far they got.
            std::this_thread::sleep_for(1ms);
          }
          worst_started = std::max(worst_started, started.load() - consumed);
          worst_read = std::max(worst_read, read.load() - consumed);
          if (consumed == 2'000) break;
        }
      };
      const mpp::MapOptions options{.chunksize = c.chunksize, .buffersize = c.buffersize};
      if (ordered) {
        consume(pool.imap(f, input, options));
      } else {
        consume(pool.imap_unordered(f, input, options));
      }
      CHECK(consumed == 2'000);
      // The chunk being consumed is part of the window, so nothing beyond it has started.
      CHECK(worst_started <= window);
      CHECK(worst_read <= window);
      CHECK(started.load() <= 2'000 + window);
    }
  }
}

TEST_CASE("the default window is 4 x threads chunks") {
  mpp::Pool pool(2);
  std::atomic<int> started{0};
  auto stream = pool.imap(
      [&](int x) {
        ++started;
        return x;
      },
      std::views::iota(0), {.chunksize = 3});
  // Before the first result is asked for, the window fills and stops.
  CHECK(mpp_test::eventually([&] { return started >= 8 * 3; }));
  std::this_thread::sleep_for(5ms);
  CHECK(started == 8 * 3);
}

TEST_CASE("leaving an imap loop cancels the rest promptly") {
  mpp::Pool pool(2);
  for (bool ordered : {true, false}) {
    INFO("ordered = " << ordered);
    std::atomic<int> started{0};
    auto slow = [&](int x) {
      ++started;
      mpp_test::pause_briefly();
      return x;
    };
    int seen = 0;
    auto consume = [&](auto&& stream) {
      for (int r : stream) {
        (void)r;
        if (++seen == 5) break;
      }
    };
    const mpp::MapOptions options{.chunksize = 4, .buffersize = 8};
    if (ordered) {
      consume(pool.imap(slow, std::views::iota(0), options));
    } else {
      consume(pool.imap_unordered(slow, std::views::iota(0), options));
    }
    // The stream is gone: what had not started never starts, what ran has returned.
    const int at_break = started.load();
    CHECK(at_break <= 5 + 4 * 8);
    std::this_thread::sleep_for(20ms);
    CHECK(started.load() == at_break);
  }
}

TEST_CASE("an abandoned stream does not hold up the pool") {
  mpp::Pool pool(1);
  std::atomic<int> started{0};
  {
    auto stream = pool.imap(
        [&](int x) {
          ++started;
          mpp_test::pause_briefly();
          return x;
        },
        std::views::iota(0), {.chunksize = 100, .buffersize = 50});
    // Destroyed without being iterated.
  }
  const int at_destruction = started.load();
  CHECK(pool.apply([] { return 1; }) == 1);
  CHECK(started.load() == at_destruction);
}

TEST_CASE("an exception from f appears at its item's position, and iteration may continue") {
  mpp::Pool pool(3);
  auto f = [](int x) {
    if (x % 10 == 3) throw std::domain_error("item " + std::to_string(x));
    return x;
  };
  for (std::size_t c : {1u, 4u}) {
    INFO("chunksize = " << c);
    auto stream = pool.imap(f, std::views::iota(0, 50), {.chunksize = c});
    int position = 0;
    int good = 0;
    int failed = 0;
    for (auto it = stream.begin(); it != stream.end(); ++it, ++position) {
      if (position % 10 == 3) {
        CHECK_THROWS_WITH_AS((void)*it, ("item " + std::to_string(position)).c_str(),
                             std::domain_error);
        ++failed;
      } else {
        CHECK(*it == position);
        ++good;
      }
    }
    CHECK(position == 50);
    CHECK(good == 45);
    CHECK(failed == 5);
  }
  SUBCASE("imap_unordered") {
    int good = 0;
    int failed = 0;
    auto stream = pool.imap_unordered(f, std::views::iota(0, 50));
    for (auto it = stream.begin(); it != stream.end(); ++it) {
      try {
        const int value = *it;
        CHECK(value % 10 != 3);
        ++good;
      } catch (const std::domain_error&) {
        ++failed;
      }
    }
    CHECK(good == 45);
    CHECK(failed == 5);
  }
}

// Python's test_imap_handle_iterable_exception: results of the items read before the input threw
// come first, then the input's exception. (CPython drops the items of a chunk that was being read
// when the input threw; mpp delivers every item read before the throw.)
TEST_CASE("imap over an input that throws part-way yields every earlier result, then throws") {
  mpp::Pool pool(2);
  auto square = [](int x) {
    mpp_test::pause_briefly();
    return x * x;
  };
  struct Case {
    int n, throw_at;
    std::size_t chunksize, buffersize;
  };
  for (const Case c : {Case{10, 3, 1, 16},      // throws while the stream fills its first window
                       Case{20, 7, 2, 16},      // ... in the middle of a chunk
                       Case{20, 7, 3, 16},      //
                       Case{20, 7, 4, 16},      //
                       Case{1'000, 100, 3, 4},  // throws while iterating, long after the start
                       Case{10, 0, 1, 4}}) {    // the very first item throws
    INFO("throw_at = " << c.throw_at << ", chunksize = " << c.chunksize);
    Generator gen(c.n, c.throw_at);
    auto stream = pool.imap(square, gen, {.chunksize = c.chunksize, .buffersize = c.buffersize});
    std::vector<int> got;
    auto it = stream.begin();
    for (; it != stream.end() && static_cast<int>(got.size()) < c.throw_at; ++it) {
      got.push_back(*it);
    }
    CHECK(got == mpp_test::sequential_map(square, std::views::iota(0, c.throw_at)));
    REQUIRE(it != stream.end());
    CHECK_THROWS_WITH_AS((void)*it, "the input failed", std::runtime_error);
    ++it;
    CHECK(it == stream.end());  // nothing comes after the input's exception
  }
  CHECK(pool.apply([] { return 2; }) == 2);
}

// Python's test_imap_unordered_handle_iterable_exception: in completion order, the same.
TEST_CASE("imap_unordered over an input that throws yields every finished result, then throws") {
  mpp::Pool pool(2);
  auto square = [](int x) {
    mpp_test::pause_briefly();
    return x * x;
  };
  for (const std::size_t chunksize : {1, 2, 3}) {
    INFO("chunksize = " << chunksize);
    Generator gen(1'000, 100);
    std::vector<int> got;
    bool threw = false;
    try {
      for (int r : pool.imap_unordered(square, gen, {.chunksize = chunksize, .buffersize = 4})) {
        got.push_back(r);
      }
    } catch (const std::runtime_error& e) {
      threw = std::string(e.what()) == "the input failed";
    }
    CHECK(threw);
    std::sort(got.begin(), got.end());
    CHECK(got == mpp_test::sequential_map(square, std::views::iota(0, 100)));
  }
}

TEST_CASE("a stream whose input threw runs nothing more once it is left") {
  mpp::Pool pool(2);
  std::atomic<int> ran{0};
  auto f = [&](int x) {
    ++ran;
    return x;
  };
  Generator gen(1'000, 50);
  try {
    for (int r : pool.imap(f, gen, {.chunksize = 3, .buffersize = 4})) (void)r;
  } catch (const std::runtime_error&) {
  }
  CHECK(ran.load() == 50);  // every item read before the throw ran, and nothing else
  const int after = ran.load();
  std::this_thread::sleep_for(20ms);
  CHECK(ran.load() == after);
}

TEST_CASE("buffersize = 0 is rejected with std::invalid_argument") {
  mpp::Pool pool(2);
  CHECK_THROWS_AS(
      (void)pool.imap([](int x) { return x; }, std::views::iota(0, 5), {.buffersize = 0}),
      std::invalid_argument);
  CHECK_THROWS_AS(
      (void)pool.imap_unordered([](int x) { return x; }, std::views::iota(0, 5), {.buffersize = 0}),
      std::invalid_argument);
}

TEST_CASE("imap from several consumer threads, each with its own stream") {
  mpp::Pool pool(2);
  std::atomic<int> correct{0};
  std::vector<std::thread> consumers;
  for (int t = 0; t < 3; ++t) {
    consumers.emplace_back([&, t] {
      int expected = 0;
      bool ok = true;
      for (int r :
           pool.imap([t](int x) { return x + t; }, std::views::iota(0, 2'000), {.chunksize = 8})) {
        ok = ok && r == expected + t;
        ++expected;
      }
      correct += ok && expected == 2'000;
    });
  }
  for (auto& c : consumers) c.join();
  CHECK(correct == 3);
}
