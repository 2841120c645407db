#pragma once
/// @file
/// The one place mpp's version is written; CMake reads it from here.

/// mpp's major version: incompatible API changes.
#define MPP_VERSION_MAJOR 0
/// mpp's minor version: additions.
#define MPP_VERSION_MINOR 1
/// mpp's patch version: fixes.
#define MPP_VERSION_PATCH 0

namespace mpp {
/// mpp's version as "major.minor.patch".
inline constexpr const char* version = "0.1.0";
}  // namespace mpp
