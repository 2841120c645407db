#pragma once
// What Executor::register_function keeps of a function: the invokers that decode a task's or a
// chunk's arguments, call the function and encode its result or exception, and the key by which
// submit and map find it again.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mpp/detail/policy.hpp"
#include "mpp/mpi/detail/comm.hpp"
#include "mpp/mpi/detail/executor_core.hpp"
#include "mpp/mpi/detail/wire.hpp"
#include "mpp/mpi/transfer.hpp"
#include "mpp/pool.hpp"

namespace mpp::mpi::detail {

// The result and parameter types of a function pointer or a non-generic lambda / functor.
template <class F>
struct callable : callable<decltype(&F::operator())> {};
template <class R, class... A>
struct callable<R (*)(A...)> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
  static constexpr std::size_t arity = sizeof...(A);
};
template <class R, class... A>
struct callable<R (*)(A...) noexcept> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...)> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...) const> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...) noexcept> : callable<R (*)(A...)> {};
template <class R, class C, class... A>
struct callable<R (C::*)(A...) const noexcept> : callable<R (*)(A...)> {};

// The value type of a task of `F`.
template <class F>
using result_t = std::decay_t<typename callable<F>::result>;

// How submit/map find a registered function: its address, or its type for lambdas/functors.
template <class F>
std::string key_of(const F& f) {
  if constexpr (std::is_pointer_v<F>) {
    return "fn:" + std::to_string(reinterpret_cast<std::uintptr_t>(f));
  } else {
    return std::string("type:") + typeid(F).name();
  }
}

// The values of a tuple of type Tuple, read one after the other.
template <class Tuple>
Tuple read_tuple(Reader& reader) {
  Tuple t;
  std::apply([&](auto&... xs) { (reader.value(xs), ...); }, t);
  return t;
}

// The invoker of a chunk of items of type Item: `call(item)` for each, on the rank's local
// pool when the chunk is large enough to share.
template <class Item, class Call>
Invoker chunk_invoker(Call call) {
  return [call](Encoded bytes, std::int64_t first, mpp::Pool& local, bool borrow,
                const mpp::detail::ItemPolicy* policy) {
    using R = std::decay_t<std::invoke_result_t<const Call&, Item&>>;
    Outcome outcome;
    std::vector<Item> items;
    decode_all(bytes.bytes, items);
    FirstFailure failure;
    try {
      std::vector<R> results;
      const auto body = [&](std::size_t i) -> R {
        const auto index = first + static_cast<std::int64_t>(i);
        try {
          if (policy == nullptr) return call(items[i]);
          return mpp::detail::run_item(*policy, static_cast<std::size_t>(index),
                                       [&] { return call(items[i]); });
        } catch (...) {
          failure.record(index, std::current_exception());
          throw;
        }
      };
      if (items.size() >= 2 * static_cast<std::size_t>(local.threads())) {
        results = local.map(body, std::views::iota(std::size_t{0}, items.size()));
      } else {
        results.reserve(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) results.push_back(body(i));
      }
      outcome.bytes = encode_message(std::move(results), frame_prefix, borrow);
    } catch (...) {
      outcome.error = failure.failed() ? failure.error() : std::current_exception();
      outcome.item = failure.item();
    }
    return outcome;
  };
}

// The entry of `f` under `name`: its task invoker, and its chunk invokers where a map can call it
// (one argument: `chunk`; several, or one tuple: `star`).
template <class F>
Entry make_entry(const std::string& name, F f) {
  using Traits = callable<F>;
  using R = typename Traits::result;
  using Args = typename Traits::args;
  Entry entry;
  entry.name = name;
  entry.call = [f](Encoded bytes, std::int64_t item, mpp::Pool&, bool borrow,
                   const mpp::detail::ItemPolicy* policy) {
    Outcome outcome;
    try {
      Reader reader(bytes, /*take=*/true);  // a task reads its arguments once
      Args args = read_tuple<Args>(reader);
      Writer writer(frame_prefix, borrow);
      // With a policy the arguments are passed as lvalues, so that each retry gets them whole.
      const auto once = [&]() -> R {
        return policy != nullptr ? std::apply(f, args) : std::apply(f, std::move(args));
      };
      const auto call = [&]() -> R {
        return policy != nullptr ? mpp::detail::run_item(*policy, std::nullopt, once) : once();
      };
      if constexpr (std::is_void_v<R>) {
        call();
      } else {
        writer.value(call());
      }
      outcome.bytes = std::move(writer).take_message();
    } catch (...) {
      outcome.error = std::current_exception();
      outcome.item = item;
    }
    return outcome;
  };
  if constexpr (!std::is_void_v<R>) {
    if constexpr (Traits::arity == 1) {
      using A = std::tuple_element_t<0, Args>;
      entry.chunk = chunk_invoker<A>([f](A& item) { return f(item); });
    }
    if constexpr (Traits::arity >= 1 && mpp::mpi::transferable<Args>) {
      entry.star = chunk_invoker<Args>([f](Args& item) { return std::apply(f, item); });
    }
  }
  return entry;
}

}  // namespace mpp::mpi::detail
