// MapOptions::progress and mpp::progress_bar.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mpp/mpp.hpp>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
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

// Checks a stream's calls on an input of `n` items whose total was `total` while it ran: (0,
// total) first, growing counts, then (n, n) once, never overlapping. A known total is reached
// only by the end; an unknown one may report (n, unknown_total) just before it, since the stream
// learns that the input ran out only after handing out the last chunk.
void check_stream_calls(const Recorder& r, std::size_t n, std::size_t total) {
  REQUIRE(r.calls.size() >= 2);
  CHECK(r.calls.front() == std::pair<std::size_t, std::size_t>{0, total});
  CHECK(r.calls.back() == std::pair<std::size_t, std::size_t>{n, n});
  const std::size_t limit = total == mpp::unknown_total ? n : n - 1;
  for (std::size_t i = 1; i + 1 < r.calls.size(); ++i) {
    CHECK(r.calls[i].first > r.calls[i - 1].first);
    CHECK(r.calls[i].first <= limit);
    CHECK(r.calls[i].second == total);
  }
  CHECK_FALSE(r.overlapped);
}

// Everything `out` holds, from its start.
std::string contents(std::FILE* out) {
  std::rewind(out);
  std::string text;
  for (int c; (c = std::fgetc(out)) != EOF;) text += static_cast<char>(c);
  return text;
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

TEST_CASE("progress: a map of slow items reports while it runs") {
  // 60 items of 5 ms on two threads: each thread reports after about 50 ms of its work.
  mpp::Pool pool(2);
  Recorder recorder;
  auto ys = pool.map(
      [](int x) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return x;
      },
      std::views::iota(0, 60), {.chunksize = 1, .progress = std::ref(recorder)});
  CHECK(ys.size() == 60);
  check_calls(recorder, 60);
  CHECK(recorder.calls.size() >= 3);  // a count between the start and the end
}

