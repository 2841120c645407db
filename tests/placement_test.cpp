// How a pool keeps its busy threads on different CPUs (Linux). The kernel places a thread when it
// wakes up and seldom moves a runnable one later, so two workers that never sleep during a burst
// of tasks can share one CPU while another idles. Each thread draining the pool's task queue
// registers its CPU (a detail::Placement); every few tasks, one that shares its CPU with another
// moves itself to a CPU of its affinity mask where none runs, and gives the thread its mask back.
//
// The tests stand in for two drainers with two placements on the test's own thread, and pin that
// thread to one CPU to put both on the same CPU.
//
// Placement is opt-in (PoolOptions::placement, or MPP_PLACEMENT=1): the last tests check, from
// inside a task, whether the thread draining the pool's queue registered itself.

#include <doctest/doctest.h>

#ifdef __linux__
#include <sched.h>

#include <oneapi/tbb/global_control.h>

#include <cstdlib>
#include <mpp/detail/placement.hpp>
#include <mpp/pool.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "support.hpp"

namespace {

using mpp::detail::Placement;

cpu_set_t affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof(set), &set) == 0);
  return set;
}

void set_affinity(const cpu_set_t& set) {
  REQUIRE(sched_setaffinity(0, sizeof(set), &set) == 0);
}

cpu_set_t only(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return set;
}

int first_cpu(const cpu_set_t& set) {
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) return cpu;
  }
  return -1;
}

bool has_affinity(const cpu_set_t& expected) {
  const cpu_set_t now = affinity();
  return CPU_EQUAL(&expected, &now);
}

// Gives the test's thread its affinity mask back, however the test ends.
struct RestoreAffinity {
  cpu_set_t mask = affinity();
  ~RestoreAffinity() { sched_setaffinity(0, sizeof(mask), &mask); }
};

// Drainers registered on any CPU, process-wide.
int registered_drainers() {
  int sum = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) sum += Placement::drainers_on(cpu);
  return sum;
}

// The drainers registered while a task of a pool made with `options` runs.
int drainers_seen_by_a_task(const mpp::PoolOptions& options) {
  mpp::Pool pool(options);
  return pool.apply_async(registered_drainers).get(mpp_test::patience);
}

}  // namespace

TEST_CASE("a drainer that shares its CPU with another moves to a CPU where none runs") {
  RestoreAffinity restore;
  const cpu_set_t allowed = restore.mask;
  if (CPU_COUNT(&allowed) < 2) {
    MESSAGE("mpp-test-skipped: this process may use only one CPU");
    return;
  }
  const int shared = first_cpu(allowed);
  const int before = Placement::drainers_on(shared);
  // A busy machine may move the thread back at once: a few attempts, each with new drainers.
  bool moved_off = false;
  for (int attempt = 0; attempt < 5 && !moved_off; ++attempt) {
    set_affinity(only(shared));
    Placement first;
    Placement second;
    CHECK(Placement::drainers_on(shared) == before + 2);
    set_affinity(allowed);  // the kernel leaves the thread where it is
    first.check();
    moved_off = sched_getcpu() != shared;
    CHECK(Placement::drainers_on(shared) == before + 1);
    CHECK(has_affinity(allowed));
  }
  CHECK(moved_off);
  CHECK(Placement::drainers_on(shared) == before);
}

TEST_CASE("a drainer pinned to one CPU stays there, and keeps its mask") {
  RestoreAffinity restore;
  const int cpu = first_cpu(restore.mask);
  const cpu_set_t pinned = only(cpu);
  set_affinity(pinned);
  Placement first;
  Placement second;
  for (int i = 0; i < 3; ++i) first.check();
  CHECK(sched_getcpu() == cpu);
  CHECK(Placement::drainers_on(cpu) >= 2);
  CHECK(has_affinity(pinned));
}

TEST_CASE("CPU placement is off by default: a pool's drainers register nowhere") {
  mpp_test::ScopedEnv unset("MPP_PLACEMENT", std::nullopt);
  CHECK(registered_drainers() == 0);
  CHECK(drainers_seen_by_a_task({.threads = 2}) == 0);
  mpp_test::ScopedEnv zero("MPP_PLACEMENT", "0");
  CHECK(drainers_seen_by_a_task({.threads = 2}) == 0);
  mpp_test::ScopedEnv empty("MPP_PLACEMENT", "");
  CHECK(drainers_seen_by_a_task({.threads = 2}) == 0);
}

TEST_CASE("PoolOptions::placement = true turns CPU placement on") {
  mpp_test::ScopedEnv unset("MPP_PLACEMENT", std::nullopt);
  CHECK(drainers_seen_by_a_task({.threads = 2, .placement = true}) == 1);
  CHECK(registered_drainers() == 0);  // the drainer left its CPU's count when it returned
}

TEST_CASE("MPP_PLACEMENT=1 turns CPU placement on; the option overrides it either way") {
  mpp_test::ScopedEnv on("MPP_PLACEMENT", "1");
  CHECK(drainers_seen_by_a_task({.threads = 2}) == 1);
  CHECK(drainers_seen_by_a_task({.threads = 2, .placement = false}) == 0);
  mpp_test::ScopedEnv off("MPP_PLACEMENT", "0");
  CHECK(drainers_seen_by_a_task({.threads = 2, .placement = true}) == 1);
}

TEST_CASE("a bad MPP_PLACEMENT throws std::invalid_argument naming it, and costs no threads") {
  // Under a limit of 3 threads, Pool(2) fits only while no other pool holds threads.
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 3);
  mpp_test::ScopedEnv bad("MPP_PLACEMENT", "yes");
  for (int i = 0; i < 3; ++i) {
    CHECK_THROWS_WITH_AS(mpp::Pool(2), doctest::Contains("MPP_PLACEMENT='yes'"),
                         std::invalid_argument);
  }
  // An explicit option does not read the variable, and the refused pools gave their threads
  // back.
  CHECK(drainers_seen_by_a_task({.threads = 2, .placement = false}) == 0);
}

#endif
