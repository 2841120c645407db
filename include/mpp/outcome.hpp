#pragma once
/// @file
/// `mpp::Outcome<T>`: a value or the exception that stopped it, one per item of a map that keeps
/// going past failures (`pool.map(mpp::on_error::collect, f, xs)`). A small `std::expected<T,
/// std::exception_ptr>`, since the standard library mpp supports (GCC 12) has no `std::expected`.

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace mpp {

/// The error of a failed `Outcome`, as `std::unexpected` is for `std::expected`:
/// `mpp::Outcome<int> o = mpp::Failure{std::current_exception()};`.
struct Failure {
  /// What the call threw; never null in an `Outcome`.
  std::exception_ptr error;
};

/// One item's outcome: its value, or the exception its call threw (with its type intact).
///
/// ```cpp
/// for (const mpp::Outcome<double>& o : pool.map(mpp::on_error::collect, simulate, inputs)) {
///   if (o) use(*o);
///   else log(o.error());          // or: o.value() rethrows it
/// }
/// ```
///
/// Like `std::expected`, `*o` on an error and `error()` on a value are checked here: `*o` rethrows
/// and `error()` returns a null pointer. Not thread-safe beyond what `T` is: read it from many
/// threads, write it from one.
template <class T>
class Outcome {
  static_assert(!std::is_reference_v<T> && !std::is_void_v<T>,
                "mpp::Outcome holds values: map results are never references or void");

 public:
  /// The type of the value.
  using value_type = T;

  /// An outcome holding `value`.
  Outcome(const T& value) : state_(std::in_place_index<0>, value) {}  // NOLINT: implicit on purpose
  /// An outcome holding `value`, moved in.
  Outcome(T&& value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: as above
  /// An outcome holding the error `failure.error`, which must not be null.
  Outcome(Failure failure) noexcept : state_(std::in_place_index<1>, std::move(failure.error)) {}

  /// True when the call returned a value.
  bool has_value() const noexcept { return state_.index() == 0; }
  /// `has_value()`: `if (outcome) use(*outcome);`.
  explicit operator bool() const noexcept { return has_value(); }

  /// The value; rethrows the call's exception when there is none.
  T& value() & {
    check();
    return *std::get_if<0>(&state_);
  }
  /// The value; rethrows the call's exception when there is none.
  const T& value() const& {
    check();
    return *std::get_if<0>(&state_);
  }
  /// The value, moved out; rethrows the call's exception when there is none.
  T&& value() && {
    check();
    return std::move(*std::get_if<0>(&state_));
  }
  /// As `value()`.
  T& operator*() & { return value(); }
  /// As `value()`.
  const T& operator*() const& { return value(); }
  /// As `value()`.
  T&& operator*() && { return std::move(*this).value(); }
  /// A member of the value; rethrows as `value()` does.
  T* operator->() { return &value(); }
  /// A member of the value; rethrows as `value()` does.
  const T* operator->() const { return &value(); }

  /// The value, or `fallback` when the call failed.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? *std::get_if<0>(&state_) : static_cast<T>(std::forward<U>(fallback));
  }

  /// What the call threw, or a null pointer when it returned a value. Rethrow it with
  /// `std::rethrow_exception` to inspect its type.
  std::exception_ptr error() const noexcept {
    const auto* error = std::get_if<1>(&state_);
    return error != nullptr ? *error : nullptr;
  }

 private:
  void check() const {
    if (const auto* error = std::get_if<1>(&state_)) std::rethrow_exception(*error);
  }

  std::variant<T, std::exception_ptr> state_;
};

/// Tags that choose what a map does when a call throws. They are arguments rather than a field
/// of `MapOptions` because they change the type of the result: a collecting map returns
/// `std::vector<mpp::Outcome<R>>`, a collecting `imap` yields `mpp::Outcome<R>`.
namespace on_error {
/// The type of `mpp::on_error::collect`.
struct collect_t {
  explicit collect_t() = default;
};
/// Keep going: every item runs, and each result is an `mpp::Outcome` holding its value or its
/// exception, in input order. Without the tag (the default, Python's behaviour, "raise"), the
/// first exception stops the map and is rethrown.
///
/// ```cpp
/// std::vector<mpp::Outcome<double>> out = pool.map(mpp::on_error::collect, simulate, inputs);
/// for (auto o : pool.imap(mpp::on_error::collect, simulate, inputs)) ...
/// ```
inline constexpr collect_t collect{};
}  // namespace on_error

}  // namespace mpp
