// An Env for tests: time stands still until the code sleeps (it jumps to the wake-up time) or the
// test moves it on, so schedules, retries, lock waits and timeouts are tested without sleeping.
#pragma once

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>
#include <vector>

#include "core/env.h"

namespace stb::testing {

// Thread-safe. The wall and monotonic clocks move together.
class FakeEnv : public Env {
 public:
  explicit FakeEnv(double wall_start = 1767225600, double monotonic_start = 1000)  // 2026-01-01 UTC
      : wall_(wall_start), mono_(monotonic_start) {}

  double NowSeconds() override {
    std::lock_guard l(mu_);
    return wall_;
  }
  time_t Now() override { return static_cast<time_t>(std::floor(NowSeconds())); }
  double MonotonicSeconds() override {
    std::lock_guard l(mu_);
    return mono_;
  }
  bool SleepUntil(double wall_deadline, const StopToken& stop) override {
    std::lock_guard l(mu_);
    return SleepLocked(wall_deadline - wall_, stop);
  }
  bool SleepFor(double seconds, const StopToken& stop) override {
    std::lock_guard l(mu_);
    return SleepLocked(seconds, stop);
  }

  // Moves both clocks on, as work that takes this long would.
  void Advance(double seconds) {
    std::lock_guard l(mu_);
    wall_ += seconds;
    mono_ += seconds;
  }
  // A sleep that would wake after wall time `t` instead moves time to `t` (not back), stops `token`
  // and returns false, as a SIGTERM arriving at `t` would.
  void StopAt(double t, StopToken& token) {
    std::lock_guard l(mu_);
    stop_at_ = t;
    stop_token_ = &token;
  }
  // Every sleep asked for, in seconds (0 for a sleep that returned at once), in order.
  std::vector<double> sleeps() const {
    std::lock_guard l(mu_);
    return sleeps_;
  }
  double slept() const {
    std::lock_guard l(mu_);
    double sum = 0;
    for (double s : sleeps_) sum += s;
    return sum;
  }

 private:
  bool SleepLocked(double seconds, const StopToken& stop) {
    seconds = std::max(0.0, seconds);
    if (stop.stopped()) {
      sleeps_.push_back(0);
      return false;
    }
    if (stop_token_ != nullptr && wall_ + seconds > stop_at_) {
      double step = std::max(0.0, stop_at_ - wall_);
      sleeps_.push_back(step);
      wall_ += step;
      mono_ += step;
      stop_token_->Stop();
      return false;
    }
    sleeps_.push_back(seconds);
    wall_ += seconds;
    mono_ += seconds;
    return true;
  }

  mutable std::mutex mu_;
  double wall_, mono_;
  double stop_at_ = 0;
  StopToken* stop_token_ = nullptr;
  std::vector<double> sleeps_;
};

}  // namespace stb::testing
