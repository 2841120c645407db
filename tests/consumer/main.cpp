// Written only against the documented contract: Python's Pool, in C++.
#include <mpp/mpp.hpp>

#include <chrono>
#include <cstdio>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <vector>

int main() {
  using namespace std::chrono_literals;
  mpp::Pool pool(2);
  const auto squares =
      pool.map([](int x) { return x * x; }, std::views::iota(0, 100), {.chunksize = 8});
  auto sum = pool.apply_async([](int a, int b) { return a + b; }, 40, 2);
  int streamed = 0;
  for (int x : pool.imap([](int x) { return x + 1; }, std::views::iota(0, 10))) streamed += x;
  bool caught = false;
  try {
    (void)pool.apply([]() -> int { throw std::runtime_error("boom"); });
  } catch (const std::runtime_error&) {
    caught = true;
  }
  const bool ok = std::accumulate(squares.begin(), squares.end(), 0) == 328350 &&
                  sum.get(5s) == 42 && streamed == 55 && caught;
  pool.close();
  pool.join();
  std::printf("consumer: %s (mpp %s)\n", ok ? "ok" : "WRONG", mpp::version);
  return ok ? 0 : 1;
}
