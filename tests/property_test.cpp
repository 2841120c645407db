// A stateful property test of the pool's central promise: whatever sequence of operations a
// program makes (submissions with and without callbacks, maps, imap left early, throwing tasks
// and callbacks, timed waits, nested and cross-pool waits, close, terminate, join), every
// submitted task's result or exception is delivered exactly once, nothing starts after
// terminate() returns, and nothing hangs. RapidCheck generates the sequences and shrinks a
// failing one; it prints the seed and a line to replay it (RC_PARAMS="reproduce=...").

#include <doctest/doctest.h>
#include <rapidcheck.h>
#include <rapidcheck/state.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mpp/mpp.hpp>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

namespace {

using namespace std::chrono_literals;

// What a task's function throws, and what a throwing callback throws: told apart in checks.
struct TaskFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct CallbackFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Model {
  bool open = true;
  bool terminated = false;
};

// One submitted task and everything it reports.
struct Submitted {
  int value = 0;
  bool throws = false;
  bool callback_throws = false;
  bool with_callbacks = false;
  std::atomic<int> runs{0};
  std::atomic<int> callbacks{0};
};

// A submitted task and its result. The result is kept apart from Submitted: the task's function
// and callbacks hold the Submitted, so a result inside it would make a cycle that never frees.
struct Entry {
  std::shared_ptr<Submitted> task;
  mpp::AsyncResult<int> result;
};

struct Sut {
  std::vector<Entry> tasks;
  bool closed = false;
  bool terminated = false;
  std::atomic<bool> terminate_returned{false};
  std::atomic<int> started_after_terminate{0};
  // Last, so that they are destroyed (and finish their tasks) before what the tasks use.
  std::unique_ptr<mpp::Pool> pool = std::make_unique<mpp::Pool>(2);
  mpp::Pool other{1};

  // The body of every task: counts its run, notes a start after terminate() returned.
  auto body(const std::shared_ptr<Submitted>& task) {
    return [this, task](int x) {
      if (terminate_returned.load()) started_after_terminate.fetch_add(1);
      task->runs.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(x % 3 * 100));
      if (task->throws) throw TaskFailure("task " + std::to_string(x));
      return 2 * x;
    };
  }
};

using Command = rc::state::Command<Model, Sut>;

// A command object is kept and run again while RapidCheck shrinks a failing sequence, so each
// run records its task in a fresh Submitted.
struct Submit : Command {
  int value = *rc::gen::inRange(0, 1000);
  bool throws = *rc::gen::weightedElement<bool>({{4, false}, {1, true}});
  bool with_callbacks = *rc::gen::arbitrary<bool>();
  bool callback_throws = with_callbacks && *rc::gen::weightedElement<bool>({{4, false}, {1, true}});

  void run(const Model& model, Sut& sut) const override {
    auto task = std::make_shared<Submitted>();
    task->value = value;
    task->throws = throws;
    task->with_callbacks = with_callbacks;
    task->callback_throws = callback_throws;
    auto submit = [&] {
      if (!task->with_callbacks) return sut.pool->apply_async(sut.body(task), task->value);
      auto count = [task] {
        task->callbacks.fetch_add(1);
        if (task->callback_throws) throw CallbackFailure("callback");
      };
      return sut.pool->apply_async(mpp::callbacks([count](int) { count(); },
                                                  [count](const std::exception_ptr&) { count(); }),
                                   sut.body(task), task->value);
    };
    if (!model.open) {
      RC_ASSERT_THROWS_AS(submit(), mpp::PoolStateError);
      return;
    }
    sut.tasks.push_back({task, submit()});
  }
  void show(std::ostream& os) const override {
    os << "apply_async(" << value << (throws ? ", throws" : "")
       << (with_callbacks ? ", callbacks" : "") << (callback_throws ? " that throw" : "") << ")";
  }
};

struct Map : Command {
  int n = *rc::gen::inRange(0, 200);
  int chunksize = *rc::gen::inRange(1, 20);
  int throw_at = *rc::gen::inRange(-1, 200);
  void checkPreconditions(const Model& model) const override { RC_PRE(model.open); }
  void run(const Model&, Sut& sut) const override {
    const int fail = throw_at;
    auto f = [fail](int x) {
      if (x == fail) throw TaskFailure("item " + std::to_string(x));
      return x + 1;
    };
    if (throw_at >= 0 && throw_at < n) {
      RC_ASSERT_THROWS_AS(sut.pool->map(f, std::views::iota(0, n), {.chunksize = chunksize}),
                          TaskFailure);
      return;
    }
    const auto got = sut.pool->map(f, std::views::iota(0, n), {.chunksize = chunksize});
    RC_ASSERT(got.size() == static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) RC_ASSERT(got[static_cast<std::size_t>(i)] == i + 1);
  }
  void show(std::ostream& os) const override {
    os << "map(" << n << " items, chunksize " << chunksize << ", throws at " << throw_at << ")";
  }
};

