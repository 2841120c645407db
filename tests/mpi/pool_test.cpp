// Conformance of mpp::mpi::Pool: results equal a sequential reference (and the local pool's) for
// every schedule and chunk size, inputs everywhere or on the root only, results on the root or
// everywhere, remote exceptions, mismatched calls and the communicator it uses.
#include <doctest/doctest.h>
#include <mpi.h>

#include <cstdlib>
#include <exception>
#include <list>
#include <mpp/mpi.hpp>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

struct Point {  // sent as bytes
  double x = 0, y = 0;
  friend bool operator==(const Point&, const Point&) = default;
};

struct Named {  // sent through cereal
  std::string name;
  std::vector<int> values;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, values);
  }
  friend bool operator==(const Named&, const Named&) = default;
};

static_assert(mpp::mpi::bytes_transferable<Point>);
static_assert(!mpp::mpi::bytes_transferable<Named> && mpp::mpi::cereal_transferable<Named>);
static_assert(mpp::mpi::transferable<std::string> && !mpp::mpi::bytes_transferable<bool>);

mpp::mpi::Pool& cluster() {
  static mpp::mpi::Pool pool({.threads = 2});
  return pool;
}

int square(int x) {
  return x * x;
}

std::vector<int> reference(std::size_t n) {
  std::vector<int> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = square(static_cast<int>(i));
  return out;
}

// The root gets the full result; the other ranks an empty vector.
template <class R>
void check_result(const std::vector<R>& got, const std::vector<R>& expected) {
  if (cluster().is_root()) {
    CHECK(got == expected);
  } else {
    CHECK(got.empty());
  }
}

const mpp::schedule schedules[] = {mpp::schedule::adaptive, mpp::schedule::static_,
                                   mpp::schedule::dynamic, mpp::schedule::python};

}  // namespace

TEST_CASE("map equals the sequential reference for every schedule and chunk size") {
  for (std::size_t n : {0u, 1u, 7u, 100u, 1001u}) {
    const auto xs = std::views::iota(0, static_cast<int>(n));
    for (auto s : schedules) {
      for (std::optional<std::size_t> c :
           {std::optional<std::size_t>{}, std::optional<std::size_t>{1},
            std::optional<std::size_t>{6}, std::optional<std::size_t>{n + 1}}) {
        CAPTURE(n);
        CAPTURE(static_cast<int>(s));
        check_result(cluster().map(square, xs, {.chunksize = c, .schedule = s}), reference(n));
      }
    }
  }
}

TEST_CASE("map on one rank equals the local pool") {
  if (cluster().size() == 1) {
    mpp::Pool local(2);
    const auto xs = std::views::iota(0, 500);
    CHECK(cluster().map(square, xs) == local.map(square, xs));
  }
}

TEST_CASE("inputs may be any sized range, present on every rank") {
  std::list<int> xs(50);
  std::iota(xs.begin(), xs.end(), 0);
  check_result(cluster().map(square, xs, {.schedule = mpp::schedule::static_}), reference(50));
  check_result(cluster().map(square, xs, {.schedule = mpp::schedule::dynamic}), reference(50));
}

TEST_CASE("results on every rank") {
  const auto xs = std::views::iota(0, 300);
  for (auto s : schedules) {
    CHECK(cluster().map(square, xs, {.schedule = s}, mpp::mpi::results::on_every_rank) ==
          reference(300));
  }
}

TEST_CASE("items on the root only are sent out") {
  for (auto s : schedules) {
    std::vector<int> xs;
    if (cluster().is_root()) xs = std::vector<int>(reference(257).size());
    std::iota(xs.begin(), xs.end(), 0);
    check_result(cluster().map(square, mpp::mpi::from_root(xs), {.schedule = s}), reference(257));

    std::vector<std::string> words;
    if (cluster().is_root()) {
      for (int i = 0; i < 123; ++i)
        words.push_back(std::string(static_cast<std::size_t>(i % 7), 'a'));
    }
    std::vector<std::size_t> lengths;
    for (int i = 0; i < 123; ++i) lengths.push_back(static_cast<std::size_t>(i % 7));
    check_result(cluster().map([](const std::string& w) { return w.size(); },
                               mpp::mpi::from_root(words), {.chunksize = 5, .schedule = s}),
                 lengths);
  }
}

