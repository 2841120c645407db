#pragma once
/// @file
/// Progress of long maps: `MapOptions::progress` takes any `void(std::size_t done, std::size_t
/// total)` callable, and `mpp::progress_bar()` makes one that draws a bar like Python's tqdm.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace mpp {

namespace detail::progress {

using Clock = std::chrono::steady_clock;

// "mm:ss", or "h:mm:ss" from an hour on.
inline std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof(buffer), "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%02ld:%02ld", s / 60, s % 60);
  }
  return buffer;
}

struct Bar {
  std::string label;
  std::FILE* out;
  Clock::duration interval;
  bool terminal;
  Clock::time_point start{};
  Clock::time_point last_draw{};

  void operator()(std::size_t done, std::size_t total) {
    const auto now = Clock::now();
    if (done == 0) start = now;  // a map reports (0, total) first
    const bool final = done >= total;
    if (!final && done != 0 && now - last_draw < interval) return;
    last_draw = now;

    const double elapsed = std::chrono::duration<double>(now - start).count();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const double fraction =
        total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
    constexpr int width = 20;
    const int filled = std::clamp(static_cast<int>(fraction * width), 0, width);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, ' ');
    const std::string remaining =
        rate > 0 ? clock_text(static_cast<double>(total - std::min(done, total)) / rate) : "?";
    std::fprintf(out, "%s%s%s%3d%% |%s| %zu/%zu [%s<%s, %.1f items/s]%s", terminal ? "\r" : "",
                 label.c_str(), label.empty() ? "" : " ", static_cast<int>(fraction * 100),
                 bar.c_str(), done, total, clock_text(elapsed).c_str(), remaining.c_str(), rate,
                 terminal && !final ? "" : "\n");
    std::fflush(out);
  }
};

}  // namespace detail::progress

/// A callable for `MapOptions::progress` that draws a progress bar on `out` (default stderr),
/// like Python's `tqdm(pool.imap(...), total=n)`:
///
/// ```text
/// squares  45% |#########           | 450/1000 [00:03<00:04, 150.0 items/s]
/// ```
///
/// On a terminal the bar is redrawn in place at most ten times a second; otherwise (a log file,
/// a Slurm output file) a line is written at most every `log_interval`, and at the end.
///
/// ```cpp
/// auto ys = pool.map(simulate, xs, {.progress = mpp::progress_bar("simulate")});
/// ```
///
/// @param label Printed before the bar.
/// @param out Where the bar goes; it must stay open while maps use the bar.
/// @param log_interval Time between lines when `out` is not a terminal.
/// @return A copyable callable; copies share one bar, which several maps may use in turn.
///
/// The callable must not be called concurrently; a map never does.
inline std::function<void(std::size_t done, std::size_t total)> progress_bar(
    std::string label = {}, std::FILE* out = stderr,
    std::chrono::milliseconds log_interval = std::chrono::seconds(10)) {
  using detail::progress::Clock;
  const bool terminal = isatty(fileno(out)) == 1;
  auto bar = std::make_shared<detail::progress::Bar>(detail::progress::Bar{
      std::move(label), out,
      terminal ? Clock::duration(std::chrono::milliseconds(100)) : Clock::duration(log_interval),
      terminal});
  return [bar](std::size_t done, std::size_t total) { (*bar)(done, total); };
}

}  // namespace mpp