struct ImapBreak : Command {
  int n = *rc::gen::inRange(0, 100);
  int stop = *rc::gen::inRange(0, 100);
  void checkPreconditions(const Model& model) const override { RC_PRE(model.open); }
  void run(const Model&, Sut& sut) const override {
    int expected = 0;
    for (int x : sut.pool->imap([](int v) { return v * 3; }, std::views::iota(0, n))) {
      RC_ASSERT(x == 3 * expected);
      if (++expected == stop) break;
    }
    RC_ASSERT(expected == std::min(n, stop == 0 ? n : stop));
  }
  void show(std::ostream& os) const override {
    os << "imap(" << n << " items), leaving after " << stop;
  }
};

struct TimedWait : Command {
  std::size_t pick = *rc::gen::inRange<std::size_t>(0, 1000);
  int millis = *rc::gen::inRange(0, 5);
  void run(const Model&, Sut& sut) const override {
    if (sut.tasks.empty()) return;
    auto& entry = sut.tasks[pick % sut.tasks.size()];
    const auto start = std::chrono::steady_clock::now();
    (void)entry.result.wait(std::chrono::milliseconds(millis));
    // A timed wait returns by its deadline (give the machine 2 s of slack).
    RC_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(millis) + 2s);
  }
  void show(std::ostream& os) const override { os << "wait(" << millis << " ms) on one task"; }
};

struct Nested : Command {
  int value = *rc::gen::inRange(0, 1000);
  void checkPreconditions(const Model& model) const override { RC_PRE(model.open); }
  void run(const Model&, Sut& sut) const override {
    // A task that submits to its own pool and waits: admitted even if the pool closes meanwhile.
    // The wait is untimed, so it may run the awaited task itself; a timed one may not, and with
    // every thread of the pool waiting so, it would time out (as in Python).
    auto task = std::make_shared<Submitted>();
    task->value = value;
    auto inner = sut.body(task);
    auto& pool = *sut.pool;
    sut.tasks.push_back(
        {task, pool.apply_async([&pool, inner](int x) { return pool.apply_async(inner, x).get(); },
                                value)});
  }
  void show(std::ostream& os) const override { os << "nested apply_async(" << value << ")"; }
};

struct CrossPool : Command {
  int value = *rc::gen::inRange(0, 1000);
  void checkPreconditions(const Model& model) const override { RC_PRE(model.open); }
  void run(const Model&, Sut& sut) const override {
    // A task of another pool waits on this pool's task.
    auto inner = std::make_shared<Submitted>();
    inner->value = value;
    sut.tasks.push_back({inner, sut.pool->apply_async(sut.body(inner), value)});
    auto awaited = sut.tasks.back().result;
    auto outer =
        sut.other.apply_async([awaited]() mutable { return awaited.get(mpp_test::patience); });
    RC_ASSERT(outer.get(2 * mpp_test::patience) == 2 * value);
  }
  void show(std::ostream& os) const override { os << "another pool waits on (" << value << ")"; }
};

struct Close : Command {
  void apply(Model& model) const override { model.open = false; }
  void run(const Model&, Sut& sut) const override {
    sut.pool->close();
    sut.closed = true;
  }
  void show(std::ostream& os) const override { os << "close()"; }
};

struct Terminate : Command {
  void apply(Model& model) const override {
    model.open = false;
    model.terminated = true;
  }
  void run(const Model&, Sut& sut) const override {
    sut.pool->terminate();
    sut.closed = sut.terminated = true;
    sut.terminate_returned = true;
  }
  void show(std::ostream& os) const override { os << "terminate()"; }
};

// After a sequence: join, then every task delivered exactly once, as its record says.
void check_deliveries(Sut& sut) {
  if (!sut.terminated) sut.pool->close();
  sut.pool->join();
  RC_ASSERT(sut.started_after_terminate.load() == 0);
  for (auto& [task, result] : sut.tasks) {
    RC_ASSERT(result.wait(mpp_test::patience));
    RC_ASSERT(task->runs.load() <= 1);
    if (task->with_callbacks) RC_ASSERT(task->callbacks.load() == 1);
    try {
      const int got = result.get(0s);
      RC_ASSERT(!task->throws);
      RC_ASSERT(!task->callback_throws);
      RC_ASSERT(got == 2 * task->value);
      RC_ASSERT(task->runs.load() == 1);
    } catch (const mpp::CancelledError&) {
      RC_ASSERT(sut.terminated);
      RC_ASSERT(task->runs.load() == 0);
    } catch (const mpp::PoolStateError&) {
      // A nested task whose inner submission came after terminate().
      RC_ASSERT(sut.terminated);
    } catch (const CallbackFailure&) {
      RC_ASSERT(task->callback_throws);
    } catch (const TaskFailure&) {
      RC_ASSERT(task->throws);
      RC_ASSERT(task->runs.load() == 1);
    }
  }
}

}  // namespace

TEST_CASE("any sequence of pool operations delivers every task's outcome exactly once") {
  const bool ok = rc::check("pool operations", [] {
    Model model;
    Sut sut;
    rc::state::check(model, sut,
                     rc::state::gen::execOneOfWithArgs<Submit, Submit, Map, ImapBreak, TimedWait,
                                                       Nested, CrossPool, Close, Terminate>());
    check_deliveries(sut);
  });
  REQUIRE(ok);
}