TEST_CASE("starmap unpacks tuple-like items") {
  std::vector<std::pair<int, int>> pairs;
  std::vector<int> sums;
  for (int i = 0; i < 77; ++i) {
    pairs.emplace_back(i, 2 * i);
    sums.push_back(3 * i);
  }
  const auto add = [](int a, int b) { return a + b; };
  check_result(cluster().starmap(add, pairs), sums);
  check_result(cluster().starmap(add, pairs, {.schedule = mpp::schedule::static_}), sums);
  std::vector<std::pair<int, int>> rooted;
  if (cluster().is_root()) rooted = pairs;
  check_result(cluster().starmap(add, mpp::mpi::from_root(rooted)), sums);
}

TEST_CASE("results of every kind cross ranks") {
  const auto xs = std::views::iota(0, 64);
  std::vector<Point> points;
  std::vector<Named> named;
  std::vector<std::string> strings;
  std::vector<bool> odd;
  for (int i = 0; i < 64; ++i) {
    points.push_back({double(i), -double(i)});
    named.push_back({std::to_string(i), std::vector<int>(static_cast<std::size_t>(i % 5), i)});
    strings.push_back(std::string(static_cast<std::size_t>(i), 'x'));
    odd.push_back(i % 2 == 1);
  }
  for (auto s : {mpp::schedule::static_, mpp::schedule::dynamic}) {
    check_result(cluster().map(
                     [](int i) {
                       return Point{double(i), -double(i)};
                     },
                     xs, {.schedule = s}),
                 points);
    check_result(
        cluster().map(
            [](int i) {
              return Named{std::to_string(i), std::vector<int>(static_cast<std::size_t>(i % 5), i)};
            },
            xs, {.schedule = s}),
        named);
    check_result(cluster().map([](int i) { return std::string(static_cast<std::size_t>(i), 'x'); },
                               xs, {.schedule = s}),
                 strings);
    check_result(cluster().map([](int i) { return i % 2 == 1; }, xs, {.schedule = s}), odd);
    CHECK(cluster().map([](int i) { return std::string(static_cast<std::size_t>(i), 'x'); }, xs,
                        {.schedule = s}, mpp::mpi::results::on_every_rank) == strings);
    CHECK(cluster().map([](int i) { return i % 2 == 1; }, xs, {.schedule = s},
                        mpp::mpi::results::on_every_rank) == odd);
  }
}

TEST_CASE("an exception on any rank reaches every rank") {
  for (auto s : schedules) {
    CAPTURE(static_cast<int>(s));
    bool threw = false;
    try {
      (void)cluster().map(
          [](int x) {
            if (x == 137) throw std::runtime_error("item 137 is cursed");
            return x;
          },
          std::views::iota(0, 400), {.schedule = s});
    } catch (const mpp::mpi::RemoteError& e) {
      threw = true;
      CHECK(e.rank() != cluster().rank());
      CHECK(e.item() == std::optional<std::size_t>(137));
      CHECK(e.type_name() == "std::runtime_error");
      CHECK(e.message() == "item 137 is cursed");
      CHECK(!e.host().empty());
      CHECK(std::string(e.what()).find("item 137 failed on rank") != std::string::npos);
    } catch (const std::runtime_error& e) {  // the failing rank gets its own exception
      threw = true;
      CHECK(std::string(e.what()) == "item 137 is cursed");
    }
    CHECK(threw);
    // The pool stays usable afterwards, with a fresh chunk counter.
    check_result(cluster().map(square, std::views::iota(0, 100), {.schedule = s}), reference(100));
  }
}

TEST_CASE("the lowest failing item is reported when several fail") {
  int reported = -1;
  // One failing item in each rank's static_ block (item 3 of it), so that no failure on a rank
  // can cancel that rank's other one before it runs.
  const int block = 400 / cluster().size();
  try {
    (void)cluster().map(
        [block](int x) {
          if (x % block == 3) throw std::out_of_range("bad " + std::to_string(x));
          return x;
        },
        std::views::iota(0, 400), {.schedule = mpp::schedule::static_});
  } catch (const mpp::mpi::RemoteError& e) {
    reported = static_cast<int>(e.item().value_or(999));
    CHECK(e.type_name() == "std::out_of_range");
  } catch (const std::out_of_range& e) {
    reported = std::stoi(std::string(e.what()).substr(4));
  }
  // Rank 0 owns the first block under static_, so item 3 is the lowest failure seen.
  CHECK(reported == 3);
}

