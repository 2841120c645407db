// mpp::available_cpus(): how many CPUs this process may really use, which is what `Pool()` runs
// on. Python's `os.process_cpu_count()` (3.13) counts the affinity mask; mpp also honours the
// cgroup quota and Slurm's `SLURM_CPUS_PER_TASK`, and `MPP_NUM_THREADS` overrides everything
// (like `OMP_NUM_THREADS`).
//
// These tests change the environment and restore it afterwards.

#include <doctest/doctest.h>
#include <sched.h>

#include <mpp/mpp.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "support.hpp"

namespace {

int affinity_count() {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof(set), &set) == 0);
  return CPU_COUNT(&set);
}

}  // namespace

TEST_CASE("available_cpus() is at least 1 and at most the CPUs in the affinity mask") {
  mpp_test::ScopedEnv no_override("MPP_NUM_THREADS", std::nullopt);
  mpp_test::ScopedEnv no_slurm("SLURM_CPUS_PER_TASK", std::nullopt);
  const int cpus = mpp::available_cpus();
  CHECK(cpus >= 1);
  CHECK(cpus <= affinity_count());
  CHECK(mpp::available_cpus() == cpus);  // stable from call to call
}

TEST_CASE("MPP_NUM_THREADS overrides the count, also beyond the machine's cores") {
  for (const char* value : {"1", "3", "64"}) {
    INFO("MPP_NUM_THREADS=" << value);
    mpp_test::ScopedEnv env("MPP_NUM_THREADS", value);
    CHECK(mpp::available_cpus() == std::stoi(value));
  }
  mpp_test::ScopedEnv env("MPP_NUM_THREADS", "3");
  mpp::Pool pool;  // Pool() uses it
  CHECK(pool.threads() == 3);
}

TEST_CASE("an MPP_NUM_THREADS that is not a positive integer is std::invalid_argument") {
  for (const char* value : {"0", "-2", "abc", "3x", "2.5", "99999999999999999999"}) {
    INFO("MPP_NUM_THREADS=" << value);
    mpp_test::ScopedEnv env("MPP_NUM_THREADS", value);
    CHECK_THROWS_AS(mpp::available_cpus(), std::invalid_argument);
    CHECK_THROWS_AS(mpp::Pool(), std::invalid_argument);
    try {
      (void)mpp::available_cpus();
    } catch (const std::invalid_argument& e) {
      // The message names the variable and its value.
      CHECK(std::string(e.what()).find("MPP_NUM_THREADS") != std::string::npos);
      CHECK(std::string(e.what()).find(value) != std::string::npos);
    }
  }
}

TEST_CASE("SLURM_CPUS_PER_TASK caps the count") {
  mpp_test::ScopedEnv no_override("MPP_NUM_THREADS", std::nullopt);
  const int uncapped = [] {
    mpp_test::ScopedEnv no_slurm("SLURM_CPUS_PER_TASK", std::nullopt);
    return mpp::available_cpus();
  }();
  {
    mpp_test::ScopedEnv slurm("SLURM_CPUS_PER_TASK", "1");
    CHECK(mpp::available_cpus() == 1);
    mpp::Pool pool;
    CHECK(pool.threads() == 1);
  }
  {
    // A larger allocation than the CPUs we may use does not raise the count.
    mpp_test::ScopedEnv slurm("SLURM_CPUS_PER_TASK", "4096");
    CHECK(mpp::available_cpus() == uncapped);
  }
  {
    // MPP_NUM_THREADS still wins over Slurm.
    mpp_test::ScopedEnv slurm("SLURM_CPUS_PER_TASK", "1");
    mpp_test::ScopedEnv env("MPP_NUM_THREADS", "5");
    CHECK(mpp::available_cpus() == 5);
  }
  {
    mpp_test::ScopedEnv slurm("SLURM_CPUS_PER_TASK", "many");
    CHECK_THROWS_AS(mpp::available_cpus(), std::invalid_argument);
  }
}

TEST_CASE("the environment is read on every call") {
  mpp_test::ScopedEnv no_slurm("SLURM_CPUS_PER_TASK", std::nullopt);
  {
    mpp_test::ScopedEnv env("MPP_NUM_THREADS", "2");
    CHECK(mpp::available_cpus() == 2);
  }
  {
    mpp_test::ScopedEnv env("MPP_NUM_THREADS", "7");
    CHECK(mpp::available_cpus() == 7);
  }
  mpp_test::ScopedEnv unset("MPP_NUM_THREADS", std::nullopt);
  CHECK(mpp::available_cpus() <= affinity_count());
}
