// The operating system as the code sees it: the wall clock, a monotonic clock and sleeping. Code that
// measures or waits goes through an Env, so tests pass a fake one (test/harness/fake_env.h) and never sleep.
#pragma once

#include <ctime>

#include "core/stop.h"

namespace stb {

// Thread-safe: one Env serves every thread of the process.
class Env {
 public:
  virtual ~Env() = default;

  // The real clocks and sleep. Never destroyed.
  static Env& Default();

  // Wall-clock time: seconds since the Unix epoch, with sub-second precision.
  virtual double NowSeconds() = 0;
  // Seconds since an arbitrary origin; never goes back. For durations and deadlines.
  virtual double MonotonicSeconds() = 0;
  // Waits until NowSeconds() >= wall_deadline. Returns true then, false as soon as `stop` is set
  // (checked first, so a stopped token returns at once). The real one sleeps in slices of at most
  // 200 ms and re-reads the wall clock after each: a stop set by a signal handler is seen promptly,
  // and a clock stepped by NTP or a resume from suspend is noticed rather than slept through.
  virtual bool SleepUntil(double wall_deadline, const StopToken& stop) = 0;
  // Waits `seconds` of monotonic time (none if <= 0); the result and the slices as SleepUntil.
  virtual bool SleepFor(double seconds, const StopToken& stop) = 0;

  // NowSeconds() in whole seconds, rounded down (cron times, lock ages).
  virtual time_t Now();
};

// Forwards every call to another Env, so a test overrides only what it fakes (as leveldb's EnvWrapper).
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env& target) : target_(target) {}
  double NowSeconds() override { return target_.NowSeconds(); }
  double MonotonicSeconds() override { return target_.MonotonicSeconds(); }
  bool SleepUntil(double wall_deadline, const StopToken& stop) override {
    return target_.SleepUntil(wall_deadline, stop);
  }
  bool SleepFor(double seconds, const StopToken& stop) override { return target_.SleepFor(seconds, stop); }
  time_t Now() override { return target_.Now(); }

 private:
  Env& target_;
};

// Env::Default().NowSeconds(): the wall clock for reports and the repository's timestamps.
double NowSeconds();

}  // namespace stb
