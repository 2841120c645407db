// What a checkpointed map's journal can be trusted with: what survives a kill, what a second
// Ctrl-C does, whose signal handlers remain afterwards, and which journals a map refuses.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mpp/mpp.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ranges>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using mpp_test::patience;

using mpp_test::TempJournal;

std::vector<long> tripled(int n) {
  std::vector<long> out;
  for (int i = 0; i < n; ++i) out.push_back(3L * i);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Runs this test binary again as a child process that runs only the test case `name` (one of
// the `child:` cases below, skipped in a normal run), with `env` added to its environment and
// its output in `log`. Returns its wait status, or nothing when it did not end within `timeout`
// (it is killed then).
std::optional<int> run_child(const char* name, const std::vector<std::string>& env,
                             const std::string& log, std::chrono::seconds timeout = patience) {
  std::vector<std::string> args = {"/proc/self/exe", std::string("-tc=") + name, "--no-skip"};
  std::vector<std::string> vars = env;
  for (char** e = environ; *e != nullptr; ++e) vars.emplace_back(*e);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& v : vars) envp.push_back(v.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int failed =
      posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(failed == 0);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(10ms);
  }
  return status;
}

// The environment variable that hands a child case its journal; unset in a normal run.
constexpr const char* child_journal = "MPP_TEST_CHILD_JOURNAL";

}  // namespace

// --- 9. A second signal ends the process at once ------------------------------------------------

// The environment variable that names the child's two signals: "INT INT" or "TERM INT".
constexpr const char* child_signals = "MPP_TEST_CHILD_SIGNALS";

TEST_CASE("child: a checkpointed map receives a second signal" * doctest::skip()) {
  const char* path = std::getenv(child_journal);
  const char* signals = std::getenv(child_signals);
  if (path == nullptr || signals == nullptr) return;
  const int first = std::string(signals).starts_with("TERM") ? SIGTERM : SIGINT;
  // A program that does not handle the signals (doctest's crash handler, there during a test
  // case, is not async-signal-safe, and ThreadSanitizer says so).
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGINT, SIG_DFL);
  mpp::Pool pool(1);  // one thread: chunks finish one after another, in a known count
  std::atomic<int> calls{0};
  (void)pool.map(
      [&](int x) {
        if (calls.fetch_add(1) == 1) {  // the first chunk is finished and journaled by now
          std::raise(first);            // "stop cleanly": running chunks may finish
          std::this_thread::sleep_for(100ms);
          std::raise(SIGINT);  // a second Ctrl-C, "stop now": nobody waits for this one
          std::this_thread::sleep_for(60s);
        }
        return 3L * x;
      },
      std::views::iota(0, 10), {.chunksize = 1, .checkpoint = path, .checkpoint_tag = "triple"});
}

TEST_CASE("a second Ctrl-C while a checkpointed map stops ends the process at once") {
  for (const char* signals : {"INT INT", "TERM INT"}) {
    CAPTURE(signals);
    TempJournal journal("second-signal");
    const std::string log = journal.path + ".log";
    const auto status = run_child("child: a checkpointed map receives a second signal",
                                  {std::string(child_journal) + "=" + journal.path,
                                   std::string(child_signals) + "=" + signals},
                                  log);
    const std::string output = read_file(log);
    std::filesystem::remove(log);
    INFO("child's output: ", output);
    // It did not wait for the running item (a minute long): the process ended as SIGINT ends a
    // program that does not handle it.
    REQUIRE(status.has_value());
    CHECK(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == SIGINT);
    // The chunk that finished before the signals is in the journal: a rerun computes the rest.
    mpp::Pool pool(2);
    std::atomic<int> calls{0};
    CHECK(pool.map(
              [&](int x) {
                calls.fetch_add(1);
                return 3L * x;
              },
              std::views::iota(0, 10),
              {.chunksize = 1, .checkpoint = journal.path, .checkpoint_tag = "triple"}) ==
          tripled(10));
    CHECK(calls.load() == 9);
  }
}

TEST_CASE("SIGTERM repeated, as Slurm sends it at a time limit, is one request to stop") {
  // slurmstepd signals the step and the job, and srun forwards its own: each task gets SIGTERM
  // two or three times, within seconds.
  TempJournal journal("signal-twice-at-once");
  mpp::Pool pool(1);
  std::atomic<int> calls{0};
  CHECK_THROWS_AS(pool.map(
                      [&](int x) {
                        if (calls.fetch_add(1) == 1) {
                          std::raise(SIGTERM);
                          std::raise(SIGTERM);
                          std::this_thread::sleep_for(1500ms);
                          std::raise(SIGTERM);
                        }
                        std::this_thread::sleep_for(50ms);  // time for the stop to arrive
                        return 3L * x;
                      },
                      std::views::iota(0, 10),
                      {.chunksize = 1, .checkpoint = journal.path, .checkpoint_tag = "triple"}),
                  mpp::InterruptedError);
}

