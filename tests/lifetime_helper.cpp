// A small program the lifecycle tests run in a child process, for the ends of a pool's life that
// would kill the test binary itself if they went wrong: a pool alive when the program exits, and
// a pool whose last owner is one of its own tasks. It prints what ran to stdout and exits 0 when
// everything it expected happened.
//
//     mpp_lifetime_helper unique-ptr     a global std::unique_ptr<Pool> with queued work at exit
//     mpp_lifetime_helper static-pool    a function-local static Pool with queued work at exit
//     mpp_lifetime_helper drop-in-task   the last shared_ptr<Pool> is dropped inside a task

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mpp/mpp.hpp>
#include <thread>

using namespace std::chrono_literals;

namespace {

constexpr int queued_tasks = 100;
std::atomic<int> ran{0};  // trivially destructible: still readable while statics die

// Constructed before the pools below and so destroyed after them: prints how many of the tasks
// queued at exit had run by the time the pool was gone.
struct ReportAtExit {
  bool armed = false;
  ~ReportAtExit() {
    if (!armed) return;
    std::printf("ran %d of %d\n", ran.load(), queued_tasks);
    std::fflush(stdout);
  }
} report;

std::unique_ptr<mpp::Pool> global_pool;

void queue_work(mpp::Pool& pool) {
  for (int i = 0; i < queued_tasks; ++i) {
    (void)pool.apply_async([] {  // the handle is dropped at once; the task stays queued
      std::this_thread::sleep_for(1ms);
      ++ran;
    });
  }
}

// The last shared_ptr to the pool is dropped inside one of its tasks, with more tasks queued
// behind it. Exits 0 once all tasks ran and the pool's core was freed.
int drop_in_task() {
  auto pool = std::make_shared<mpp::Pool>(2);
  std::atomic<bool> go{false};
  (void)pool->apply_async([&go, owner = pool]() mutable {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!go.load() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    owner.reset();  // the last owner: the pool is destroyed here, on its own worker
    ++ran;
  });
  queue_work(*pool);
  std::weak_ptr<mpp::Pool> watch = pool;
  pool.reset();
  go.store(true);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((ran.load() < queued_tasks + 1 || mpp::detail::PoolCore::live() != 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  std::printf("ran %d of %d, pool %s, %zu pool cores alive\n", ran.load(), queued_tasks + 1,
              watch.expired() ? "destroyed" : "alive", mpp::detail::PoolCore::live());
  return ran.load() == queued_tasks + 1 && watch.expired() && mpp::detail::PoolCore::live() == 0
             ? 0
             : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (std::strcmp(mode, "drop-in-task") == 0) return drop_in_task();
  report.armed = true;
  if (std::strcmp(mode, "unique-ptr") == 0) {
    global_pool = std::make_unique<mpp::Pool>(2);
    queue_work(*global_pool);
    return 0;  // the global's destructor runs the queued work during exit
  }
  if (std::strcmp(mode, "static-pool") == 0) {
    static mpp::Pool pool(2);
    queue_work(pool);
    return 0;
  }
  std::fprintf(stderr, "usage: %s unique-ptr|static-pool|drop-in-task\n", argv[0]);
  return 2;
}
