#include <doctest/doctest.h>

#include <list>
#include <mpp/mpp.hpp>
#include <ranges>

TEST_CASE("smoke") {
  mpp::Pool pool(2);
  auto v = pool.map([](int x) { return x * x; }, std::views::iota(0, 1000));
  CHECK(v.size() == 1000);
  CHECK(v[999] == 999 * 999);
  std::list<int> l{1, 2, 3};
  CHECK(pool.map([](int x) { return x + 1; }, l, {.chunksize = 2}) == std::vector<int>{2, 3, 4});
  auto r = pool.apply_async([](int a, int b) { return a + b; }, 2, 3);
  CHECK(r.get() == 5);
  int n = 0;
  for (int x : pool.imap([](int x) { return 2 * x; }, std::views::iota(0), {.chunksize = 3})) {
    CHECK(x == 2 * n);
    if (++n == 100) break;
  }
  std::vector<int> got;
  for (int x : pool.imap_unordered([](int x) { return x; }, std::views::iota(0, 50)))
    got.push_back(x);
  std::ranges::sort(got);
  CHECK(got.size() == 50);
}
