#pragma once
/// @file
/// Which values can cross ranks, and how: `mpp::mpi::transferable<T>`.

#include <cereal/archives/binary.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <type_traits>
#include <vector>

#include "mpp/detail/serializable.hpp"

namespace mpp::mpi {

/// A value sent as its bytes, without serialization or copies: trivially copyable, default
/// constructible, and not `bool` (whose `std::vector` packs bits). Contiguous ranges of such
/// values go to MPI straight from their storage, and so does a `std::vector` of them passed to
/// or returned by a task (cereal could not serialize one without a `serialize` function).
///
/// ```cpp
/// struct Point { double x, y; };
/// static_assert(mpp::mpi::bytes_transferable<Point>);
/// ```
template <class T>
concept bytes_transferable = std::is_trivially_copyable_v<T> &&
    std::is_default_constructible_v<T> && !std::is_same_v<std::remove_cv_t<T>, bool>;

/// @cond MPP_INTERNAL
namespace detail {
template <class T>
struct is_bytes_vector : std::false_type {};
template <class U>
struct is_bytes_vector<std::vector<U>> : std::bool_constant<bytes_transferable<U>> {};
}  // namespace detail
/// @endcond

/// A `std::vector` of `bytes_transferable` values, sent as a count and their bytes (a large one
/// straight from its storage), though cereal could not serialize it without a `serialize`
/// function for the values.
///
/// ```cpp
/// std::vector<Point> shifted(std::vector<Point> ps);  // can be an Executor task
/// ```
template <class T>
concept bytes_vector = detail::is_bytes_vector<T>::value;

/// A value sent through cereal's binary archive: a type with a `serialize` (or `save`/`load`)
/// member or free function, or a standard type whose `cereal/types/*.hpp` header is included
/// (`mpp/mpi/transfer.hpp` includes those of string, vector, array, list, deque, map, set,
/// unordered_map, unordered_set, pair, tuple, optional, variant and complex).
///
/// ```cpp
/// struct Particle {
///   std::string name; std::vector<double> x;
///   template <class Archive> void serialize(Archive& ar) { ar(name, x); }
/// };
/// ```
template <class T>
concept cereal_transferable = mpp::detail::cereal_serializable<T>;

/// A value that can cross ranks as an input or a result of `mpp::mpi::Pool` and
/// `mpp::mpi::Executor`: bytes when possible, else cereal. Using a type that is neither fails to
/// compile with an error naming `mpp::mpi::detail::type_cannot_cross_ranks<YourType>`.
template <class T>
concept transferable = bytes_transferable<T> || cereal_transferable<T> || bytes_vector<T>;

}  // namespace mpp::mpi
