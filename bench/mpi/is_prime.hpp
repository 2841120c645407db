#pragma once
// The CPU-bound test of the prime benchmarks: trial division, a few microseconds per number.

// Whether n is prime.
inline bool is_prime(long n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (long d = 3; d * d <= n; d += 2) {
    if (n % d == 0) return false;
  }
  return true;
}
