// Boost.Asio thread_pool: the items split into 4 x threads blocks (Python's default chunking),
// each posted with use_future; the caller waits for all futures.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <future>

#include "workload.hpp"

namespace {

void asio_blocks(benchmark::State& state, int threads) {
  const auto& in = overhead::input();
  boost::asio::thread_pool pool(static_cast<std::size_t>(threads));
  const std::size_t blocks = 4 * static_cast<std::size_t>(threads);
  const std::size_t per = (in.size() + blocks - 1) / blocks;
  std::vector<int> out;
  std::vector<std::future<void>> futures;
  for (auto _ : state) {
    std::vector<int> result(in.size());
    futures.clear();
    for (std::size_t begin = 0; begin < in.size(); begin += per) {
      const std::size_t end = std::min(in.size(), begin + per);
      futures.push_back(boost::asio::post(pool, boost::asio::use_future([&, begin, end] {
                                            for (std::size_t i = begin; i < end; ++i) {
                                              result[i] = overhead::f(in[i]);
                                            }
                                          })));
    }
    for (auto& future : futures) future.get();
    benchmark::DoNotOptimize(result.data());
    out = std::move(result);
  }
  pool.join();
  overhead::check(state, out);
}

const auto* registered = bench::contender("overhead/asio_post_future", asio_blocks,
                                          overhead::baseline, benchmark::kMicrosecond);

}  // namespace
