// MapOptions::checkpoint: finished chunks are journaled, and a rerun of the same map resumes.
#include <doctest/doctest.h>

#include <mpp/mpp.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <ranges>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

namespace {

using mpp_test::TempJournal;

std::vector<long> expected(int n) {
  std::vector<long> out;
  for (int i = 0; i < n; ++i) out.push_back(3L * i);
  return out;
}

}  // namespace

TEST_CASE("a checkpointed map returns the same results as a plain map") {
  TempJournal journal("plain");
  mpp::Pool pool(2);
  auto triple = [](int x) { return 3L * x; };
  CHECK(pool.map(triple, std::views::iota(0, 1000), {.checkpoint = journal.path}) ==
        expected(1000));
  CHECK(std::filesystem::exists(journal.path));
}

TEST_CASE("a rerun after a failure computes only the chunks the journal lacks") {
  TempJournal journal("resume");
  mpp::Pool pool(2);
  std::atomic<int> calls{0};
  auto failing = [&](int x) -> long {
    calls.fetch_add(1);
    if (x == 900) throw std::runtime_error("item 900 fails");
    return 3L * x;
  };
  // The failing and the working lambda are one computation: the tag says so (without it, the
  // journal would be refused as another function's).
  CHECK_THROWS_AS(pool.map(failing, std::views::iota(0, 1000),
                           {.chunksize = 10,
                            .schedule = mpp::schedule::adaptive,
                            .checkpoint = journal.path,
                            .checkpoint_tag = "triple"}),
                  std::runtime_error);
  const int first_calls = calls.exchange(0);
  auto works = [&](int x) {
    calls.fetch_add(1);
    return 3L * x;
  };
  const mpp::MapOptions resume{.checkpoint = journal.path, .checkpoint_tag = "triple"};
  CHECK(pool.map(works, std::views::iota(0, 1000), resume) == expected(1000));
  // Every chunk finished before the failure was read back instead of recomputed.
  CHECK(calls.load() <= 1000 - (first_calls - 10));
  CHECK(calls.load() >= 10);
  calls = 0;
  CHECK(pool.map(works, std::views::iota(0, 1000), resume) == expected(1000));
  CHECK(calls.load() == 0);
}

TEST_CASE("a journal of other inputs is refused, not mixed in") {
  TempJournal journal("mismatch");
  mpp::Pool pool(2);
  auto triple = [](int x) { return 3L * x; };
  (void)pool.map(triple, std::views::iota(0, 100), {.checkpoint = journal.path});
  CHECK_THROWS_AS(pool.map(triple, std::views::iota(0, 101), {.checkpoint = journal.path}),
                  mpp::CheckpointError);
  CHECK_THROWS_WITH_AS(pool.map(triple, std::views::iota(1, 101), {.checkpoint = journal.path}),
                       doctest::Contains("different map"), mpp::CheckpointError);
}

TEST_CASE("a torn or corrupted journal tail is ignored") {
  TempJournal journal("torn");
  mpp::Pool pool(2);
  std::atomic<int> calls{0};
  auto triple = [&](int x) {
    calls.fetch_add(1);
    return 3L * x;
  };
  (void)pool.map(triple, std::views::iota(0, 100), {.chunksize = 10, .checkpoint = journal.path});
  const auto size = std::filesystem::file_size(journal.path);
  std::filesystem::resize_file(journal.path, size - 5);  // the last record is torn
  {
    std::fstream file(journal.path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(size / 2));
    file.put('\x7f');  // and one in the middle is damaged
  }
  calls = 0;
  CHECK(pool.map(triple, std::views::iota(0, 100), {.checkpoint = journal.path}) == expected(100));
  CHECK(calls.load() > 0);
  CHECK(calls.load() < 100);
}

TEST_CASE("a file that is not a journal is refused with a clear error") {
  TempJournal journal("garbage");
  std::ofstream(journal.path) << "not a journal";
  mpp::Pool pool(2);
  CHECK_THROWS_WITH_AS(
      pool.map([](int x) { return x; }, std::views::iota(0, 10), {.checkpoint = journal.path}),
      doctest::Contains("not an mpp journal"), mpp::CheckpointError);
}

TEST_CASE("SIGTERM stops a checkpointed map with mpp::InterruptedError and keeps finished chunks") {
  TempJournal journal("signal");
  mpp::Pool pool(2);
  std::atomic<int> calls{0};
  auto slow = [&](int x) {
    if (calls.fetch_add(1) == 50) std::raise(SIGTERM);
    return 3L * x;
  };
  try {
    (void)pool.map(slow, std::views::iota(0, 100000),
                   {.chunksize = 10, .checkpoint = journal.path, .checkpoint_tag = "triple"});
    FAIL("the map should have been interrupted");
  } catch (const mpp::InterruptedError& interrupted) {
    CHECK(interrupted.signal_number() == SIGTERM);
    CHECK(std::string(interrupted.what()).find("resume") != std::string::npos);
  }
  const int before = calls.exchange(0);
  CHECK(before < 100000);
  auto triple = [&](int x) {
    calls.fetch_add(1);
    return 3L * x;
  };
  CHECK(pool.map(triple, std::views::iota(0, 100000),
                 {.checkpoint = journal.path, .checkpoint_tag = "triple"}) == expected(100000));
  CHECK(calls.load() < 100000);
}

TEST_CASE("checkpoint is refused for streams and for types cereal cannot write") {
  mpp::Pool pool(2);
  CHECK_THROWS_AS((void)pool.imap([](int x) { return x; }, std::views::iota(0, 10),
                                  {.checkpoint = "x.journal"}),
                  std::invalid_argument);
  struct Opaque {
    int v = 0;
  };
  CHECK_THROWS_AS(pool.map([](int x) { return Opaque{x}; }, std::views::iota(0, 10),
                           {.checkpoint = "x.journal"}),
                  std::invalid_argument);
  // cereal's traits accept any std::vector; its elements must be serializable too.
  CHECK_THROWS_AS(pool.map([](int x) { return std::vector<Opaque>(1, Opaque{x}); },
                           std::views::iota(0, 10), {.checkpoint = "x.journal"}),
                  std::invalid_argument);
}
