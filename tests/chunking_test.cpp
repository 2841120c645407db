// How map cuts its items into chunks, observed from inside the items.
//
// Python's `Pool.map(f, xs)` without `chunksize` sends chunks of
//
//     chunksize, extra = divmod(len(xs), len(pool._pool) * 4); chunksize += bool(extra)
//
// items, i.e. ceil(n / (4 × workers)); mpp's `schedule::python` does the same, and an explicit
// `chunksize` means exactly that many items per chunk under every schedule.
//
// A chunk is run by one thread, item after item, so a probe records which thread started which
// item. Two deterministic observations follow:
//  * on each thread, a jump from item i to an item j != i + 1 is a chunk boundary, so j (and
//    i + 1, unless it is n) must be a multiple of the chunk size;
//  * if the first item to start waits until every thread has started an item, the first items
//    started are the first items of the first chunks handed out: {0, k, 2k, ...} for chunks of k
//    items claimed in order.

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <mpp/mpp.hpp>
#include <mutex>
#include <ranges>
#include <set>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

class ChunkProbe {
 public:
  // The first `hold` items to start wait for each other (bounded), so that `hold` threads are
  // busy at once and each of them has claimed a chunk of its own.
  explicit ChunkProbe(int hold) : hold_(hold), meeting_(hold) {}

  int operator()(int item) {
    bool wait = false;
    {
      std::lock_guard lock(mutex_);
      starts_.push_back({item, std::this_thread::get_id()});
      wait = static_cast<int>(starts_.size()) <= hold_;
    }
    if (wait && !meeting_.arrive_and_wait()) timed_out_ = true;
    return item;
  }

  // The first `hold` items started, in increasing order.
  std::vector<int> first_starts() const {
    std::vector<int> firsts;
    for (std::size_t i = 0; i < starts_.size() && static_cast<int>(i) < hold_; ++i) {
      firsts.push_back(starts_[i].item);
    }
    std::ranges::sort(firsts);
    return firsts;
  }

  // Every item started exactly once; each thread's items are a series of increasing runs.
  // Returns the boundaries seen: the first item of each run and the item after each run ends.
  std::set<int> boundaries(int n) const {
    std::set<int> out;
    std::map<std::thread::id, int> last;
    for (const auto& s : starts_) {
      auto it = last.find(s.thread);
      if (it == last.end()) {
        out.insert(s.item);
      } else if (s.item != it->second + 1) {
        out.insert(it->second + 1);
        out.insert(s.item);
      }
      last[s.thread] = s.item;
    }
    for (const auto& [thread, item] : last) out.insert(item + 1);
    out.erase(n);
    return out;
  }

  std::size_t started() const { return starts_.size(); }
  std::size_t threads_seen() const {
    std::set<std::thread::id> ids;
    for (const auto& s : starts_) ids.insert(s.thread);
    return ids.size();
  }
  bool timed_out() const { return timed_out_; }

 private:
  struct Start {
    int item;
    std::thread::id thread;
  };
  int hold_;
  mpp_test::Rendezvous meeting_;
  std::mutex mutex_;
  std::vector<Start> starts_;
  std::atomic<bool> timed_out_{false};
};

std::size_t ceil_div(std::size_t a, std::size_t b) {
  return (a + b - 1) / b;
}

// All boundaries are multiples of k: no chunk of k items was cut.
bool aligned(const std::set<int>& boundaries, int k) {
  return std::ranges::all_of(boundaries, [&](int b) { return b % k == 0; });
}

std::vector<int> multiples(int k, int count) {
  std::vector<int> out;
  for (int i = 0; i < count; ++i) out.push_back(i * k);
  return out;
}

}  // namespace

