#pragma once
// The condition `mpp::wait` waits for, shared by the local results' wait and the cluster's.

#include <cstddef>

#include "mpp/wait.hpp"

namespace mpp::detail {

// Whether `until` holds when `ready` of `total` results are ready, `failed` telling whether one
// of them failed (an exception or a cancellation).
bool wait_satisfied(wait_for until, std::size_t ready, std::size_t total, bool failed) noexcept;

}  // namespace mpp::detail
