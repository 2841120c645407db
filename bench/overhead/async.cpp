// std::async(std::launch::async): one contiguous block per thread.
#include <algorithm>
#include <future>

#include "workload.hpp"

namespace {

void async_blocks(benchmark::State& state, int threads) {
  const auto& in = overhead::input();
  const std::size_t per = (in.size() + threads - 1) / static_cast<std::size_t>(threads);
  std::vector<int> out;
  std::vector<std::future<void>> futures;
  for (auto _ : state) {
    std::vector<int> result(in.size());
    futures.clear();
    for (std::size_t begin = 0; begin < in.size(); begin += per) {
      const std::size_t end = std::min(in.size(), begin + per);
      futures.push_back(std::async(std::launch::async, [&, begin, end] {
        for (std::size_t i = begin; i < end; ++i) result[i] = overhead::f(in[i]);
      }));
    }
    for (auto& future : futures) future.get();
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  overhead::check(state, out);
}

const auto* registered = bench::contender("overhead/std_async", async_blocks, overhead::baseline,
                                          benchmark::kMicrosecond);

}  // namespace
