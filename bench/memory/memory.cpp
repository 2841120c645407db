// mpp-bench-memory: the memory bars, in a process of its own so that peak RSS means something.
//  - heap allocations per item of `map` over 10^6 trivial items (MPP_BENCH_MAP_N) at default
//    chunking, counted by wrapping glibc's malloc family (operator new goes through malloc), next
//    to a hand-written tbb::parallel_for producing the same vector;
//  - peak RSS (VmHWM) of `imap` over a generator of 10^8 items (MPP_BENCH_IMAP_N), chunksize
//    1000, measured first, before anything else has grown the heap.
// Prints one JSON object.

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <mpp/pool.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "../common/common.hpp"
#include "../streaming/workload.hpp"

namespace {
std::atomic<std::uint64_t> allocations{0};
}  // namespace

// glibc's allocator under its internal names, wrapped so that every allocation is counted.
extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);

void* malloc(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(pointer, size);
}
void* memalign(std::size_t alignment, std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  *out = __libc_memalign(alignment, size);
  return *out != nullptr ? 0 : ENOMEM;
}
}

namespace {

// A field of /proc/self/status in MiB (VmRSS, VmHWM).
double status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == field + ":") {
      double kib = 0;
      in >> kib;
      return kib / 1024.0;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return -1;
}

bool tbbmalloc_loaded() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("libtbbmalloc") != std::string::npos) return true;
  }
  return false;
}

template <class Fn>
double allocations_of(Fn fn) {
  // Warm up once (first use creates TBB's threads and arenas), then count a median-free mean of
  // a few calls: the count does not vary with timing.
  fn();
  constexpr int calls = 5;
  const auto before = allocations.load();
  for (int i = 0; i < calls; ++i) fn();
  return static_cast<double>(allocations.load() - before) / calls;
}

}  // namespace

int main() {
  const int threads = bench::max_threads();
  mpp::Pool pool(threads);

  // Peak RSS of imap over an unbounded-style generator.
  const std::int64_t imap_items =
      static_cast<std::int64_t>(bench::size("MPP_BENCH_IMAP_N", 100'000'000));
  const double rss_before = status_mib("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  const auto imap_allocs_before = allocations.load();
  std::int64_t sum = 0;
  for (std::int64_t r :
       pool.imap(streaming::f, streaming::Generator(imap_items), {.chunksize = 1000})) {
    sum += r;
  }
  const double imap_allocs = static_cast<double>(allocations.load() - imap_allocs_before);
  const std::chrono::duration<double> imap_seconds = std::chrono::steady_clock::now() - start;
  const double peak_after_imap = status_mib("VmHWM");
  const bool imap_ok = sum == streaming::expected(imap_items);

  // Allocations per item of map at default chunking, and of the hand-written TBB loop.
  std::vector<int> in(bench::size("MPP_BENCH_MAP_N", 1'000'000));
  std::iota(in.begin(), in.end(), 0);
  const auto f = [](int x) { return 2 * x + 1; };
  bool map_ok = true;
  const double map_allocs = allocations_of([&] {
    auto out = pool.map(f, in);
    map_ok = map_ok && out.size() == in.size() && out.back() == f(in.back());
  });
  tbb::task_arena arena(threads);
  const double tbb_allocs = allocations_of([&] {
    std::vector<int> out(in.size());
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size()),
                        [&](const tbb::blocked_range<std::size_t>& r) {
                          for (std::size_t i = r.begin(); i != r.end(); ++i) out[i] = f(in[i]);
                        });
    });
  });

  const auto n = static_cast<double>(in.size());
  std::printf(
      "{\n"
      "  \"threads\": %d,\n"
      "  \"map_items\": %zu,\n"
      "  \"map_allocations_per_call\": %.1f,\n"
      "  \"map_allocations_per_item\": %.3g,\n"
      "  \"tbb_parallel_for_allocations_per_call\": %.1f,\n"
      "  \"tbb_parallel_for_allocations_per_item\": %.3g,\n"
      "  \"map_correct\": %s,\n"
      "  \"imap_items\": %lld,\n"
      "  \"imap_chunksize\": 1000,\n"
      "  \"imap_allocations_per_item\": %.3g,\n"
      "  \"imap_seconds\": %.3f,\n"
      "  \"rss_before_imap_mib\": %.1f,\n"
      "  \"imap_peak_rss_mib\": %.1f,\n"
      "  \"imap_correct\": %s,\n"
      "  \"tbbmalloc_loaded\": %s\n"
      "}\n",
      threads, in.size(), map_allocs, map_allocs / n, tbb_allocs, tbb_allocs / n,
      map_ok ? "true" : "false", static_cast<long long>(imap_items),
      imap_allocs / static_cast<double>(imap_items), imap_seconds.count(), rss_before,
      peak_after_imap, imap_ok ? "true" : "false", tbbmalloc_loaded() ? "true" : "false");
  return map_ok && imap_ok ? 0 : 1;
}
