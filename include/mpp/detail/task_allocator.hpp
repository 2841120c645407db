#pragma once
// The allocator of asynchronous tasks.

#include <memory>

#include <oneapi/tbb/tbb_allocator.h>

#include "mpp/detail/tsan.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define MPP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MPP_ASAN 1
#endif
#endif

namespace mpp::detail {

// oneTBB's scalable allocator (tbbmalloc, which libtbb loads): a burst of apply_async allocates
// one task each, and glibc's malloc and free had about 5 % of the samples there. Sanitizer
// builds keep std::allocator, whose memory ASan checks and whose reuse TSan sees.
#if defined(MPP_TSAN) || defined(MPP_ASAN)
template <class T>
using TaskAllocator = std::allocator<T>;
#else
template <class T>
using TaskAllocator = tbb::tbb_allocator<T>;
#endif

}  // namespace mpp::detail