TEST_CASE("schedule::python uses Python's default chunksize ceil(n / (4 x threads))") {
  struct Case {
    int threads;
    int n;
  };
  for (Case c : {Case{2, 100}, Case{2, 1'000}, Case{2, 9}, Case{3, 1'000}, Case{4, 50'001}}) {
    INFO("threads = " << c.threads << ", n = " << c.n);
    const int k = static_cast<int>(ceil_div(c.n, 4 * c.threads));
    mpp::Pool pool(c.threads);
    ChunkProbe probe(c.threads);
    auto out =
        pool.map(std::ref(probe), std::views::iota(0, c.n), {.schedule = mpp::schedule::python});
    CHECK(out.size() == static_cast<std::size_t>(c.n));
    CHECK(probe.started() == static_cast<std::size_t>(c.n));
    CHECK_FALSE(probe.timed_out());
    // Each thread claimed one of the first chunks; they start at 0, k, 2k, ...
    CHECK(probe.first_starts() == multiples(k, c.threads));
    CHECK(aligned(probe.boundaries(c.n), k));
  }
}

TEST_CASE("schedule::python at one thread cuts four chunks, as Python's Pool(1) does") {
  mpp::Pool pool(1);
  ChunkProbe probe(1);
  (void)pool.map(std::ref(probe), std::views::iota(0, 100), {.schedule = mpp::schedule::python});
  CHECK(probe.threads_seen() == 1);
  CHECK(aligned(probe.boundaries(100), 25));
}

TEST_CASE("an explicit chunksize overrides Python's default, as in Python") {
  mpp::Pool pool(2);
  ChunkProbe probe(2);
  (void)pool.map(std::ref(probe), std::views::iota(0, 1'000),
                 {.chunksize = 7, .schedule = mpp::schedule::python});
  CHECK_FALSE(probe.timed_out());
  CHECK(probe.first_starts() == multiples(7, 2));
  CHECK(aligned(probe.boundaries(1'000), 7));
}

TEST_CASE("schedule::dynamic hands out chunks of one item by default, else of chunksize") {
  mpp::Pool pool(2);
  SUBCASE("default") {
    ChunkProbe probe(2);
    (void)pool.map(std::ref(probe), std::views::iota(0, 500), {.schedule = mpp::schedule::dynamic});
    CHECK_FALSE(probe.timed_out());
    CHECK(probe.first_starts() == std::vector<int>{0, 1});
  }
  SUBCASE("chunksize = 6") {
    ChunkProbe probe(2);
    (void)pool.map(std::ref(probe), std::views::iota(0, 500),
                   {.chunksize = 6, .schedule = mpp::schedule::dynamic});
    CHECK_FALSE(probe.timed_out());
    CHECK(probe.first_starts() == std::vector<int>{0, 6});
    CHECK(aligned(probe.boundaries(500), 6));
  }
}

TEST_CASE("schedule::static_ gives each thread one contiguous block by default") {
  for (int threads : {2, 3}) {
    INFO("threads = " << threads);
    mpp::Pool pool(threads);
    constexpr int n = 1'001;
    const int block = static_cast<int>(ceil_div(n, static_cast<std::size_t>(threads)));
    ChunkProbe probe(threads);
    (void)pool.map(std::ref(probe), std::views::iota(0, n), {.schedule = mpp::schedule::static_});
    CHECK_FALSE(probe.timed_out());
    CHECK(probe.first_starts() == multiples(block, threads));
    // One run per block: no other boundary.
    std::set<int> expected;
    for (int b = 0; b < n; b += block) expected.insert(b);
    CHECK(probe.boundaries(n) == expected);
  }
}

TEST_CASE("with an explicit chunksize no chunk is ever cut, under every schedule") {
  mpp::Pool pool(4);
  constexpr int n = 3'000;
  for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                 mpp::schedule::python}) {
    for (int k : {1, 6, 64, 1'000}) {
      INFO("schedule = " << static_cast<int>(s) << ", chunksize = " << k);
      ChunkProbe probe(0);
      (void)pool.map(std::ref(probe), std::views::iota(0, n),
                     {.chunksize = static_cast<std::size_t>(k), .schedule = s});
      CHECK(probe.started() == static_cast<std::size_t>(n));
      CHECK(aligned(probe.boundaries(n), k));
    }
  }
}

TEST_CASE("chunksize >= n makes one chunk: one thread runs every item in order") {
  mpp::Pool pool(4);
  for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                 mpp::schedule::python}) {
    for (int n : {1, 6, 500}) {
      for (int k : {n, n + 1, 10 * n}) {
        INFO("schedule = " << static_cast<int>(s) << ", n = " << n << ", chunksize = " << k);
        ChunkProbe probe(0);
        (void)pool.map(std::ref(probe), std::views::iota(0, n),
                       {.chunksize = static_cast<std::size_t>(k), .schedule = s});
        CHECK(probe.threads_seen() == 1);
        CHECK(probe.boundaries(n) == std::set<int>{0});
      }
    }
  }
}
