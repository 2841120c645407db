#pragma once
/// @file
/// `mpp::result_handle`: what every asynchronous result of mpp offers, on one node or across
/// ranks.

#include <chrono>
#include <concepts>

namespace mpp {

/// The interface every asynchronous result of mpp shares, Python's `AsyncResult` and
/// `concurrent.futures.Future` in one: `get()`, `get(timeout)`, `wait()`, `wait(timeout)`,
/// `ready()`, `done()`, `successful()`, `cancel()`, `cancelled()` and `valid()`. Both handle
/// types model it: `mpp::AsyncResult<T>` (the local pool, and `mpp::mpi::Pool::map_async`) and
/// `mpp::mpi::Future<T>` (`mpp::mpi::Executor`), so code written against it runs with either.
///
/// ```cpp
/// template <mpp::result_handle H>
/// int failures(std::vector<H>& results) {
///   int n = 0;
///   for (auto& r : results) n += r.successful() ? 0 : 1;  // after waiting for them
///   return n;
/// }
/// ```
template <class H>
concept result_handle = requires(H& h, std::chrono::milliseconds timeout) {
  typename H::value_type;
  h.get();
  h.get(timeout);
  h.wait();
  { h.wait(timeout) } -> std::same_as<bool>;
  { h.ready() } -> std::same_as<bool>;
  { h.done() } -> std::same_as<bool>;
  { h.successful() } -> std::same_as<bool>;
  { h.cancel() } -> std::same_as<bool>;
  { h.cancelled() } -> std::same_as<bool>;
  { h.valid() } -> std::same_as<bool>;
};

}  // namespace mpp
