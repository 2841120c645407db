// A user's program built with `pkg-config --cflags --libs mpp` and no CMake.
#include <mpp/mpp.hpp>

#include <cstdio>
#include <numeric>
#include <ranges>
#include <vector>

int main() {
  mpp::Pool pool(2);
  const std::vector<int> squares = pool.map([](int x) { return x * x; }, std::views::iota(0, 100));
  const int gcd = pool.apply([](int a, int b) { return std::gcd(a, b); }, 12, 18);
  const bool ok = std::accumulate(squares.begin(), squares.end(), 0) == 328350 && gcd == 6;
  std::printf("consumer-pkgconfig: %s (mpp %s)\n", ok ? "ok" : "WRONG", mpp::version);
  return ok ? 0 : 1;
}