// --- 10. The application's signal handlers survive ----------------------------------------------

namespace {

std::atomic<int> application_signals{0};
extern "C" void application_handler(int) {
  application_signals.fetch_add(1);
}

// The application's own dispositions while a test runs: SIGTERM has a handler (with SIGUSR1
// blocked while it runs, and SA_RESTART), SIGINT is ignored. What was there returns afterwards.
class ApplicationSignals {
 public:
  ApplicationSignals() {
    struct sigaction term {};
    term.sa_handler = application_handler;
    sigemptyset(&term.sa_mask);
    sigaddset(&term.sa_mask, SIGUSR1);
    term.sa_flags = SA_RESTART;
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGTERM, &term, &old_term_);
    ::sigaction(SIGINT, &ignore, &old_int_);
    application_signals = 0;
  }
  ~ApplicationSignals() {
    ::sigaction(SIGTERM, &old_term_, nullptr);
    ::sigaction(SIGINT, &old_int_, nullptr);
  }
  ApplicationSignals(const ApplicationSignals&) = delete;
  ApplicationSignals& operator=(const ApplicationSignals&) = delete;

  // True while both dispositions are exactly the application's, masks and flags included.
  static bool intact() {
    struct sigaction term {
    }, intr{};
    ::sigaction(SIGTERM, nullptr, &term);
    ::sigaction(SIGINT, nullptr, &intr);
    return term.sa_handler == application_handler && sigismember(&term.sa_mask, SIGUSR1) == 1 &&
           sigismember(&term.sa_mask, SIGUSR2) == 0 && (term.sa_flags & SA_RESTART) != 0 &&
           intr.sa_handler == SIG_IGN;
  }

 private:
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

}  // namespace

TEST_CASE("a checkpointed map leaves the application's signal dispositions as they were") {
  ApplicationSignals application;
  TempJournal journal("dispositions");
  mpp::Pool pool(2);
  auto triple = [](int x) { return 3L * x; };
  CHECK(pool.map(triple, std::views::iota(0, 100), {.checkpoint = journal.path}) == tripled(100));
  CHECK(ApplicationSignals::intact());
  // Also when the map throws.
  TempJournal other("dispositions-throw");
  CHECK_THROWS_AS(pool.map(
                      [](int x) -> long {
                        if (x == 7) throw std::runtime_error("item 7 fails");
                        return x;
                      },
                      std::views::iota(0, 100), {.checkpoint = other.path}),
                  std::runtime_error);
  CHECK(ApplicationSignals::intact());
  // And the application's handler really is the one that runs again (raised only when it is
  // there, since SIG_DFL would end the test run).
  if (ApplicationSignals::intact()) {
    std::raise(SIGTERM);
    CHECK(application_signals.load() == 1);
  }
}

TEST_CASE("a signal the application ignores stays ignored while a checkpointed map runs") {
  ApplicationSignals application;  // SIGINT ignored, as in a background job
  TempJournal journal("ignored");
  mpp::Pool pool(2);
  std::atomic<bool> still_ignored{true};
  auto triple = [&](int x) {
    if (x == 50) {
      struct sigaction intr {};
      ::sigaction(SIGINT, nullptr, &intr);
      if (intr.sa_handler != SIG_IGN) still_ignored = false;
      std::raise(SIGINT);  // and nothing happens
    }
    return 3L * x;
  };
  CHECK(pool.map(triple, std::views::iota(0, 100), {.chunksize = 1, .checkpoint = journal.path}) ==
        tripled(100));
  CHECK(still_ignored.load());
}

