#pragma once
/// @file
/// `mpp::result_handle`: what every asynchronous result of mpp offers, on one node or across
/// ranks.

#include <chrono>
#include <concepts>

namespace mpp {

/// The interface every asynchronous result of mpp has, Python's `AsyncResult` and
/// `concurrent.futures.Future` in one: `get()`, `get(timeout)`, `wait()`, `wait(timeout)`,
/// `ready()`, `done()`, `successful()`, `cancel()`, `cancelled()` and `valid()`. mpp has one
/// handle type, `mpp::AsyncResult<T>` (the local pool's, `mpp::mpi::Pool::map_async`'s and
/// `mpp::mpi::Executor`'s, whose `mpp::mpi::Future<T>` is the same type); the concept states its
/// verbs for generic code and for handle types a program adds.
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
