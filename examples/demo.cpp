// mpp-demo: runs each example's workload serially, T(1), and on an mpp::Pool with
// mpp::available_cpus() threads, T(p); checks that both give the same answer and prints the
// speedup S = T(1) / T(p) and the efficiency E = S / p.
//
// Times are medians of a few runs, serial and parallel runs interleaved, so a noisy machine
// disturbs both alike, and the demo says when other programs keep the CPUs busy (their threads
// then share the cores with the pool's, and no speedup can show). The whole demo takes about
// half a minute on two idle cores in Release. Inputs are the examples' defaults or larger, where
// those finish in milliseconds (pi, wordcount, matmul), so that every time is measurable.
//
// While a parallel run computes, a progress bar (mpp::progress_bar) shows it on stderr: live on a
// terminal, one plain line per run otherwise; the table on stdout stays clean either way.
//
// Usage: mpp-demo [--quick]     (--quick: small inputs and one run each, for a smoke test)
// Exits with status 1 if any parallel answer differs from the serial one.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ranges>
#include <string>
#include <thread>
#include <vector>

#include <mpp/mpp.hpp>

#include "workloads/common.hpp"
#include "workloads/mandelbrot.hpp"
#include "workloads/matmul.hpp"
#include "workloads/pi.hpp"
#include "workloads/primes.hpp"
#include "workloads/wordcount.hpp"

