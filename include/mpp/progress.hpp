#pragma once
/// @file
/// Progress of long maps: `MapOptions::progress` takes any `void(std::size_t done, std::size_t
/// total)` callable, and `mpp::progress_bar()` makes one that draws a bar like Python's tqdm.

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>

namespace mpp {

/// The `total` a progress callback receives while the number of items is not known: `imap` and
/// `imap_unordered` over an input that is not a sized range (a generator, `std::views::iota(0)`,
/// a filtered view). The end is still reported once as (n, n), when the input ran out.
///
/// ```cpp
/// auto report = [](std::size_t done, std::size_t total) {
///   if (total == mpp::unknown_total) std::printf("%zu done\n", done);
///   else std::printf("%zu/%zu done\n", done, total);
/// };
/// ```
inline constexpr std::size_t unknown_total = std::numeric_limits<std::size_t>::max();

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
  bool leave;
  std::size_t columns = 0;  // the terminal's width, 0 where unknown
  Clock::time_point start{};
  Clock::time_point last_draw{};
  bool counting = false;  // the total is unknown: show the count, not a percentage
  std::size_t drawn = 0;  // length of the line on screen, to blank what a shorter one leaves

  void operator()(std::size_t done, std::size_t total) {
    const auto now = Clock::now();
    // A map or stream reports (0, total) first; (0, 0) alone is the end of an empty one.
    if (done == 0 && !(counting && total == 0)) begin(now, total);
    const bool final = done >= total;
    // A terminal shows the bar at once; a log gets its first line after `interval`, so a short
    // map writes one line, not two.
    const bool first = done == 0 && terminal;
    if (!final && !first && now - last_draw < interval) return;
    last_draw = now;
    draw(fitted(done, total, std::chrono::duration<double>(now - start).count()), final);
  }

  // A line wider than the terminal wraps, and "\r" then redraws only its last row: the bar part
  // shrinks first, then the line is cut, so that it always fits.
  std::string fitted(std::size_t done, std::size_t total, double elapsed) const {
    std::string text = line(done, total, elapsed, full_width);
    if (columns == 0 || text.size() < columns) return text;
    const std::size_t excess = text.size() - columns + 1;
    text = line(done, total, elapsed, full_width - std::min(excess, full_width));
    if (text.size() >= columns) text.resize(columns - 1);
    return text;
  }

  void begin(Clock::time_point now, std::size_t total) {
    start = now;
    last_draw = now;
    counting = total == unknown_total;
  }

  static constexpr std::size_t full_width = 20;

  std::string line(std::size_t done, std::size_t total, double elapsed, std::size_t width) const {
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const std::string prefix = label.empty() ? label : label + " ";
    char text[256];
    if (counting) {  // tqdm without a total: "1234 items [00:03, 411.3 items/s]"
      std::snprintf(text, sizeof(text), "%s%zu items [%s, %.1f items/s]", prefix.c_str(), done,
                    clock_text(elapsed).c_str(), rate);
      return text;
    }
    const double fraction =
        total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
    std::string bar(
        std::min(static_cast<std::size_t>(fraction * static_cast<double>(width)), width), '#');
    bar.resize(width, ' ');
    const std::string remaining =
        rate > 0 ? clock_text(static_cast<double>(total - std::min(done, total)) / rate) : "?";
    std::snprintf(text, sizeof(text), "%s%3d%% |%s| %zu/%zu [%s<%s, %.1f items/s]", prefix.c_str(),
                  static_cast<int>(fraction * 100), bar.c_str(), done, total,
                  clock_text(elapsed).c_str(), remaining.c_str(), rate);
    return text;
  }

  // A terminal's line is redrawn in place and ended (or, without `leave`, blanked) at the end;
  // anything else gets whole lines.
  void draw(std::string text, bool final) {
    if (!terminal) {
      std::fprintf(out, "%s\n", text.c_str());
    } else if (final && !leave) {
      std::fprintf(out, "\r%s\r", std::string(std::max(drawn, text.size()), ' ').c_str());
      drawn = 0;
    } else {
      const std::size_t length = text.size();
      text.resize(std::max(length, drawn), ' ');
      std::fprintf(out, "\r%s%s", text.c_str(), final ? "\n" : "");
      drawn = final ? 0 : length;
    }
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
/// When the total is unknown (`mpp::unknown_total`: `imap` over an unsized input) it shows the
/// count, elapsed time and rate instead, as tqdm does without a total:
///
/// ```text
/// events 1234 items [00:03, 411.3 items/s]
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
/// @param leave Whether a terminal keeps the finished bar on its line (tqdm's `leave`); false
///   blanks the line at the end, so that what is printed next takes its place.
/// @return A copyable callable; copies share one bar, which several maps may use in turn.
///
/// On a terminal whose width is known, the bar narrows so that the line fits. The callable must
/// not be called concurrently; maps and streams never do.
inline std::function<void(std::size_t done, std::size_t total)> progress_bar(
    std::string label = {}, std::FILE* out = stderr,
    std::chrono::milliseconds log_interval = std::chrono::seconds(10), bool leave = true) {
  using detail::progress::Clock;
  const bool terminal = isatty(fileno(out)) == 1;
  winsize size{};
  const bool sized = terminal && ioctl(fileno(out), TIOCGWINSZ, &size) == 0;
  auto bar = std::make_shared<detail::progress::Bar>(detail::progress::Bar{
      std::move(label), out,
      terminal ? Clock::duration(std::chrono::milliseconds(100)) : Clock::duration(log_interval),
      terminal, leave, sized ? size.ws_col : std::size_t{0}});
  return [bar](std::size_t done, std::size_t total) { (*bar)(done, total); };
}

}  // namespace mpp
