#pragma once
/// @file
/// `mpp::callbacks`: Python's `callback` and `error_callback` for the `*_async` calls.

#include <utility>

namespace mpp {

/// Python's `callback` and `error_callback` for the `*_async` calls; build it with
/// `mpp::callbacks`. The callback runs on the worker that finished the task, before the result
/// becomes ready, so once `get()` returns the callback has run; it should return quickly.
/// If a callback throws, that exception is what `get()` rethrows. Callbacks may submit more work
/// to the pool and wait for other results; they must not wait for their own result.
template <class Callback, class ErrorCallback>
struct Callbacks {
  /// Called with the result (`const T&`, or nothing for `void` tasks) when the task succeeded.
  Callback callback;
  /// Called with the `std::exception_ptr` of the failure when the task threw or was cancelled.
  ErrorCallback error_callback;
};

/// No callback: the default of the `*_async` calls.
struct NoCallback {};

/// Python's `callback=` / `error_callback=`:
///
/// ```cpp
/// auto r = pool.apply_async(mpp::callbacks([](int v) { log(v); },
///                                          [](std::exception_ptr) { log("failed"); }),
///                           square, 7);
/// ```
template <class Callback, class ErrorCallback = NoCallback>
Callbacks<Callback, ErrorCallback> callbacks(Callback callback, ErrorCallback error_callback = {}) {
  return {std::move(callback), std::move(error_callback)};
}

}  // namespace mpp