namespace {

double median(std::vector<double> values) {
  std::ranges::sort(values);
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

// The share of all CPUs' time that other programs used during the last `window` (Linux's
// /proc/stat), or a negative number where that cannot be read.
double busy_fraction(std::chrono::milliseconds window) {
  const auto sample = [](double& busy, double& total) {
    std::ifstream in("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal)) {
      return false;
    }
    busy = user + nice + system + irq + softirq + steal;
    total = busy + idle + iowait;
    return true;
  };
  double busy0 = 0, total0 = 0, busy1 = 0, total1 = 0;
  if (!sample(busy0, total0)) return -1.0;
  std::this_thread::sleep_for(window);
  if (!sample(busy1, total1) || total1 <= total0) return -1.0;
  return (busy1 - busy0) / (total1 - total0);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  if (!(in >> one >> five >> fifteen)) return "unknown";
  return one + " " + five + " " + fifteen;
}

std::string format(const char* pattern, auto... values) {
  char text[128];
  std::snprintf(text, sizeof text, pattern, values...);
  return text;
}

// The options of a parallel run: a bar on stderr labelled with the example and the run. It is
// made before the clock starts; while the map runs it costs a few atomic adds per chunk and at
// most ten redraws a second, microseconds against runs of tenths of a second. On a terminal it
// blanks its line when done (`leave` false), so the bars do not push the table apart.
mpp::MapOptions with_bar(const char* name, int run, int runs) {
  return {.progress = mpp::progress_bar(format("%s, parallel run %d/%d", name, run + 1, runs),
                                        stderr, std::chrono::seconds(10), /*leave=*/false)};
}

// Times `serial` and `parallel` (given the map options) `runs` times each, interleaved, checks
// every answer against the first serial one, and prints one row of the table. Returns whether all
// answers agreed.
template <class Serial, class Parallel, class Describe>
bool measure(const char* name, const char* problem, int runs, int threads, Serial serial,
             Parallel parallel, Describe describe) {
  std::vector<double> t1;
  std::vector<double> tp;
  auto [expected, first] = workloads::timed(serial);
  t1.push_back(first);
  bool same = true;
  for (int run = 0; run < runs; ++run) {
    if (run > 0) {
      auto [answer, seconds] = workloads::timed(serial);
      same = same && answer == expected;
      t1.push_back(seconds);
    }
    const mpp::MapOptions options = with_bar(name, run, runs);
    auto [answer, seconds] = workloads::timed([&] { return parallel(options); });
    same = same && answer == expected;
    tp.push_back(seconds);
  }
  const double s = median(t1) / median(tp);
  std::printf("%-11s %-29s %-30s %8.3f %8.3f %6.2f %6.2f  %s\n", name, problem,
              describe(expected).c_str(), median(t1), median(tp), s, s / threads,
              same ? "same" : "DIFFERENT");
  std::fflush(stdout);
  return same;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (argc > 2 || (argc == 2 && !quick)) {
    std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
    return 2;
  }
  const int runs = quick ? 1 : 5;

  const double busy = busy_fraction(std::chrono::milliseconds(500));

  mpp::Pool pool;  // Python's Pool(): one thread per CPU this process may use
  const int p = pool.threads();
  // Starts the pool's threads, so the first timed map does not pay for it.
  (void)pool.map([](int x) { return x; }, std::views::iota(0, 1000));

  std::printf(
      "mpp demo: mpp::Pool with p = %d threads (mpp::available_cpus()), median of %d "
      "run%s each\n",
      p, runs, runs == 1 ? "" : "s");
  std::printf("load average at start: %s", load_average().c_str());
  if (busy >= 0.0) std::printf("; CPUs busy with other programs: %.0f%%", 100.0 * busy);
  std::printf("\n");
  if (busy > 0.2) {
    std::printf(
        "note: other programs are using the CPUs, so the pool's threads share them and "
        "the speedups below understate mpp's; rerun on an idle machine\n");
  }
  std::printf("\n");
  std::printf("%-11s %-29s %-30s %8s %8s %6s %6s  %s\n", "example", "problem", "answer", "T(1) s",
              "T(p) s", "S", "E", "check");
  std::printf("%s\n", std::string(115, '-').c_str());
  std::fflush(stdout);

  bool all_same = true;
  const double elapsed = workloads::seconds([&] {
    {  // primes
      namespace w = workloads::primes;
      const std::uint64_t limit = quick ? 100'000 : 10'000'000;
      const std::size_t pieces = 1000;
      all_same &= measure(
          "primes", quick ? "n < 10^5, 1000 subranges" : "n < 10^7, 1000 subranges", runs, p,
          [&] { return w::serial(limit, pieces); },
          [&](const mpp::MapOptions& options) { return w::parallel(pool, limit, pieces, options); },
          [](std::uint64_t count) {
            return format("%llu primes", static_cast<unsigned long long>(count));
          });
    }
    {  // pi
      namespace w = workloads::pi;
      const std::uint64_t samples = quick ? 10'000 : 5'000'000;
      const std::size_t tasks = 10;
      all_same &= measure(
          "pi", quick ? "[10^4] * 10 samples" : "[5*10^6] * 10 samples", runs, p,
          [&] { return w::serial(samples, tasks); },
          [&](const mpp::MapOptions& options) {
            return w::parallel(pool, samples, tasks, options);
          },
          [&](std::uint64_t hits) {
            return format("pi ~ %.6f", w::estimate(hits, samples, tasks));
          });
    }
    {  // mandelbrot
      namespace w = workloads::mandelbrot;
      w::Params params;
      if (quick) params.width = 120, params.height = 70;
      const std::string problem =
          format("%dx%d px, %d iterations", params.width, params.height, params.max_iterations);
      all_same &= measure(
          "mandelbrot", problem.c_str(), runs, p, [&] { return w::serial(params); },
          [&](const mpp::MapOptions& options) { return w::parallel(pool, params, options); },
          [](const w::Image& image) {
            return format("%zu px in the set", w::pixels_in_set(image));
          });
    }
    {  // wordcount
      namespace w = workloads::wordcount;
      const std::size_t words = quick ? 20'000 : 8'000'000;
      const std::size_t pieces = 16;
      const std::string text = w::make_corpus(words);
      const std::string problem = format("%zu words, %zu chunks", words, pieces);
      all_same &= measure(
          "wordcount", problem.c_str(), runs, p, [&] { return w::serial(text); },
          [&](const mpp::MapOptions& options) { return w::parallel(pool, text, pieces, options); },
          [](const w::Counts& counts) {
            const auto top = w::most_common(counts, 1);
            return format("%zu distinct, '%s' x%llu", counts.size(), top.at(0).first.c_str(),
                          static_cast<unsigned long long>(top.at(0).second));
          });
    }
    {  // matmul
      namespace w = workloads::matmul;
      const std::size_t n = quick ? 64 : 1024;
      const std::size_t block = quick ? 16 : 128;
      const w::Matrix a = w::make_matrix(n, 1);
      const w::Matrix b = w::make_matrix(n, 2);
      const std::string problem = format("%zux%zu, blocks of %zu", n, n, block);
      all_same &= measure(
          "matmul", problem.c_str(), runs, p, [&] { return w::serial(a, b, block); },
          [&](const mpp::MapOptions& options) { return w::parallel(pool, a, b, block, options); },
          [](const w::Matrix& c) { return format("sum of C = %.0f", w::checksum(c)); });
    }
  });

  std::printf("%s\n", std::string(115, '-').c_str());
  std::printf("S = T(1) / T(p), E = S / p. Demo took %.1f s; load average at end: %s\n", elapsed,
              load_average().c_str());
  if (!all_same) {
    std::printf("FAILED: a parallel answer differs from the serial one\n");
    return 1;
  }
  std::printf("Every parallel answer equals the serial one.\n");
  return 0;
}
