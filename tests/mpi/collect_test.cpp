// mpp::mpi::Pool::map with mpp::on_error::collect: a parameter scan across ranks keeps going
// when some items fail. The root gets one outcome per item in input order, each a value or an
// exception: the item's own where the root ran it, RemoteError where another rank did.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <mpp/mpi.hpp>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

mpp::mpi::Pool& cluster() {
  static mpp::mpi::Pool pool({.threads = 2});
  return pool;
}

// The message of the exception an outcome holds, local or remote.
std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const mpp::mpi::RemoteError& e) {
    return e.message();
  } catch (const std::exception& e) {
    return e.what();
  }
}

int square_unless_tenth(int x) {
  if (x % 10 == 0) throw std::domain_error("item " + std::to_string(x) + " diverged");
  return x * x;
}

}  // namespace

TEST_CASE("collect: a map where 10% of items throw returns every outcome in input order") {
  for (auto s : {mpp::schedule::static_, mpp::schedule::dynamic}) {
    CAPTURE(static_cast<int>(s));
    const auto out = cluster().map(mpp::on_error::collect, square_unless_tenth,
                                   std::views::iota(0, 200), {.schedule = s});
    if (!cluster().is_root()) {
      CHECK(out.empty());
      continue;
    }
    REQUIRE(out.size() == 200);
    int failed = 0;
    for (int x = 0; x < 200; ++x) {
      const auto& o = out[static_cast<std::size_t>(x)];
      if (x % 10 == 0) {
        REQUIRE_FALSE(o.has_value());
        ++failed;
        CHECK(message_of(o.error()) == "item " + std::to_string(x) + " diverged");
        try {
          std::rethrow_exception(o.error());
        } catch (const mpp::mpi::RemoteError& e) {  // another rank ran it
          CHECK(e.item() == std::optional<std::size_t>(static_cast<std::size_t>(x)));
          CHECK(e.type_name() == "std::domain_error");
        } catch (const std::domain_error&) {  // the root ran it: its own exception
        }
      } else {
        CHECK(o.value() == x * x);
      }
    }
    CHECK(failed == 20);
  }
}

TEST_CASE("collect: items on the root only, retries first, and a deadline per item") {
  const auto out = cluster().map(
      mpp::on_error::collect,
      [](int x) {
        if (x == 3) {
          const auto give_up = std::chrono::steady_clock::now() + 10s;
          while (!mpp::this_task::stop_requested() && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(1ms);
        }
        return x;
      },
      mpp::mpi::from_root(std::vector<int>{0, 1, 2, 3, 4, 5}),
      {.schedule = mpp::schedule::dynamic, .task_timeout = 1s});
  if (cluster().is_root()) {
    REQUIRE(out.size() == 6);
    for (int x : {0, 1, 2, 4, 5}) CHECK(out[static_cast<std::size_t>(x)].value() == x);
    REQUIRE_FALSE(out[3].has_value());
    try {
      std::rethrow_exception(out[3].error());
    } catch (const mpp::mpi::RemoteError& e) {
      CHECK(e.type_name() == "mpp::TaskTimeoutError");
    } catch (const mpp::TaskTimeoutError&) {
    } catch (...) {
      FAIL("expected a TaskTimeoutError outcome");
    }
  }
  // Retries apply before an item becomes an error outcome.
  std::atomic<int> attempts{0};
  const auto retried =
      cluster().map(mpp::on_error::collect,
                    [&](int x) {
                      if (x == 1 && attempts++ == 0) throw std::runtime_error("transient");
                      return x;
                    },
                    std::views::iota(0, 4), {.schedule = mpp::schedule::static_, .retries = 1});
  if (cluster().is_root()) {
    REQUIRE(retried.size() == 4);
    for (int x = 0; x < 4; ++x) CHECK(retried[static_cast<std::size_t>(x)].value() == x);
  }
  // The ranks are still in step.
  const auto plain = cluster().map([](int x) { return x + 1; }, std::views::iota(0, 3));
  if (cluster().is_root()) CHECK(plain == std::vector<int>{1, 2, 3});
}

TEST_CASE("collect: imap and imap_unordered yield an outcome per item, on the root") {
  for (const bool ordered : {true, false}) {
    CAPTURE(ordered);
    std::vector<int> values;
    std::vector<std::string> errors;
    auto record = [&](const mpp::Outcome<int>& o) {
      if (o) {
        values.push_back(*o);
      } else {
        errors.push_back(message_of(o.error()));
      }
    };
    if (ordered) {
      for (const auto& o :
           cluster().imap(mpp::on_error::collect, square_unless_tenth, std::views::iota(0, 100)))
        record(o);
    } else {
      for (const auto& o : cluster().imap_unordered(mpp::on_error::collect, square_unless_tenth,
                                                    std::views::iota(0, 100)))
        record(o);
    }
    if (!cluster().is_root()) {
      CHECK(values.empty());
      CHECK(errors.empty());
      continue;
    }
    CHECK(values.size() == 90);
    REQUIRE(errors.size() == 10);
    if (ordered) {
      for (int i = 0; i < 10; ++i)
        CHECK(errors[static_cast<std::size_t>(i)] ==
              "item " + std::to_string(10 * i) + " diverged");
      CHECK(values.front() == 1);
      CHECK(values.back() == 99 * 99);
    }
  }
  // A remote item's RemoteError names it (which items a rank runs depends on the claims).
  for (const auto& o : cluster().imap(mpp::on_error::collect, square_unless_tenth,
                                      std::views::iota(0, 100), {.chunksize = 7})) {
    if (o) continue;
    try {
      std::rethrow_exception(o.error());
    } catch (const mpp::mpi::RemoteError& e) {
      REQUIRE(e.item().has_value());
      CHECK(e.message() == "item " + std::to_string(*e.item()) + " diverged");
    } catch (const std::domain_error&) {
    }
  }
}