TEST_CASE("ranks passing different sizes get CollectiveMismatchError everywhere") {
  if (cluster().size() > 1) {
    std::vector<int> xs(cluster().rank() == 1 ? 10 : 12, 1);
    CHECK_THROWS_AS((void)cluster().map(square, xs), mpp::mpi::CollectiveMismatchError);
    const auto schedule = cluster().rank() == 1 ? mpp::schedule::static_ : mpp::schedule::dynamic;
    std::vector<int> ys(12, 1);
    CHECK_THROWS_AS((void)cluster().map(square, ys, {.schedule = schedule}),
                    mpp::mpi::CollectiveMismatchError);
    // Still in step afterwards.
    check_result(cluster().map(square, std::views::iota(0, 10)), reference(10));
  }
}

TEST_CASE("chunksize 0 is rejected on every rank") {
  CHECK_THROWS_AS((void)cluster().map(square, std::views::iota(0, 10), {.chunksize = 0}),
                  std::invalid_argument);
}

TEST_CASE("mpp's traffic never meets the application's messages") {
  const int rank = cluster().rank(), size = cluster().size();
  int received = -1;
  MPI_Request request = MPI_REQUEST_NULL;
  // A receive for any message from any rank posted on MPI_COMM_WORLD while mpp works.
  MPI_Irecv(&received, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &request);
  mpp::mpi::Pool world;
  check_result(world.map(square, std::views::iota(0, 200), {.schedule = mpp::schedule::dynamic}),
               reference(200));
  int sent = 1000 + rank;
  MPI_Send(&sent, 1, MPI_INT, (rank + 1) % size, 7, MPI_COMM_WORLD);
  MPI_Wait(&request, MPI_STATUS_IGNORE);
  CHECK(received == 1000 + (rank + size - 1) % size);
}

TEST_CASE("a pool on another communicator") {
  MPI_Comm half = MPI_COMM_NULL;
  const int rank = cluster().rank();
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  {
    mpp::mpi::Pool sub({.threads = 1, .comm = half});
    int half_size = 0;
    MPI_Comm_size(half, &half_size);
    CHECK(sub.size() == half_size);
    CHECK(sub.threads() == 1);
    const auto r = sub.map(square, std::views::iota(0, 90), {.schedule = mpp::schedule::dynamic});
    if (sub.is_root()) {
      CHECK(r == reference(90));
    } else {
      CHECK(r.empty());
    }
  }
  MPI_Comm_free(&half);
}

TEST_CASE("the thread level MPI provides is the one asked for") {
  const char* level = std::getenv("MPP_TEST_THREAD_LEVEL");
  int provided = 0;
  MPI_Query_thread(&provided);
  if (level != nullptr && std::string(level) == "funneled") {
    CHECK(provided == MPI_THREAD_FUNNELED);
    // Off the main thread, mpp refuses to call MPI.
    std::thread other(
        [&] { CHECK_THROWS_AS(mpp::mpi::Pool({.threads = 1}), mpp::mpi::UsageError); });
    other.join();
  } else if (level == nullptr) {
    CHECK(provided == MPI_THREAD_MULTIPLE);
  }
}

