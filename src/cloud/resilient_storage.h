// What every cloud location gets around its driver, so that no driver carries its own: retries of
// retryable failures with exponential backoff and jitter, and a limit on requests in flight.
#pragma once

#include <memory>

#include "core/env.h"
#include "core/stop.h"
#include "storage/storage.h"

namespace stb {

struct RetryPolicy {
  int attempts = 6;                 // tries in all, >= 1
  double base_delay_seconds = 0.5;  // the ceiling of the first wait; doubled per try ("full jitter")
  double max_delay_seconds = 20;    // no single wait is longer, Retry-After included
  // A location that stays down for this long fails the operation, so a backup moves on without it.
  double max_total_seconds = 90;
  Env* env = nullptr;               // the clock and sleep; nullptr: Env::Default()
  const StopToken* stop = nullptr;  // once stopped, no further retry; nullptr: ProcessStopToken()
};

// Retries kUnavailable (5xx, 429, timeouts, cut connections; a Retry-After hint is honoured) with
// core/backoff and passes every other result through at once. At most parallel_jobs calls run inside inner at a
// time; the rest wait. Failures are logged at warn level with the attempt number.
std::unique_ptr<Storage> WithRetriesAndLimit(std::unique_ptr<Storage> inner, RetryPolicy policy, int parallel_jobs);

}  // namespace stb
