// Trust II: every failure of the MPI layer ends the call on every rank within a bounded time,
// with an exception that says what happened and where. Each case states one scenario that once
// hung, crashed or went unnoticed.
#include <doctest/doctest.h>
#include <mpi.h>

#include <chrono>
#include <mpp/mpi.hpp>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

// The item whose result cannot be saved on rank 1 (set by the test; -1: none).
int unsavable = -1;

// A result sent through cereal whose save fails for one item on rank 1 only, like a type that
// cannot encode some value.
struct Touchy {
  int value = 0;
  std::string text;
  template <class Archive>
  void save(Archive& ar) const {
    if (value == unsavable && world_rank() == 1) {
      throw std::range_error("Touchy " + std::to_string(value) + " cannot be saved");
    }
    ar(value, text);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(value, text);
  }
};
static_assert(!mpp::mpi::bytes_transferable<Touchy> && mpp::mpi::cereal_transferable<Touchy>);

Touchy touchy(int x) {
  return {x, std::to_string(x)};
}

}  // namespace

TEST_CASE("trust: a result that cannot be serialized on rank 1 fails the map on every rank") {
  mpp::mpi::Pool pool({.threads = 2});
  if (pool.size() < 2) return;  // one rank serializes nothing
  // Static blocks: item n / size is the first of rank 1's block.
  constexpr int n = 40;
  unsavable = n / pool.size();
  for (const auto where : {mpp::mpi::results::on_root, mpp::mpi::results::on_every_rank}) {
    try {
      (void)pool.map(touchy, std::views::iota(0, n), {.schedule = mpp::schedule::static_}, where);
      FAIL("the map returned although rank 1 could not send a result");
    } catch (const mpp::mpi::RemoteError& e) {
      CHECK(pool.rank() != 1);
      CHECK(e.rank() == 1);
      CHECK(e.item() == std::optional<std::size_t>(static_cast<std::size_t>(unsavable)));
      CHECK(e.type_name() == "std::range_error");
      CHECK(e.message().find("cannot be saved") != std::string::npos);
    } catch (const std::range_error& e) {
      CHECK(pool.rank() == 1);  // the failing rank rethrows its own exception
    }
  }
  unsavable = -1;
  const auto again = pool.map(touchy, std::views::iota(0, n), {.schedule = mpp::schedule::static_});
  if (pool.is_root()) {
    REQUIRE(again.size() == n);
    CHECK(again[n - 1].text == std::to_string(n - 1));
  }
}
