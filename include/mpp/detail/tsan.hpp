#pragma once
// ThreadSanitizer annotations for the synchronisation oneTBB does inside its (uninstrumented)
// shared library: handing a task to another thread, and a parallel_for's join. Without them
// TSan cannot see these happens-before edges and reports races that cannot happen; with them it
// still reports every race in mpp's own code and in users' tasks. No-ops in other builds.

#if defined(__SANITIZE_THREAD__)
#define MPP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MPP_TSAN 1
#endif
#endif

#ifdef MPP_TSAN
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace mpp::detail {

// Everything this thread did so far happens before what follows a later happens_after(address).
inline void happens_before([[maybe_unused]] void* address) noexcept {
#ifdef MPP_TSAN
  __tsan_release(address);
#endif
}

inline void happens_after([[maybe_unused]] void* address) noexcept {
#ifdef MPP_TSAN
  __tsan_acquire(address);
#endif
}

}  // namespace mpp::detail