TEST_CASE("progress: a map of many short chunks is not reported chunk by chunk") {
  // Each thread reports at most every 50 ms: ten thousand chunks of a fast function make a
  // handful of calls, so the progress bar costs the map next to nothing.
  mpp::Pool pool(2);
  Recorder recorder;
  auto ys = pool.map([](int x) { return x + 1; }, std::views::iota(0, 10'000),
                     {.chunksize = 1, .progress = std::ref(recorder)});
  CHECK(ys.size() == 10'000);
  check_calls(recorder, 10'000);
  CHECK(recorder.calls.size() < 1'000);
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
  const std::string text = contents(out);
  std::fclose(out);
  CHECK(text.find("squares") != std::string::npos);
  CHECK(text.find("100% |####################| 500/500") != std::string::npos);
  CHECK(text.back() == '\n');
}

TEST_CASE("progress: off a terminal, a short map writes one plain line, no redraws") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  mpp::Pool pool(2);
  (void)pool.map(
      [](int x) { return x; }, std::views::iota(0, 500),
      {.chunksize = 1, .progress = mpp::progress_bar("squares", out, std::chrono::hours(1))});
  const std::string text = contents(out);
  std::fclose(out);
  CHECK(std::ranges::count(text, '\n') == 1);
  CHECK(std::ranges::count(text, '\r') == 0);
  CHECK(text.starts_with("squares 100% |"));
}

TEST_CASE("progress: imap over a sized input counts the results handed to the loop") {
  for (int threads : {1, 2, 4}) {
    for (std::size_t chunksize : {1, 7, 1000}) {
      CAPTURE(threads);
      CAPTURE(chunksize);
      mpp::Pool pool(threads);
      std::size_t seen = 0;  // results the loop has taken so far
      bool ahead_of_loop = false;
      Recorder recorder;
      auto record = [&](std::size_t done, std::size_t total) {
        // A report counts the chunk the loop is about to read, never more.
        if (done < total && (done < seen || done > seen + chunksize)) ahead_of_loop = true;
        recorder(done, total);
      };
      std::vector<int> xs(500, 1);
      for (int y : pool.imap([](int x) { return x + 1; }, xs,
                             {.chunksize = chunksize, .progress = record})) {
        CHECK(y == 2);
        ++seen;
      }
      CHECK(seen == 500);
      CHECK_FALSE(ahead_of_loop);
      check_stream_calls(recorder, 500, 500);
    }
  }
}

TEST_CASE("progress: imap_unordered reports like imap") {
  mpp::Pool pool(4);
  Recorder recorder;
  long sum = 0;
  for (int y : pool.imap_unordered([](int x) { return x; }, std::views::iota(0, 1000),
                                   {.chunksize = 10, .progress = std::ref(recorder)})) {
    sum += y;
  }
  CHECK(sum == 999L * 1000 / 2);
  check_stream_calls(recorder, 1000, 1000);
}

TEST_CASE("progress: an unsized input reports mpp::unknown_total until it runs out") {
  mpp::Pool pool(2);
  SUBCASE("a single-pass input, like a Python generator") {
    std::istringstream text;
    std::string numbers;
    for (int i = 0; i < 300; ++i) numbers += std::to_string(i) + " ";
    text.str(numbers);
    Recorder recorder;
    std::size_t seen = 0;
    for (int y : pool.imap([](int x) { return x; }, std::views::istream<int>(text),
                           {.chunksize = 4, .progress = std::ref(recorder)})) {
      CHECK(y == static_cast<int>(seen));
      ++seen;
    }
    check_stream_calls(recorder, 300, mpp::unknown_total);
  }
  SUBCASE("a filtered view, for imap_unordered") {
    Recorder recorder;
    auto odd = std::views::iota(0, 200) | std::views::filter([](int x) { return x % 2 == 1; });
    std::size_t seen = 0;
    for (int y : pool.imap_unordered([](int x) { return x; }, odd,
                                     {.chunksize = 3, .progress = std::ref(recorder)})) {
      CHECK(y % 2 == 1);
      ++seen;
    }
    CHECK(seen == 100);
    check_stream_calls(recorder, 100, mpp::unknown_total);
  }
}

TEST_CASE("progress: an unbounded imap left early reports growing counts and no end") {
  mpp::Pool pool(2);
  Recorder recorder;
  {
    auto stream = pool.imap([](int x) { return x; }, std::views::iota(0),
                            {.chunksize = 5, .progress = std::ref(recorder)});
    for (int y : stream) {
      if (y == 99) break;
    }
  }
  REQUIRE(recorder.calls.size() >= 2);
  CHECK(recorder.calls.front() == std::pair<std::size_t, std::size_t>{0, mpp::unknown_total});
  CHECK(recorder.calls.back().first == 100);  // the chunk holding 99 was the last one handed out
  for (std::size_t i = 1; i < recorder.calls.size(); ++i) {
    CHECK(recorder.calls[i].first > recorder.calls[i - 1].first);
    CHECK(recorder.calls[i].second == mpp::unknown_total);
  }
  CHECK_FALSE(recorder.overlapped);
}

TEST_CASE("progress: an empty stream reports only its end") {
  mpp::Pool pool(2);
  Recorder sized;
  for (int y :
       pool.imap([](int x) { return x; }, std::vector<int>{}, {.progress = std::ref(sized)})) {
    FAIL("an empty input has no results, got " << y);
  }
  CHECK(sized.calls == std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}});

  Recorder unsized;
  std::istringstream nothing;
  for (int y : pool.imap([](int x) { return x; }, std::views::istream<int>(nothing),
                         {.progress = std::ref(unsized)})) {
    FAIL("an empty input has no results, got " << y);
  }
  CHECK(unsized.calls ==
        std::vector<std::pair<std::size_t, std::size_t>>{{0, mpp::unknown_total}, {0, 0}});
}

TEST_CASE("progress: progress_bar shows count, elapsed and rate when the total is unknown") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  mpp::Pool pool(2);
  std::size_t seen = 0;
  for (int y : pool.imap([](int x) { return x; }, std::views::iota(0) | std::views::take(250),
                         {.chunksize = 10, .progress = mpp::progress_bar("events", out)})) {
    seen += y >= 0 ? 1 : 0;
  }
  CHECK(seen == 250);
  const std::string text = contents(out);
  std::fclose(out);
  CHECK(text.find("events 250 items [") != std::string::npos);
  CHECK(text.find("items/s]\n") != std::string::npos);
  CHECK(text.find('%') == std::string::npos);  // no percentage, no ETA: the total is unknown
  CHECK(text.find('<') == std::string::npos);
}

// The bar as a terminal gets it: redrawn after "\r", no "\n" until the end.
TEST_CASE("progress: on a terminal the bar fits its width, and leave = false blanks it") {
  using mpp::detail::progress::Bar;
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  SUBCASE("a narrow terminal gets a narrower bar, never a wrapped line") {
    Bar bar{
        "a long label for a narrow terminal", out, std::chrono::milliseconds(100), true, true, 60};
    bar(0, 1000);
    bar(1000, 1000);
    const std::string text = contents(out);
    CHECK(std::ranges::count(text, '\n') == 1);  // only the last frame ends the line
    CHECK(text.back() == '\n');
    std::istringstream frames(text.substr(0, text.size() - 1));
    std::size_t count = 0;
    for (std::string frame; std::getline(frames, frame, '\r');) {
      if (frame.empty()) continue;
      ++count;
      CHECK(frame.size() < 60);
    }
    CHECK(count == 2);
    CHECK(text.find("100% |") != std::string::npos);
  }
  SUBCASE("leave = false: the finished bar is blanked and the line left empty") {
    Bar bar{"squares", out, std::chrono::milliseconds(100), true, false, 0};
    bar(0, 10);
    bar(10, 10);
    const std::string text = contents(out);
    CHECK(text.starts_with("\rsquares   0% |"));
    CHECK(text.find('\n') == std::string::npos);
    const std::size_t blank = text.rfind('\r', text.size() - 2);
    CHECK(text.substr(blank + 1, text.size() - blank - 2).find_first_not_of(' ') ==
          std::string::npos);
    CHECK(text.back() == '\r');
  }
  std::fclose(out);
}
