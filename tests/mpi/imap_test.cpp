// mpp::mpi::Pool::imap and imap_unordered: the root's loop yields every result in input order
// (imap_unordered: as chunks arrive), equal to the local pool's map; the other ranks' loops are
// empty; a remote failure reaches the root's loop as RemoteError; leaving the loop early keeps
// the ranks in step.
#include <doctest/doctest.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <mpp/mpi.hpp>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

mpp::mpi::Pool& cluster() {
  static mpp::mpi::Pool pool({.threads = 2});
  return pool;
}

std::string label(int x) {
  return std::string(static_cast<std::size_t>(x % 9), 'a') + std::to_string(x);
}

// Everything a rank's loop over `stream` received.
template <class Stream>
auto collect(Stream&& stream) {
  std::vector<typename std::remove_cvref_t<Stream>::value_type> out;
  for (auto&& r : stream) out.push_back(std::move(r));
  return out;
}

}  // namespace

TEST_CASE("imap yields the local pool's results in order on the root, nothing elsewhere") {
  (void)cluster();
  mpp::Pool local(2);
  for (std::size_t n : {0u, 1u, 7u, 500u}) {
    const auto xs = std::views::iota(0, static_cast<int>(n));
    const auto expected = local.map(label, xs);
    for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                   mpp::schedule::python}) {
      for (std::optional<std::size_t> c :
           {std::optional<std::size_t>{}, std::optional<std::size_t>{1},
            std::optional<std::size_t>{n + 1}}) {
        CAPTURE(n);
        CAPTURE(static_cast<int>(s));
        const auto got = collect(cluster().imap(label, xs, {.chunksize = c, .schedule = s}));
        if (cluster().is_root()) {
          CHECK(got == expected);
        } else {
          CHECK(got.empty());
        }
      }
    }
  }
}

TEST_CASE("imap over items on the root only") {
  std::vector<int> xs;
  if (cluster().is_root()) {
    for (int i = 0; i < 321; ++i) xs.push_back(i);
  }
  const auto got = collect(cluster().imap(label, mpp::mpi::from_root(xs), {.chunksize = 4}));
  if (cluster().is_root()) {
    REQUIRE(got.size() == 321);
    for (int i = 0; i < 321; ++i) CHECK(got[static_cast<std::size_t>(i)] == label(i));
  } else {
    CHECK(got.empty());
  }
}

TEST_CASE("a remote rank's exception reaches the root's loop as RemoteError") {
  if (cluster().size() == 1) return;  // no remote rank
  // The other ranks fail at their first item; the root's items wait (at most 10 s) until one
  // has, so that the root cannot compute everything alone first.
  const auto marker = std::filesystem::temp_directory_path() /
                      ("mpp_mpi_imap_failed_np" + std::to_string(cluster().size()));
  if (cluster().is_root()) std::filesystem::remove(marker);
  MPI_Barrier(MPI_COMM_WORLD);
  const int rank = cluster().rank();
  const auto task = [&](int x) {
    if (rank != 0) {
      std::ofstream(marker) << rank;
      throw std::domain_error("rank " + std::to_string(rank) + " refuses item " +
                              std::to_string(x));
    }
    for (int i = 0; i < 1000 && !std::filesystem::exists(marker); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return x;
  };
  std::vector<int> seen;
  bool threw = false;
  try {
    for (int r : cluster().imap(task, std::views::iota(0, 200))) seen.push_back(r);
  } catch (const mpp::mpi::RemoteError& e) {
    threw = true;
    CHECK(e.rank() != 0);
    CHECK(e.type_name() == "std::domain_error");
    CHECK(e.message().find("refuses item") != std::string::npos);
  } catch (const std::domain_error& e) {  // the rank whose item was chosen: its own exception
    threw = true;
    CHECK(rank != 0);
  }
  CHECK(threw);  // on every rank: the others' (empty) loops throw too
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<int>(i));
  // Still in step afterwards.
  const auto r = cluster().map([](int x) { return x; }, std::views::iota(0, 10));
  if (cluster().is_root()) CHECK(r.size() == 10);
  if (cluster().is_root()) std::filesystem::remove(marker);
}

