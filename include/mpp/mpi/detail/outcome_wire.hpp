#pragma once
// One item's outcome of a collecting mpi::Pool::map as it crosses ranks: its value, or its
// failure as an encoded ErrorRecord; on the rank that ran the item, also the exception itself.

#include <cereal/cereal.hpp>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mpp/detail/policy.hpp"
#include "mpp/mpi/errors.hpp"
#include "mpp/mpi/transfer.hpp"
#include "mpp/options.hpp"
#include "mpp/outcome.hpp"

namespace mpp::mpi::detail {

template <class R>
struct WireOutcome {
  std::optional<R> value;
  std::string error;         // the encoded ErrorRecord, when `value` is empty
  std::exception_ptr local;  // not sent: the exception, on the rank that caught it

  template <class Archive>
  void serialize(Archive& ar) {
    bool ok = value.has_value();
    ar(ok);
    if (!ok) {
      ar(error);
      return;
    }
    if (!value) value.emplace();
    if constexpr (cereal_transferable<R>) {
      ar(*value);
    } else {
      ar(cereal::binary_data(&*value, sizeof(R)));  // trivially copyable: its bytes
    }
  }
};

// The exception a remote item's record stands for: RemoteError naming the item.
inline std::exception_ptr remote_failure(const std::string& bytes, std::size_t item) {
  ErrorRecord record = decode_error(bytes.data(), bytes.size());
  record.item = static_cast<std::int64_t>(item);
  try {
    throw_remote(record);
  } catch (...) {
    return std::current_exception();
  }
}

// The outcomes in input order: a value, the item's own exception where this rank ran it, or
// RemoteError where another rank did.
template <class R>
std::vector<mpp::Outcome<R>> outcomes_of(std::vector<WireOutcome<R>>&& wire) {
  std::vector<mpp::Outcome<R>> out;
  out.reserve(wire.size());
  for (std::size_t i = 0; i < wire.size(); ++i) {
    WireOutcome<R>& w = wire[i];
    if (w.value) {
      out.emplace_back(std::move(*w.value));
    } else {
      out.emplace_back(mpp::Failure{w.local ? w.local : remote_failure(w.error, i)});
    }
  }
  return out;
}

// The call a collecting map or imap maps instead of `call`: it applies `policy` (retries,
// deadline) to `call` and turns an exception into the item's error outcome, naming rank `me`
// on `where`. It owns what it uses, as a stream may outlive the pool's call.
template <class R, class Call>
auto collecting(Call call, mpp::detail::ItemPolicy policy, int me, std::string where) {
  return [call = std::move(call), policy = std::move(policy), me,
          where = std::move(where)](auto&& item) mutable -> WireOutcome<R> {
    try {
      return {
          mpp::detail::run_item(policy, std::nullopt, [&]() -> R { return call(item); }), {}, {}};
    } catch (...) {
      const std::exception_ptr error = std::current_exception();
      return {std::nullopt, detail::encode(detail::describe(error, me, where, -1)), error};
    }
  };
}

// `options` without the item policy, which the collecting call applies itself (only once).
inline MapOptions without_policy(MapOptions options) {
  options.retries = 0;
  options.retry_if = {};
  options.backoff = {};
  options.task_timeout.reset();
  return options;
}

}  // namespace mpp::mpi::detail
