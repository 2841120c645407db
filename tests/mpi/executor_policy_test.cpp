// Retries, backoff and time limits on mpp::mpi::Executor: `submit(TaskOptions, f, args...)` and
// ExecutorMapOptions' retries, backoff and task_timeout travel with each task, and the worker
// that runs it applies them as the local pool does. Every rank enters each case; the workers
// serve inside it, the root submits and checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mpp/mpi.hpp>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Fails the first `fails` calls for each key in this process, then returns the key.
int flaky(int key, int fails) {
  static std::mutex mutex;
  static std::map<int, int> calls;
  int call = 0;
  {
    std::lock_guard lock(mutex);
    call = ++calls[key];
  }
  if (call <= fails) {
    throw std::runtime_error("call " + std::to_string(call) + " of key " + std::to_string(key));
  }
  return key;
}
int fails_twice(int key) {
  return flaky(key, 2);
}

// Waits for its stop token, at most 10 s so that a broken deadline fails rather than hangs.
int cooperative(int x) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  while (x < 0 && !mpp::this_task::stop_requested() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(1ms);
  return x;
}

// As `cooperative`, but ends by throwing its own exception, which the TaskTimeoutError nests.
int gives_up(int x) {
  cooperative(-1);
  throw std::runtime_error("gave up at " + std::to_string(x));
}

void register_all(mpp::mpi::Executor& ex) {
  ex.register_function("flaky", flaky);
  ex.register_function("fails_twice", fails_twice);
  ex.register_function("cooperative", cooperative);
  ex.register_function("gives_up", gives_up);
}

// What a task's TaskTimeoutError looks like on the root.
template <class Read>
void check_timed_out(int ranks, Read read) {
  if (ranks == 1) {
    CHECK_THROWS_AS(read(), mpp::TaskTimeoutError);
    return;
  }
  try {
    read();
    FAIL("expected a RemoteError naming mpp::TaskTimeoutError");
  } catch (const mpp::mpi::RemoteError& e) {
    CHECK(e.type_name() == "mpp::TaskTimeoutError");
  }
}

}  // namespace

TEST_CASE("executor policy: submit retries a failing task on its worker") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  CHECK(ex.submit({.retries = 2}, flaky, 1, 2).get() == 1);
  // Without enough retries the last attempt's exception arrives: call 2 of 2.
  auto short_of_one = ex.submit({.retries = 1, .backoff = {.initial = 1ms}}, flaky, 2, 5);
  CHECK_THROWS_WITH(short_of_one.get(), doctest::Contains("call 2 of key 2"));
  CHECK_THROWS_WITH(ex.submit(flaky, 3, 1).get(), doctest::Contains("call 1 of key 3"));
}

TEST_CASE("executor policy: a task past its timeout fails with TaskTimeoutError") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  const auto start = std::chrono::steady_clock::now();
  auto stuck = ex.submit({.timeout = 100ms}, cooperative, -1);
  check_timed_out(ex.size(), [&] { (void)stuck.get(); });
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // at the deadline, not at give-up
  CHECK(ex.submit({.timeout = 10s}, cooperative, 7).get() == 7);
  // A task that throws at its deadline: still a TaskTimeoutError (its exception nested in it,
  // and named in the message), not the library's wrapper type.
  auto threw = ex.submit({.timeout = 100ms}, gives_up, 1);
  check_timed_out(ex.size(), [&] { (void)threw.get(); });
}

TEST_CASE("executor policy: map retries each item, and task_timeout limits each item") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  std::vector<int> keys;
  for (int k = 100; k < 120; ++k) keys.push_back(k);
  for (const bool unordered : {false, true}) {
    CAPTURE(unordered);
    std::vector<int> fresh;
    for (int k : keys) fresh.push_back(k + (unordered ? 100 : 0));
    std::vector<int> out =
        ex.map(fails_twice, fresh, {.chunksize = 3, .unordered = unordered, .retries = 2});
    if (unordered) std::ranges::sort(out);
    CHECK(out == fresh);
  }
  // Item 3 waits for its stop token; the others return long before their limit.
  auto results = ex.map(cooperative, std::vector<int>{0, 1, 2, -1, 4}, {.task_timeout = 500ms});
  std::vector<int> seen;
  check_timed_out(ex.size(), [&] {
    for (int x : results) seen.push_back(x);
  });
  CHECK(seen == std::vector<int>{0, 1, 2});
}

TEST_CASE("executor policy: impossible settings are refused before anything is sent") {
  mpp::mpi::Executor ex({.threads = 1});
  register_all(ex);
  if (ex.serve()) return;
  CHECK_THROWS_AS((void)ex.submit({.timeout = 0s}, cooperative, 1), std::invalid_argument);
  CHECK_THROWS_AS((void)ex.submit({.backoff = {.multiplier = 0.5}}, cooperative, 1),
                  std::invalid_argument);
  CHECK_THROWS_WITH_AS((void)ex.map(cooperative, std::vector<int>{1}, {.task_timeout = -1s}),
                       doctest::Contains("mpi::Executor::map: a time limit must be positive"),
                       std::invalid_argument);
  CHECK(ex.submit(cooperative, 5).get() == 5);
}
