#include "core/env.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

namespace stb {

namespace {

constexpr std::chrono::milliseconds kSlice{200};

template <typename C>
bool SleepUntilOn(typename C::time_point target, const StopToken& stop) {
  using Duration = typename C::duration;
  while (!stop.stopped()) {
    // Sub-second time, so a scheduled run starts within a slice of its second, not up to a second late.
    const auto now = C::now();
    if (now >= target) return true;
    std::this_thread::sleep_for(std::min<Duration>(target - now, std::chrono::duration_cast<Duration>(kSlice)));
  }
  return false;
}

class PosixEnv final : public Env {
 public:
  // Not time(): glibc may read a coarser clock there, which can still show the previous second
  // after SleepUntil saw the target on system_clock, and a run would then seem to start early.
  double NowSeconds() override {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  time_t Now() override { return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()); }
  double MonotonicSeconds() override {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  bool SleepUntil(double wall_deadline, const StopToken& stop) override {
    using C = std::chrono::system_clock;
    auto target = C::time_point(std::chrono::duration_cast<C::duration>(std::chrono::duration<double>(wall_deadline)));
    return SleepUntilOn<C>(target, stop);
  }
  bool SleepFor(double seconds, const StopToken& stop) override {
    using C = std::chrono::steady_clock;
    auto target =
        C::now() + std::chrono::duration_cast<C::duration>(std::chrono::duration<double>(std::max(0.0, seconds)));
    return SleepUntilOn<C>(target, stop);
  }
};

}  // namespace

Env& Env::Default() {
  static PosixEnv* env = new PosixEnv;  // never destroyed: threads may still use it at exit
  return *env;
}

time_t Env::Now() { return static_cast<time_t>(std::floor(NowSeconds())); }

double NowSeconds() { return Env::Default().NowSeconds(); }

}  // namespace stb