TEST_CASE(
    "several checkpointed maps at once: each stays watched while it runs and the last one "
    "restores") {
  ApplicationSignals application;
  TempJournal first_journal("overlap-1"), second_journal("overlap-2");
  mpp_test::Event second_running, first_done;
  std::exception_ptr second_outcome;
  std::thread second([&] {
    mpp::Pool pool(1);
    try {
      (void)pool.map(
          [&](int x) {
            if (x == 0) {
              second_running.set();
              first_done.wait();  // the other map starts and ends while this one runs
              std::raise(SIGTERM);
              std::this_thread::sleep_for(100ms);  // the watcher stops the map meanwhile
            }
            return 3L * x;
          },
          std::views::iota(0, 100000), {.chunksize = 10, .checkpoint = second_journal.path});
    } catch (...) {
      second_outcome = std::current_exception();
    }
  });
  REQUIRE(second_running.wait());
  {
    mpp::Pool pool(1);
    CHECK(pool.map([](int x) { return 3L * x; }, std::views::iota(0, 100),
                   {.checkpoint = first_journal.path}) == tripled(100));
  }
  first_done.set();
  second.join();
  // The first map's end left the second one watched: its SIGTERM stopped it, the application
  // did not see it, and once both had ended the application's dispositions were back.
  REQUIRE(second_outcome);
  CHECK_THROWS_AS(std::rethrow_exception(second_outcome), mpp::InterruptedError);
  CHECK(application_signals.load() == 0);
  CHECK(ApplicationSignals::intact());
}

// --- 11. No finished chunk is lost to a kill ----------------------------------------------------

TEST_CASE("every finished chunk reaches the kernel at once so that a kill cannot lose it") {
  TempJournal journal("kill"), at_kill("kill-copy");
  mpp::Pool pool(1);  // one thread: when the third item starts, two chunks have finished
  std::atomic<int> calls{0};
  bool copy_at_third = true;
  auto triple = [&](int x) {
    if (calls.fetch_add(1) == 2 && copy_at_third) {
      // What is in the file now is what a SIGKILL at this moment would leave behind.
      std::filesystem::copy_file(journal.path, at_kill.path);
    }
    return 3L * x;
  };
  CHECK(pool.map(triple, std::views::iota(0, 3), {.chunksize = 1, .checkpoint = journal.path}) ==
        tripled(3));
  copy_at_third = false;
  calls = 0;
  CHECK(pool.map(triple, std::views::iota(0, 3), {.chunksize = 1, .checkpoint = at_kill.path}) ==
        tripled(3));
  CHECK(calls.load() == 1);  // only the item that was running
}

TEST_CASE("a finished chunk reaches the disk by the timer without waiting for the next one") {
  TempJournal journal("sync");
  mpp::detail::JournalFile file(
      {.path = journal.path, .items = 1, .fingerprint = 0, .chunksize = 1, .identity = {}}, 20ms);
  const auto header = file.durable_size();  // a new journal is synced before it is used
  CHECK(header == std::filesystem::file_size(journal.path));
  file.append(0, "one finished chunk");
  CHECK(mpp_test::eventually(
      [&] { return file.durable_size() == std::filesystem::file_size(journal.path); }));
  CHECK(file.durable_size() > header);
}

namespace {

// Points the file descriptor open on `path` at /dev/full, so that its next write fails with
// ENOSPC as on a full disk.
bool fill_disk_under(const std::string& path) {
  const auto target = std::filesystem::canonical(path);
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code error;
    if (std::filesystem::read_symlink(entry.path(), error) != target || error) continue;
    const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    const int fd = std::stoi(entry.path().filename().string());
    const bool done = full >= 0 && ::dup2(full, fd) == fd;
    if (full >= 0) ::close(full);
    return done;
  }
  return false;
}

}  // namespace

TEST_CASE("a journal write that fails stops the map at once with mpp::CheckpointError") {
  TempJournal journal("full");
  mpp::Pool pool(1);
  std::atomic<int> calls{0};
  bool filled = false;
  auto triple = [&](int x) {
    if (calls.fetch_add(1) == 0) filled = fill_disk_under(journal.path);
    return 3L * x;
  };
  CHECK_THROWS_WITH_AS(
      pool.map(triple, std::views::iota(0, 100), {.chunksize = 1, .checkpoint = journal.path}),
      doctest::Contains("No space left on device"), mpp::CheckpointError);
  REQUIRE(filled);
  CHECK(calls.load() < 10);  // not every item computed first, with the failure kept for the end
}

// --- 12. A journal never returns results of another map -----------------------------------------

TEST_CASE("a journal written by another function over the same inputs is refused") {
  TempJournal journal("other-function");
  mpp::Pool pool(2);
  CHECK(pool.map([](int x) { return 3L * x; }, std::views::iota(0, 100),
                 {.checkpoint = journal.path}) == tripled(100));
  CHECK_THROWS_WITH_AS(pool.map([](int x) { return 2L * x; }, std::views::iota(0, 100),
                                {.checkpoint = journal.path}),
                       doctest::Contains("function"), mpp::CheckpointError);
}

