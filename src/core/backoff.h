// The one retry schedule for waits on something outside the process: storage requests, webhooks,
// the repository lock, a Redis loading its data. Exponential, full jitter, a cap, Retry-After honoured.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <random>

namespace stb {

struct BackoffPolicy {
  double base_seconds = 0.5;  // the ceiling of the first wait; doubled per attempt
  double max_seconds = 20;    // no wait is longer; nor a Retry-After unless max_retry_after_seconds says
  double min_seconds = 0;     // no wait is shorter (a poll interval); the jitter lies above it
  bool jitter = true;         // false: the ceiling itself, no randomness
  // The cap on a server's Retry-After; unset: max_seconds.
  std::optional<double> max_retry_after_seconds;
};

// The delay before each retry of one operation. Not thread-safe: one Backoff per operation.
class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy);
  Backoff(BackoffPolicy policy, uint64_t seed);  // a fixed sequence, for tests

  // The wait after failed attempt `attempt` (1 = the first try failed): with jitter uniform in
  // [min, max(min, ceiling)], without it max(min, ceiling), where ceiling = min(max_seconds,
  // base_seconds * 2^(attempt-1)). A retry_after > 0 (a server's hint, in seconds) raises the wait to
  // at least min(retry_after, the Retry-After cap): a server that asks for more than the cap is
  // retried at the cap.
  double Delay(int attempt, double retry_after = 0);
  // Delay() for the next attempt: 1, 2, ... on successive calls.
  double Next(double retry_after = 0) { return Delay(++attempts_, retry_after); }
  int attempts() const { return attempts_; }  // how many delays Next() has handed out

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  int attempts_ = 0;
};

}  // namespace stb
