#include "core/backoff.h"

#include <algorithm>
#include <cmath>

namespace stb {

Backoff::Backoff(BackoffPolicy policy) : Backoff(policy, std::random_device{}()) {}

Backoff::Backoff(BackoffPolicy policy, uint64_t seed) : policy_(policy), rng_(seed) {}

double Backoff::Delay(int attempt, double retry_after) {
  // ldexp overflows to infinity rather than wrapping; min() then brings it back to the cap.
  double ceiling = std::min(policy_.max_seconds, std::ldexp(policy_.base_seconds, std::clamp(attempt - 1, 0, 1100)));
  ceiling = std::max(ceiling, policy_.min_seconds);
  double wait = ceiling;
  if (policy_.jitter && ceiling > policy_.min_seconds) {
    wait = std::uniform_real_distribution<double>(policy_.min_seconds, ceiling)(rng_);
  }
  if (retry_after > 0) {
    wait = std::max(wait, std::min(retry_after, policy_.max_retry_after_seconds.value_or(policy_.max_seconds)));
  }
  return wait;
}

}  // namespace stb
