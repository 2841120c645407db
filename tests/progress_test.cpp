// MapOptions::progress and mpp::progress_bar.
#include <doctest/doctest.h>

#include <cstdio>
#include <mpp/mpp.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

// Records the calls; `inside` is deliberately not atomic: the callback must never run on two
// threads at once, and ThreadSanitizer would report it if it did.
struct Recorder {
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  bool inside = false;
  bool overlapped = false;
  void operator()(std::size_t done, std::size_t total) {
    if (inside) overlapped = true;
    inside = true;
    calls.emplace_back(done, total);
    inside = false;
  }
};

void check_calls(const Recorder& r, std::size_t n) {
  REQUIRE(r.calls.size() >= 2);
  CHECK(r.calls.front() == std::pair<std::size_t, std::size_t>{0, n});
  CHECK(r.calls.back() == std::pair<std::size_t, std::size_t>{n, n});
  for (std::size_t i = 1; i < r.calls.size(); ++i) {
    CHECK(r.calls[i].first > r.calls[i - 1].first);
    CHECK(r.calls[i].second == n);
  }
  CHECK_FALSE(r.overlapped);
}

}  // namespace

TEST_CASE("progress: map reports (0, n), growing counts, then (n, n) once") {
  for (int threads : {1, 2, 4}) {
    for (auto options : {mpp::MapOptions{.chunksize = 1}, mpp::MapOptions{.chunksize = 7},
                         mpp::MapOptions{.schedule = mpp::schedule::static_},
                         mpp::MapOptions{.schedule = mpp::schedule::dynamic}, mpp::MapOptions{}}) {
      CAPTURE(threads);
      mpp::Pool pool(threads);
      Recorder recorder;
      options.progress = std::ref(recorder);
      auto ys = pool.map([](int x) { return x + 1; }, std::views::iota(0, 1000), options);
      CHECK(ys.size() == 1000);
      check_calls(recorder, 1000);
    }
  }
}

TEST_CASE("progress: map_async and starmap report too; an empty map reports only (0, 0)") {
  mpp::Pool pool(2);
  Recorder a;
  auto r =
      pool.map_async([](int x) { return x; }, std::vector<int>(100, 1), {.progress = std::ref(a)});
  r.wait();
  check_calls(a, 100);

  Recorder s;
  std::vector<std::pair<int, int>> pairs(50, {1, 2});
  (void)pool.starmap([](int x, int y) { return x + y; }, pairs, {.progress = std::ref(s)});
  check_calls(s, 50);

  Recorder e;
  (void)pool.map([](int x) { return x; }, std::vector<int>{}, {.progress = std::ref(e)});
  CHECK(e.calls == std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}});
}

TEST_CASE("progress: a callback that throws fails the map with its exception") {
  mpp::Pool pool(2);
  auto failing = [](std::size_t done, std::size_t) {
    if (done > 0) throw std::runtime_error("progress failed");
  };
  CHECK_THROWS_AS((void)pool.map([](int x) { return x; }, std::views::iota(0, 100),
                                 {.chunksize = 10, .progress = failing}),
                  std::runtime_error);
}

TEST_CASE("progress: progress_bar draws a bar ending at 100%") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  mpp::Pool pool(2);
  (void)pool.map([](int x) { return x; }, std::views::iota(0, 500),
                 {.progress = mpp::progress_bar("squares", out)});
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  std::fclose(out);
  CHECK(text.find("squares") != std::string::npos);
  CHECK(text.find("100% |####################| 500/500") != std::string::npos);
  CHECK(text.back() == '\n');
}
