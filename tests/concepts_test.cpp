// The concepts that decide what mpp's calls accept: a wrong callable or range is refused where
// it is written, and both handle types share one interface. Most of this file is checked by the
// compiler; tests/compile_fail/ holds the programs that must not compile.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <list>
#include <mpp/mpp.hpp>
#include <ranges>
#include <string>
#include <tuple>
#include <vector>

namespace {

int square(int x) {
  return x * x;
}
void consume(int) {}
int add(int a, int b) {
  return a + b;
}
int length(const std::string& s) {
  return static_cast<int>(s.size());
}

// An input range whose size is not known up front.
auto unsized() {
  return std::views::iota(0) | std::views::take_while([](int x) { return x < 10; });
}

// map accepts a function of one item that returns a value.
static_assert(mpp::mappable<decltype(square), std::vector<int>>);
static_assert(mpp::mappable<decltype(length), std::list<std::string>>);
static_assert(!mpp::mappable<decltype(consume), std::vector<int>>);  // returns nothing
static_assert(!mpp::mappable<decltype(add), std::vector<int>>);      // wants two arguments
static_assert(!mpp::mappable<decltype(length), std::vector<int>>);   // wrong argument type

// map needs the size up front; imap does not.
static_assert(mpp::sized_input<std::vector<int>>);
static_assert(mpp::sized_input<decltype(std::views::iota(0, 10))>);
static_assert(!mpp::sized_input<decltype(unsized())>);
static_assert(!mpp::sized_input<int>);

// One interface for every asynchronous result; std::future lacks ready/cancel, so it is not one.
static_assert(mpp::result_handle<mpp::AsyncResult<int>>);
static_assert(mpp::result_handle<mpp::AsyncResult<void>>);
static_assert(mpp::result_handle<mpp::AsyncResult<std::vector<std::string>>>);
static_assert(!mpp::result_handle<std::future<int>>);
static_assert(!mpp::result_handle<int>);

// Written once against the concept, used with any handle (the MPI tests use it with
// mpp::mpi::Future too).
template <mpp::result_handle H>
int failures(std::vector<H>& results) {
  int n = 0;
  for (auto& r : results) {
    r.wait();
    n += r.successful() ? 0 : 1;
  }
  return n;
}

}  // namespace

TEST_CASE("code written against mpp::result_handle runs with the local pool's results") {
  mpp::Pool pool(2);
  std::vector<mpp::AsyncResult<int>> results;
  for (int i = 0; i < 10; ++i) {
    results.push_back(pool.apply_async([i] {
      if (i % 5 == 0) throw std::runtime_error("bad input");
      return i;
    }));
  }
  CHECK(failures(results) == 2);
}

TEST_CASE("the concepts accept what map and imap take") {
  mpp::Pool pool(2);
  CHECK(pool.map(square, std::vector<int>{1, 2, 3}) == std::vector<int>{1, 4, 9});
  int sum = 0;
  for (int x : pool.imap(square, unsized())) sum += x;  // imap takes an unsized input
  CHECK(sum == 285);
}
