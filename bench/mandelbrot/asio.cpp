// Boost.Asio thread_pool: one post + use_future per row.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

#include "workload.hpp"

namespace {

void rows(benchmark::State& state, int threads) {
  const int n = mandelbrot::size();
  const int iterations = mandelbrot::max_iterations();
  std::vector<std::uint8_t> image(static_cast<std::size_t>(n) * n);
  boost::asio::thread_pool pool(static_cast<std::size_t>(threads));
  std::vector<std::future<std::int64_t>> futures;
  std::int64_t total = 0;
  for (auto _ : state) {
    futures.clear();
    for (int y = 0; y < n; ++y) {
      futures.push_back(boost::asio::post(pool, boost::asio::use_future([&, y] {
                                            return mandelbrot::row(image, n, iterations, y);
                                          })));
    }
    total = 0;
    for (auto& f : futures) total += f.get();
  }
  pool.join();
  mandelbrot::check(state, total);
}

const auto* registered =
    bench::contender("mandelbrot/asio_post_future", rows, mandelbrot::baseline);

}  // namespace