TEST_CASE("map_async: several collective calls in flight, results as map's") {
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    CHECK_THROWS_AS((void)cluster().map_async(square, std::views::iota(0, 10)),
                    mpp::mpi::UsageError);
    return;
  }
  auto a = cluster().map_async(square, std::views::iota(0, 300));
  auto b =
      cluster().map_async(square, std::views::iota(0, 50), {.schedule = mpp::schedule::static_},
                          mpp::mpi::results::on_every_rank);
  std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}};
  auto c = cluster().starmap_async([](int x, int y) { return x * y; }, pairs);
  const auto direct = cluster().map(square, std::views::iota(0, 20));  // waits for its turn
  check_result(a.get(), reference(300));
  CHECK(b.get() == reference(50));
  // The one handle type, on a thread of its own: a continuation names the pool it runs on.
  CHECK_THROWS_AS((void)b.then([](const std::vector<int>& v) { return v.size(); }),
                  std::logic_error);
  mpp::Pool local(1);
  CHECK(b.then(local, [](const std::vector<int>& v) { return v.size(); }).get() == 50);
  check_result(c.get(), std::vector<int>{2, 12});
  check_result(direct, reference(20));
  auto failing = cluster().map_async(
      [](int x) {
        if (x == 7) throw std::runtime_error("seven");
        return x;
      },
      std::views::iota(0, 30));
  CHECK_THROWS_AS(failing.get(), std::runtime_error);  // RemoteError is a runtime_error too
}

TEST_CASE("map_async callbacks run before the future is ready, where results arrive") {
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) return;  // map_async needs it (see the case above)
  std::size_t delivered = 0;
  int errors = 0;
  auto ok =
      cluster().map_async(square, std::views::iota(0, 40), {},
                          mpp::callbacks([&](const std::vector<int>& r) { delivered = r.size(); },
                                         [&](std::exception_ptr) { ++errors; }));
  const auto out = ok.get();
  CHECK(delivered == (cluster().is_root() ? 40u : 0u));  // the root's results only
  CHECK(errors == 0);
  auto failing = cluster().map_async(
      [](int x) {
        if (x == 3) throw std::domain_error("three");
        return x;
      },
      std::views::iota(0, 10), {},
      mpp::callbacks([&](const std::vector<int>&) { ++errors; },
                     [&](std::exception_ptr) { errors += 10; }));
  CHECK_THROWS(failing.get());
  CHECK(errors == 10);  // every rank's error callback ran, once, before get() threw
  auto thrown = cluster().map_async(
      square, std::views::iota(0, 4), {},
      mpp::callbacks([](const std::vector<int>&) { throw std::logic_error("callback failed"); }));
  if (cluster().is_root()) {
    CHECK_THROWS_AS(thrown.get(), std::logic_error);
  } else {
    CHECK(thrown.get().empty());
  }
  std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}};
  int product_sum = 0;
  auto starred = cluster().starmap_async(
      [](int x, int y) { return x * y; }, pairs, {},
      mpp::callbacks([&](const std::vector<int>& r) { product_sum = r[0] + r[1]; }));
  (void)starred.get();
  CHECK(product_sum == (cluster().is_root() ? 14 : 0));
}

TEST_CASE("map_async returns the local pool's handle, which mpp::wait takes and cancel leaves") {
  int provided = 0;
  MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_MULTIPLE) return;  // map_async needs it (see above)
  mpp::AsyncResult<std::vector<int>> a = cluster().map_async(square, std::views::iota(0, 100));
  auto b = cluster().map_async(square, std::views::iota(0, 10));
  CHECK_FALSE(b.cancel());  // a collective call runs on every rank: never cancelled on one
  std::vector<mpp::AsyncResult<std::vector<int>>> both{a, b};
  const auto [done, not_done] =
      mpp::wait(both, mpp::wait_for::all_completed, std::chrono::seconds(60));
  CHECK(done.size() == 2);
  CHECK(not_done.empty());
  CHECK(a.ready());
  CHECK(a.successful());
  CHECK_FALSE(b.cancelled());
  check_result(a.get(), reference(100));
  check_result(b.get(std::chrono::seconds(1)), reference(10));
  // A continuation on the local pool, as for any local result.
  mpp::Pool local(1);
  auto count = b.then(local, [](const std::vector<int>& r) { return r.size(); });
  CHECK(count.get() == (cluster().is_root() ? 10u : 0u));
}

TEST_CASE("an Environment inside an initialized MPI is a no-op") {
  {
    mpp::mpi::Environment inner;
    CHECK_FALSE(inner.owns());
    CHECK(mpp::mpi::Environment::active());
  }
  CHECK(mpp::mpi::Environment::active());  // the inner one did not finalize MPI
  CHECK(!mpp::mpi::Environment::processor_name().empty());
}
