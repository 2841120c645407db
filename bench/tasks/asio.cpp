// Boost.Asio thread_pool: post(pool, use_future(fn)) per task, then future::get for each.
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

#include "workload.hpp"

namespace {

void post_future(benchmark::State& state, int threads) {
  const std::size_t n = tasks::count();
  boost::asio::thread_pool pool(static_cast<std::size_t>(threads));
  std::vector<std::future<std::uint64_t>> futures;
  futures.reserve(n);
  std::uint64_t sum = 0;
  for (auto _ : state) {
    futures.clear();
    for (std::size_t i = 0; i < n; ++i) {
      futures.push_back(
          boost::asio::post(pool, boost::asio::use_future([i] { return tasks::work(i); })));
    }
    sum = 0;
    for (auto& f : futures) sum += f.get();
  }
  pool.join();
  tasks::check(state, sum, n);
}

const auto* registered = bench::contender("tasks/asio_post_future", post_future, tasks::baseline);

const bool latency = [] {
  tasks::register_latency("latency/asio_post_future", [](benchmark::State& state) {
    boost::asio::thread_pool pool(static_cast<std::size_t>(bench::max_threads()));
    tasks::latency(state, [&](std::size_t i) {
      return boost::asio::post(pool, boost::asio::use_future([i] { return tasks::work(i); })).get();
    });
    pool.join();
  });
  return true;
}();

}  // namespace
