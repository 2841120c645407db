// Progress of mpp::mpi::Pool::map: the root's callback sees the whole cluster's count, from
// (0, n) to (n, n), never decreasing; the other ranks' callbacks are never called.
#include <doctest/doctest.h>

#include <cstddef>
#include <filesystem>
#include <mpp/mpi.hpp>
#include <ranges>
#include <stdexcept>
#include <utility>
#include <vector>

namespace {

mpp::mpi::Pool& cluster() {
  static mpp::mpi::Pool pool({.threads = 2});
  return pool;
}

using Calls = std::vector<std::pair<std::size_t, std::size_t>>;

// What a person watching the root's bar expects of the calls it received.
void check_calls(const Calls& calls, std::size_t n) {
  if (!cluster().is_root()) {
    CHECK(calls.empty());
    return;
  }
  REQUIRE(!calls.empty());
  if (n > 0) CHECK(calls.front() == std::pair<std::size_t, std::size_t>{0, n});
  CHECK(calls.back() == std::pair<std::size_t, std::size_t>{n, n});
  std::size_t ends = 0;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    CHECK(calls[i].second == n);
    CHECK(calls[i].first <= n);
    if (i > 0) CHECK(calls[i - 1].first <= calls[i].first);
    if (calls[i].first == n) ++ends;
  }
  CHECK(ends == 1);
}

}  // namespace

TEST_CASE("progress on the root counts every rank's items, only on the root") {
  for (auto s : {mpp::schedule::adaptive, mpp::schedule::static_, mpp::schedule::dynamic,
                 mpp::schedule::python}) {
    for (std::size_t n : {0u, 1u, 7u, 1000u}) {
      CAPTURE(static_cast<int>(s));
      CAPTURE(n);
      Calls calls;
      const auto got =
          cluster().map([](std::size_t x) { return 2 * x; }, std::views::iota(0u, n),
                        {.schedule = s, .progress = [&](std::size_t done, std::size_t total) {
                           calls.emplace_back(done, total);
                         }});
      if (cluster().is_root()) {
        REQUIRE(got.size() == n);
        for (std::size_t i = 0; i < n; ++i) CHECK(got[i] == 2 * i);
      } else {
        CHECK(got.empty());
      }
      check_calls(calls, n);
    }
  }
}

TEST_CASE("progress given on the root only, with items on the root only and a checkpoint") {
  std::vector<int> xs;
  if (cluster().is_root()) xs.assign(300, 1);
  Calls calls;
  mpp::MapOptions options{.chunksize = 7};
  if (cluster().is_root()) {
    options.progress = [&](std::size_t done, std::size_t total) {
      calls.emplace_back(done, total);
    };
  }
  const auto sums = cluster().map([](int x) { return x + 1; }, mpp::mpi::from_root(xs), options);
  if (cluster().is_root()) CHECK(sums == std::vector<int>(300, 2));
  check_calls(calls, 300);

  const auto journal = (std::filesystem::temp_directory_path() /
                        ("mpp_mpi_progress_np" + std::to_string(cluster().size()) + ".journal"))
                           .string();
  if (cluster().is_root()) std::filesystem::remove(journal);
  options.checkpoint = journal;
  for (int run = 0; run < 2; ++run) {  // the second run resumes everything from the journal
    calls.clear();
    (void)cluster().map([](int x) { return x + 1; }, mpp::mpi::from_root(xs), options);
    check_calls(calls, 300);
  }
  if (cluster().is_root()) std::filesystem::remove(journal);
}

TEST_CASE("a progress callback that throws fails the map on every rank") {
  const auto failing = [](std::size_t done, std::size_t) {
    if (done > 0) throw std::runtime_error("the display is gone");
  };
  CHECK_THROWS_AS(
      (void)cluster().map([](int x) { return x; }, std::views::iota(0, 500), {.progress = failing}),
      std::runtime_error);
  // Still in step afterwards.
  const auto r = cluster().map([](int x) { return x; }, std::views::iota(0, 10));
  if (cluster().is_root()) CHECK(r.size() == 10);
}
