#pragma once
// Slots made of other slots on the root: a task's Python callbacks, and the gathered results of
// a map_async's chunks. Such a slot is made at once; its task runs on the root's local pool once
// its sources finished, and its value is stored encoded, as a task's result is, so that its
// AsyncResult reads it the same way.

#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "mpp/async_result.hpp"
#include "mpp/callbacks.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/transfer.hpp"

namespace mpp::mpi::detail {

// The value a finished, successful slot holds.
template <class T>
T value_of(const TaskSlot& slot) {
  Reader reader(slot.result());
  return reader.template value<T>();
}

// What `compute()` returns, encoded as a slot's result, or the exception it throws.
template <class U, class Compute>
Outcome encoded_outcome(Compute& compute) {
  Outcome outcome;
  try {
    Writer writer(frame_prefix, /*borrow=*/false);
    if constexpr (std::is_void_v<U>) {
      compute();
    } else {
      writer.value(compute());
    }
    outcome.bytes = std::move(writer).take_message();
  } catch (...) {
    outcome.error = std::current_exception();
  }
  return outcome;
}

// `f(value)` for a source of T, or `f()` for void.
template <class F, class T>
decltype(auto) call_with_value(F& f, const TaskSlot& source) {
  if constexpr (std::is_void_v<T>) {
    return std::invoke(f);
  } else {
    const T value = value_of<T>(source);
    return std::invoke(f, value);
  }
}

template <class T, class OnValue>
struct composed_value {
  using type = T;
};
template <class T, class OnValue>
requires(!std::is_same_v<OnValue, NoCallback>) struct composed_value<T, OnValue> {
  using type = std::decay_t<decltype(call_with_value<OnValue, T>(std::declval<OnValue&>(),
                                                                 std::declval<const TaskSlot&>()))>;
};

// The value type of a continuation computing `U`: one that can be stored encoded.
template <class U>
constexpr void require_storable() {
  static_assert(std::is_void_v<U> || mpp::mpi::transferable<U>,
                "mpp::mpi: a continuation of a cluster future stores its value encoded, like a "
                "task's result: the value it returns must be serializable by cereal");
}

// Cancels `sources` that have not started once `next` is cancelled (compose and collect).
inline void cancel_sources_with(ExecutorCore& core, TaskSlot& next,
                                const std::vector<std::shared_ptr<TaskSlot>>& sources) {
  std::vector<std::weak_ptr<TaskSlot>> weak(sources.begin(), sources.end());
  next.when_finished([&core, weak](const std::shared_ptr<TaskSlot>& self) {
    if (self->state != TaskSlot::State::cancelled) return;
    for (const auto& source : weak) {
      if (auto alive = source.lock()) (void)core.cancel(*alive);
    }
  });
}

// mpi4py's compose on the root of `core`: `on_value(value)` or `on_error(exception)` of
// `source`, either NoCallback for "pass it on"; a cancellation always passes on, and so does a
// failure without `on_error`, at once and without running anything. With `cancel_source`,
// cancelling the new slot cancels `source` if it has not started.
template <class T, class OnValue, class OnError>
std::shared_ptr<TaskSlot> compose_slot(ExecutorCore& core, const std::shared_ptr<TaskSlot>& source,
                                       OnValue on_value, OnError on_error, bool cancel_source) {
  using U = typename composed_value<T, OnValue>::type;
  require_storable<U>();
  auto next = core.make_continuation();
  source->when_finished([&core, next, on_value = std::move(on_value),
                         on_error = std::move(on_error)](const std::shared_ptr<TaskSlot>& done) {
    if (next->state != TaskSlot::State::queued) return;  // cancelled already
    if (done->state == TaskSlot::State::cancelled) {
      next->finish(TaskSlot::State::cancelled);
      return;
    }
    std::exception_ptr error = done->ok ? nullptr : core.error_of(*done);
    if constexpr (std::is_same_v<OnError, NoCallback>) {
      if (error) {
        next->fail(error);
        return;
      }
    }
    next->run = [done, error, on_value, on_error]() mutable {
      auto compute = [&]() -> U {
        if constexpr (!std::is_same_v<OnError, NoCallback>) {
          if (error) return std::invoke(on_error, error);
        }
        if constexpr (std::is_same_v<OnValue, NoCallback>) {
          if constexpr (!std::is_void_v<U>) return value_of<U>(*done);
        } else {
          return call_with_value<OnValue, T>(on_value, *done);
        }
      };
      return encoded_outcome<U>(compute);
    };
    core.start_local(next);
  });
  if (cancel_source) cancel_sources_with(core, *next, {source});
  return next;
}

// Python's callbacks of `source`: `on_done.callback(value)` or `on_done.error_callback(error)`
// runs on the root's pool before the returned slot is done (then holding the same value or
// error); cancelling the returned slot cancels `source` if it has not started.
template <class T, class C, class E>
std::shared_ptr<TaskSlot> callback_slot(ExecutorCore& core, std::shared_ptr<TaskSlot> source,
                                        Callbacks<C, E> on_done) {
  auto on_value = [&] {
    if constexpr (std::is_same_v<C, NoCallback>) {
      return NoCallback{};
    } else if constexpr (std::is_void_v<T>) {
      return [callback = std::move(on_done.callback)]() mutable { callback(); };
    } else {
      return [callback = std::move(on_done.callback)](const T& value) mutable -> T {
        callback(value);
        return value;
      };
    }
  }();
  auto on_error = [&] {
    if constexpr (std::is_same_v<E, NoCallback>) {
      return NoCallback{};
    } else {
      return [callback = std::move(on_done.error_callback)](std::exception_ptr e) mutable -> T {
        callback(e);
        std::rethrow_exception(e);
      };
    }
  }();
  return compose_slot<T>(core, std::move(source), std::move(on_value), std::move(on_error), true);
}

// A slot of the values `read(source, values)` appends for each of `sources`, in their order,
// once all succeeded; the first failure or cancellation passes on at once. Cancelling the new
// slot cancels the sources that have not started.
template <class T, class Read>
std::shared_ptr<TaskSlot> join_slot(ExecutorCore& core,
                                    std::vector<std::shared_ptr<TaskSlot>> sources, Read read) {
  require_storable<std::vector<T>>();
  auto next = core.make_continuation();
  const auto launch = [&core, next, sources, read] {
    next->run = [sources, read] {
      auto compute = [&] {
        std::vector<T> values;
        values.reserve(sources.size());
        for (const auto& source : sources) read(*source, values);
        return values;
      };
      return encoded_outcome<std::vector<T>>(compute);
    };
    core.start_local(next);
  };
  if (sources.empty()) {
    launch();
    return next;
  }
  auto remaining = std::make_shared<std::size_t>(sources.size());
  for (const auto& source : sources) {
    source->when_finished([&core, next, remaining, launch](const std::shared_ptr<TaskSlot>& done) {
      if (next->state != TaskSlot::State::queued) return;  // failed or cancelled already
      if (done->state == TaskSlot::State::cancelled) {
        next->finish(TaskSlot::State::cancelled);
      } else if (!done->ok) {
        next->fail(core.error_of(*done));
      } else if (--*remaining == 0) {
        launch();
      }
    });
  }
  cancel_sources_with(core, *next, sources);
  return next;
}

// The results of a map's chunks (each an encoded std::vector<T>), in input order.
template <class T>
std::shared_ptr<TaskSlot> gather_slot(ExecutorCore& core,
                                      std::vector<std::shared_ptr<TaskSlot>> chunks) {
  return join_slot<T>(core, std::move(chunks), [](const TaskSlot& chunk, std::vector<T>& out) {
    decode_all(chunk.result().bytes, out);
  });
}

}  // namespace mpp::mpi::detail
