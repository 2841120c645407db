#pragma once
// What a pool must pass before it exists, and gives back when it goes: the process must not be a
// fork of one that ran oneTBB, the thread count must be valid and fit the worker limit that all
// pools share, and MPP_PLACEMENT must parse. Private to src/.

#include "mpp/options.hpp"

namespace mpp::detail {

// Refuses a pool in a forked child, checks the thread count, and reserves the threads (options'
// count, or what the application's oneTBB limit leaves of mpp::available_cpus()). Returns them.
int admit_pool(const PoolOptions& options);

// Whether the pool pins its threads; a bad MPP_PLACEMENT gives back the `threads` admit_pool
// reserved before it throws.
bool admit_placement(const PoolOptions& options, int threads);

// Gives back the threads admit_pool reserved.
void release_pool(int threads);

// How many forks lie between the first process and this one: a pool made in another generation
// belongs to a parent process.
unsigned fork_generation() noexcept;

// Records that this process started oneTBB's scheduler, so that a forked child refuses pools.
void mark_scheduler_started() noexcept;

}  // namespace mpp::detail