TEST_CASE("a journal written with another result type is refused instead of read as garbage") {
  TempJournal journal("other-type");
  mpp::Pool pool(2);
  auto as_int = [](int x) { return x; };
  (void)pool.map(as_int, std::views::iota(0, 100), {.checkpoint = journal.path});
  auto as_float = [](int x) { return static_cast<float>(x); };
  CHECK_THROWS_WITH_AS(pool.map(as_float, std::views::iota(0, 100), {.checkpoint = journal.path}),
                       doctest::Contains("result type"), mpp::CheckpointError);
}

TEST_CASE("checkpoint_tag names the computation: another tag is refused and the same one resumes") {
  TempJournal journal("tag");
  mpp::Pool pool(2);
  auto triple = [](int x) { return 3L * x; };
  CHECK(pool.map(triple, std::views::iota(0, 100),
                 {.checkpoint = journal.path, .checkpoint_tag = "triple v1"}) == tripled(100));
  CHECK_THROWS_WITH_AS(pool.map(triple, std::views::iota(0, 100),
                                {.checkpoint = journal.path, .checkpoint_tag = "triple v2"}),
                       doctest::Contains("checkpoint_tag 'triple v2' here, 'triple v1'"),
                       mpp::CheckpointError);
  // Under the same tag, another lambda (this one counts its calls) resumes the journal.
  std::atomic<int> calls{0};
  auto counted = [&](int x) {
    calls.fetch_add(1);
    return 3L * x;
  };
  CHECK(pool.map(counted, std::views::iota(0, 100),
                 {.checkpoint = journal.path, .checkpoint_tag = "triple v1"}) == tripled(100));
  CHECK(calls.load() == 0);
}

TEST_CASE("a journal of an older format is refused with a clear error") {
  TempJournal journal("old-format");
  {
    std::ofstream out(journal.path, std::ios::binary);
    const char header[40] = {'M', 'P', 'P', 'J', 'R', 'N', 'L', '1'};
    out.write(header, sizeof header);
  }
  mpp::Pool pool(2);
  CHECK_THROWS_WITH_AS(
      pool.map([](int x) { return 3L * x; }, std::views::iota(0, 10), {.checkpoint = journal.path}),
      doctest::Contains("format 1"), mpp::CheckpointError);
}

// --- 13. Two writers on one journal -------------------------------------------------------------

TEST_CASE("child: a second process maps onto the same journal" * doctest::skip()) {
  const char* path = std::getenv(child_journal);
  if (path == nullptr) return;
  mpp::Pool pool(1);
  CHECK_THROWS_WITH_AS(pool.map([](int x) { return 3L * x; }, std::views::iota(0, 100),
                                {.chunksize = 1, .checkpoint = path}),
                       doctest::Contains("in use"), mpp::CheckpointError);
}

TEST_CASE("a journal in use is refused to a second writer in another process or in this one") {
  TempJournal journal("two-writers");
  const std::string log = journal.path + ".log";
  mpp::Pool pool(1), other(1);
  std::optional<int> child_status;
  std::atomic<int> calls{0};
  auto triple = [&](int x) {
    if (calls.fetch_add(1) == 10) {
      child_status = run_child("child: a second process maps onto the same journal",
                               {std::string(child_journal) + "=" + journal.path}, log);
      // flock(2) locks belong to an open file description, so a second open in this process
      // is a second writer too.
      CHECK_THROWS_WITH_AS(other.map([](int y) { return 3L * y; }, std::views::iota(0, 100),
                                     {.chunksize = 1, .checkpoint = journal.path}),
                           doctest::Contains("in use"), mpp::CheckpointError);
    }
    return 3L * x;
  };
  CHECK(pool.map(triple, std::views::iota(0, 100), {.chunksize = 1, .checkpoint = journal.path}) ==
        tripled(100));
  const std::string output = read_file(log);
  std::filesystem::remove(log);
  INFO("child's output: ", output);
  REQUIRE(child_status.has_value());
  CHECK(WIFEXITED(*child_status));
  CHECK(WEXITSTATUS(*child_status) == 0);  // its CHECK saw the refusal
  // Nobody else wrote into the journal: a rerun reads back every chunk.
  calls = 0;
  CHECK(pool.map(triple, std::views::iota(0, 100), {.chunksize = 1, .checkpoint = journal.path}) ==
        tripled(100));
  CHECK(calls.load() == 0);
}