TEST_CASE("leaving the loop early, or never starting it, keeps the ranks in step") {
  {
    auto stream = cluster().imap(label, std::views::iota(0, 1000), {.chunksize = 3});
    for (const std::string& s : stream) {
      if (s == label(10)) break;
    }
  }                                                      // the stream ends here on every rank
  (void)cluster().imap(label, std::views::iota(0, 50));  // never iterated
  auto open = cluster().imap(label, std::views::iota(0, 30));
  // The next collective call first completes `open`; the root keeps its results for the loop.
  const auto direct = cluster().map(label, std::views::iota(0, 20));
  const auto later = collect(open);
  if (cluster().is_root()) {
    CHECK(direct.size() == 20);
    CHECK(later.size() == 30);
    CHECK(later.back() == label(29));
  } else {
    CHECK(later.empty());
  }
}

TEST_CASE("a slow loop on the root holds the ranks back to buffersize chunks ahead of it") {
  // The root's loop pauses after its first result, long enough for the ranks to compute all
  // 2,000 items were they not held back. Each rank stamps the items it computes; afterwards the
  // root's resume time is broadcast and the items computed before it are counted.
  constexpr int n = 2000;
  constexpr std::size_t buffersize = 8;
  using Clock = std::chrono::steady_clock;  // one node: the same clock in every process
  std::vector<std::int64_t> stamps(n, 0);
  const auto stamp = [&stamps](int x) {
    stamps[static_cast<std::size_t>(x)] = Clock::now().time_since_epoch().count();
    return x;
  };
  std::int64_t resumed = 0;
  int received = 0;
  for (int x :
       cluster().imap(stamp, std::views::iota(0, n), {.chunksize = 1, .buffersize = buffersize})) {
    CHECK(x == received);
    if (++received == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      resumed = Clock::now().time_since_epoch().count();
    }
  }
  MPI_Bcast(&resumed, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  long ahead = 0;
  for (std::int64_t t : stamps) ahead += t != 0 && t <= resumed ? 1 : 0;
  long total_ahead = 0;
  MPI_Reduce(&ahead, &total_ahead, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (cluster().is_root()) {
    CHECK(received == n);
    // The window (8 chunks of one item) past the one read, and a batch of two per rank in flight.
    CHECK(total_ahead <= static_cast<long>(buffersize + 1 + 2 * cluster().size()));
  }
}

TEST_CASE("progress on the root counts the results handed to the loop") {
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  std::size_t received = 0;
  for (int x :
       cluster().imap([](int x) { return x; }, std::views::iota(0, 100),
                      {.chunksize = 8, .progress = [&](std::size_t done, std::size_t total) {
                         calls.emplace_back(done, total);
                       }})) {
    (void)x;
    ++received;
    // A chunk (8 items) is counted when it reaches the loop.
    if (cluster().is_root() && !calls.empty()) CHECK(calls.back().first < received + 8);
  }
  if (cluster().is_root()) {
    REQUIRE(!calls.empty());
    CHECK(calls.front() == std::pair<std::size_t, std::size_t>{0, 100});
    CHECK(calls.back() == std::pair<std::size_t, std::size_t>{100, 100});
    for (std::size_t i = 1; i < calls.size(); ++i) CHECK(calls[i - 1].first <= calls[i].first);
  } else {
    CHECK(calls.empty());
  }
}

TEST_CASE("a progress callback that throws ends the root's loop with its exception") {
  const auto failing = [](std::size_t done, std::size_t) {
    if (done > 0) throw std::runtime_error("the display is gone");
  };
  std::size_t received = 0;
  bool threw = false;
  try {
    for (int x : cluster().imap([](int x) { return x; }, std::views::iota(0, 100),
                                {.chunksize = 10, .progress = failing})) {
      (void)x;
      ++received;
    }
  } catch (const std::runtime_error& e) {
    threw = true;
    CHECK(std::string(e.what()) == "the display is gone");
  }
  CHECK(threw == cluster().is_root());  // only the root reports progress
  CHECK(received == 0);                 // the first chunk's report threw before it was yielded
  // Still in step afterwards.
  const auto r = cluster().map([](int x) { return x; }, std::views::iota(0, 10));
  if (cluster().is_root()) CHECK(r.size() == 10);
}

TEST_CASE("imap_unordered yields every result once on the root, nothing elsewhere") {
  mpp::Pool local(2);
  for (std::size_t n : {0u, 1u, 7u, 500u}) {
    const auto xs = std::views::iota(0, static_cast<int>(n));
    auto expected = local.map(label, xs);
    std::ranges::sort(expected);
    for (std::optional<std::size_t> c :
         {std::optional<std::size_t>{}, std::optional<std::size_t>{1},
          std::optional<std::size_t>{n + 1}}) {
      CAPTURE(n);
      auto got = collect(cluster().imap_unordered(label, xs, {.chunksize = c}));
      auto from_root = collect(cluster().imap_unordered(
          label, mpp::mpi::from_root(std::vector<int>(xs.begin(), xs.end())), {.chunksize = c}));
      if (cluster().is_root()) {
        std::ranges::sort(got);
        std::ranges::sort(from_root);
        CHECK(got == expected);
        CHECK(from_root == expected);
      } else {
        CHECK(got.empty());
        CHECK(from_root.empty());
      }
    }
  }
}

TEST_CASE("imap_unordered yields other ranks' chunks before a slow one") {
  // Item 0 takes 300 ms, and holds back only the batch it is in (one chunk per thread of the
  // rank computing it): the other ranks' chunks arrive meanwhile. With one rank, every batch is
  // the root's own and comes whole, so the order is the input's here.
  const auto got = collect(cluster().imap_unordered(
      [](int x) {
        if (x == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return x;
      },
      std::views::iota(0, 8), {.chunksize = 1}));
  if (cluster().is_root()) {
    REQUIRE(got.size() == 8);
    if (cluster().size() > 1) CHECK(got.front() != 0);
    CHECK(std::ranges::is_permutation(got, std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  }
}

TEST_CASE("imap_unordered: a failing item ends the loop after the chunks that arrived") {
  std::vector<int> seen;
  bool threw = false;
  try {
    for (int r : cluster().imap_unordered(
             [](int x) {
               if (x == 13) throw std::domain_error("item 13 is cursed");
               return x;
             },
             std::views::iota(0, 100), {.chunksize = 1}))
      seen.push_back(r);
  } catch (const mpp::mpi::RemoteError& e) {
    threw = true;
    CHECK(e.type_name() == "std::domain_error");
  } catch (const std::domain_error& e) {  // the rank that ran item 13
    threw = true;
    CHECK(std::string(e.what()) == "item 13 is cursed");
  }
  CHECK(threw);  // on every rank
  CHECK(std::ranges::find(seen, 13) == seen.end());
  CHECK(seen.size() < 100);
  const auto r = cluster().map([](int x) { return x; }, std::views::iota(0, 10));
  if (cluster().is_root()) CHECK(r.size() == 10);  // still in step
}

TEST_CASE("istarmap and istarmap_unordered unpack tuple-like items") {
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < 50; ++i) pairs.emplace_back(i, 2 * i);
  std::vector<int> expected;
  for (const auto& [a, b] : pairs) expected.push_back(a + b);
  const auto add = [](int a, int b) { return a + b; };
  const auto in_order = collect(cluster().istarmap(add, pairs, {.chunksize = 3}));
  auto any_order = collect(cluster().istarmap_unordered(add, pairs));
  if (cluster().is_root()) {
    CHECK(in_order == expected);
    std::ranges::sort(any_order);
    CHECK(any_order == expected);
  } else {
    CHECK(in_order.empty());
    CHECK(any_order.empty());
  }
}
