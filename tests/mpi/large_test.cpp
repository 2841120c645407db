// Messages past 2^31 and 2^32 bytes, which MPI's int counts cannot describe in one call: mpp
// sends them in pieces. Each case crosses one boundary by a few bytes, the smallest sizes that
// show it. They need several GiB of memory, so they run as their own test (label `large`),
// which large_test.sh skips, saying so, where memory is short.
#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <mpp/mpi.hpp>
#include <numeric>
#include <ranges>
#include <vector>

namespace {

constexpr std::size_t gib = std::size_t{1} << 30;
constexpr std::size_t past_2gib = 2 * gib + 8;
constexpr std::size_t past_4gib = 4 * gib + 8;

// Bytes that depend on their position: each 8-byte word holds a function of its index, so a
// piece out of place or missing shows. Filled and checked a word at a time, at memory speed.
std::uint64_t word(std::size_t k) {
  return k * 0x9E3779B97F4A7C15ull + 1;
}

std::vector<char> bytes_of(std::size_t n) {
  std::vector<char> v(n);
  std::size_t k = 0;
  for (; 8 * k + 8 <= n; ++k) {
    const std::uint64_t w = word(k);
    std::memcpy(v.data() + 8 * k, &w, 8);
  }
  for (std::size_t i = 8 * k; i < n; ++i) v[i] = static_cast<char>(i);
  return v;
}

// Whether `v` holds exactly bytes_of(v.size()).
bool intact(const std::vector<char>& v) {
  std::size_t k = 0;
  bool ok = true;
  for (; 8 * k + 8 <= v.size(); ++k) {
    std::uint64_t w = 0;
    std::memcpy(&w, v.data() + 8 * k, 8);
    ok &= w == word(k);
  }
  for (std::size_t i = 8 * k; i < v.size(); ++i) ok &= v[i] == static_cast<char>(i);
  return ok;
}

// What a worker saw of its argument: its size and whether it was intact.
std::array<std::uint64_t, 2> inspect(std::vector<char> v) {
  return {v.size(), intact(v) ? 1u : 0u};
}

std::vector<char> echo(std::vector<char> v) {
  return v;
}

// A 4 KiB result per item, n items make n * 4 KiB: its bytes and first and last words depend on
// the item.
using Page = std::array<char, 4096>;
Page page(std::size_t item) {
  Page p;
  p.fill(static_cast<char>(item * 31 % 251));
  const std::uint64_t w = word(item);
  std::memcpy(p.data(), &w, 8);
  std::memcpy(p.data() + p.size() - 8, &w, 8);
  return p;
}

std::size_t wrong_pages(const std::vector<Page>& pages) {
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < pages.size(); ++i) wrong += pages[i] != page(i);
  return wrong;
}

// An input item: its index and its page (trivially copyable, so it crosses as bytes).
struct Numbered {
  std::size_t index;
  Page page;
};

void register_all(mpp::mpi::Executor& ex) {
  ex.register_function("inspect", inspect);
  ex.register_function("echo", echo);
}

}  // namespace

TEST_CASE("an argument past 4 GiB reaches the worker whole") {
  mpp::mpi::Executor ex;
  register_all(ex);
  if (ex.serve()) return;
  const auto seen = ex.submit(inspect, bytes_of(past_4gib)).get();
  CHECK(seen[0] == past_4gib);
  CHECK(seen[1] == 1);
}

TEST_CASE("a result past 2 GiB comes back whole") {
  mpp::mpi::Executor ex;
  register_all(ex);
  if (ex.serve()) return;
  const auto back = ex.submit(echo, bytes_of(past_2gib)).get();
  CHECK(back.size() == past_2gib);
  CHECK(intact(back));
}
TEST_CASE("mpi::Pool gathers results past 2 GiB and past 4 GiB") {
  mpp::mpi::Pool cluster;
  for (const std::size_t bytes : {past_2gib, past_4gib}) {
    const std::size_t n = (bytes + sizeof(Page) - 1) / sizeof(Page);
    for (auto s : {mpp::schedule::static_, mpp::schedule::dynamic}) {
      CAPTURE(bytes);
      CAPTURE(static_cast<int>(s));
      const auto pages = cluster.map(page, std::views::iota(std::size_t{0}, n), {.schedule = s});
      if (cluster.is_root()) {
        CHECK(pages.size() == n);
        CHECK(wrong_pages(pages) == 0);
      }
    }
  }
}

TEST_CASE("mpi::Pool sends inputs past 2 GiB out from the root") {
  mpp::mpi::Pool cluster;
  const std::size_t n = past_2gib / sizeof(Page) + 1;
  const auto check_page = [](const Numbered& item) {
    return item.page == page(item.index) ? 0 : 1;
  };
  std::vector<Numbered> items;
  if (cluster.is_root()) {
    items.resize(n);
    for (std::size_t i = 0; i < n; ++i) items[i] = {i, page(i)};
  }
  for (auto s : {mpp::schedule::static_, mpp::schedule::dynamic}) {
    CAPTURE(static_cast<int>(s));
    const auto wrong = cluster.map(check_page, mpp::mpi::from_root(items), {.schedule = s});
    if (cluster.is_root()) {
      CHECK(wrong.size() == n);
      CHECK(std::accumulate(wrong.begin(), wrong.end(), 0) == 0);
    }
  }
}

TEST_CASE("a streamed map carries chunks past 2 GiB to the root") {
  mpp::mpi::Pool cluster;
  const std::size_t per_chunk = past_2gib / sizeof(Page) + 1;
  std::size_t reported = 0;
  const auto pages =
      cluster.map(page, std::views::iota(std::size_t{0}, 2 * per_chunk),
                  {.chunksize = per_chunk,
                   .progress = [&](std::size_t done, std::size_t) { reported = done; }});
  if (cluster.is_root()) {
    CHECK(pages.size() == 2 * per_chunk);
    CHECK(wrong_pages(pages) == 0);
    CHECK(reported == 2 * per_chunk);
  }
}
