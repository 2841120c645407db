// doctest under MPI: every rank runs every test case (the calls are collective), only the root
// reports, a rank that fails prints its own report, and the exit code of every rank says
// whether any rank failed, so mpirun fails when one does.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <mpi.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mpp/mpi/environment.hpp>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

// MPP_TEST_THREAD_LEVEL=funneled|serialized asks MPI for less than MPI_THREAD_MULTIPLE, to test
// that mpp funnels its MPI calls correctly then.
mpp::mpi::thread_level requested_level() {
  const char* level = std::getenv("MPP_TEST_THREAD_LEVEL");
  if (level != nullptr && std::strcmp(level, "funneled") == 0)
    return mpp::mpi::thread_level::funneled;
  if (level != nullptr && std::strcmp(level, "serialized") == 0) {
    return mpp::mpi::thread_level::serialized;
  }
  return mpp::mpi::thread_level::multiple;
}

// A hung collective would otherwise end as a bare ctest timeout, saying nothing of where. The
// watch names the test case that ran past MPP_TEST_CASE_LIMIT seconds (45 by default), prints
// this rank's threads where gdb can attach, and ends the job.
class HangWatch : public doctest::IReporter {
 public:
  explicit HangWatch(const doctest::ContextOptions&) {}

  void test_case_start(const doctest::TestCaseData& test) override {
    std::lock_guard lock(mutex());
    current() = test.m_name;
    started().store(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  void test_case_end(const doctest::CurrentTestCaseStats&) override { started().store(0); }

  // Runs on a detached thread for the whole run.
  static void watch(int rank) {
    const char* set = std::getenv("MPP_TEST_CASE_LIMIT");
    const auto limit = std::chrono::seconds(set != nullptr ? std::atoi(set) : 45);
    for (;;) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const auto since = started().load();
      if (since == 0) continue;
      const std::chrono::steady_clock::time_point start{std::chrono::steady_clock::duration(since)};
      if (std::chrono::steady_clock::now() - start < limit) continue;
      std::string name;
      {
        std::lock_guard lock(mutex());
        name = current();
      }
      std::cerr << "rank " << rank << ": test case \"" << name << "\" has run for more than "
                << limit.count() << " s; it hangs. Threads of this rank:" << std::endl;
      const std::string gdb = "gdb -p " + std::to_string(::getpid()) +
                              " -batch -ex 'thread apply all bt' 2>/dev/null | grep '^#\\|^Thread'";
      (void)std::system(gdb.c_str());
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
  }

  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::string& current() {
    static std::string name;
    return name;
  }
  static std::atomic<std::chrono::steady_clock::rep>& started() {
    static std::atomic<std::chrono::steady_clock::rep> since{0};
    return since;
  }
};
REGISTER_LISTENER("hang-watch", 1, HangWatch);

int main(int argc, char** argv) {
  mpp::mpi::Environment env(argc, argv, requested_level());
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);

  std::thread(HangWatch::watch, rank).detach();
  doctest::Context context(argc, argv);
  std::ostringstream quiet;
  if (rank != 0) context.setCout(&quiet);
  const int failed = context.run() != 0 ? 1 : 0;

  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (failed && rank != 0) {
    std::cerr << "---- report of rank " << rank << " ----\n" << quiet.str() << std::flush;
  }
  if (context.shouldExit()) return failed;
  return any_failed;
}
