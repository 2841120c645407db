#pragma once
// Whether cereal can really write and read a type with its binary archives. cereal's own traits
// answer yes for any std::vector<T> (and any other standard container), because its save and
// load are templates for every T; a T it cannot serialize then fails inside cereal, with a
// static_assert that names neither the container nor the call. This looks inside: a range must
// hold serializable values, a pair, tuple or optional serializable members.

#include <cereal/archives/binary.hpp>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mpp::detail {

template <class T>
struct cereal_binary;

// What cereal says of T itself.
template <class T>
inline constexpr bool cereal_says =
    cereal::traits::is_output_serializable<T, cereal::BinaryOutputArchive>::value&&
        cereal::traits::is_input_serializable<T, cereal::BinaryInputArchive>::value;

// Whether the values inside T (a range's elements) are serializable too.
template <class T>
constexpr bool members_serializable() {
  if constexpr (std::ranges::range<T>) {
    using V = std::remove_cv_t<std::ranges::range_value_t<T>>;
    if constexpr (std::is_same_v<V, T>) {  // a range of itself (std::filesystem::path)
      return true;
    } else {
      return cereal_binary<V>::value;
    }
  } else {
    return true;
  }
}

template <class T>
struct cereal_binary : std::bool_constant<cereal_says<T> && members_serializable<T>()> {};
template <class A, class B>
struct cereal_binary<std::pair<A, B>>
    : std::bool_constant<cereal_says<std::pair<A, B>> &&
                         cereal_binary<std::remove_cv_t<A>>::value && cereal_binary<B>::value> {};
template <class... Ts>
struct cereal_binary<std::tuple<Ts...>>
    : std::bool_constant<cereal_says<std::tuple<Ts...>> && (cereal_binary<Ts>::value && ...)> {};
template <class T>
struct cereal_binary<std::optional<T>>
    : std::bool_constant<cereal_says<std::optional<T>> && cereal_binary<T>::value> {};

// A value cereal can write and read back with its binary archives, default constructible.
template <class T>
concept cereal_serializable = std::is_default_constructible_v<T> && cereal_binary<T>::value;

}  // namespace mpp::detail
