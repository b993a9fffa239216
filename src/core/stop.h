// One stop request for the whole process: SIGTERM and SIGINT (and any signal a command adds) set it,
// and every long wait or loop checks it, so a daemon or a drill stops between steps, not mid-write.
#pragma once

#include <atomic>
#include <csignal>
#include <initializer_list>

namespace stb {

// Thread-safe, and async-signal-safe to set: Stop() only stores lock-free atomics. Waits that must
// end on a stop poll it (Env::SleepUntil and SleepFor do, in slices), since a signal handler cannot
// notify a condition variable.
class StopToken {
 public:
  StopToken() = default;
  StopToken(const StopToken&) = delete;
  StopToken& operator=(const StopToken&) = delete;

  bool stopped() const { return stopped_.load(); }
  // The signal that stopped it; 0 if none did (not stopped, or stopped by a call).
  int signal() const { return signal_.load(); }
  void Stop(int sig = 0);
  // Clears a stop; for tests.
  void Reset();

 private:
  static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);
  std::atomic<bool> stopped_{false};
  std::atomic<int> signal_{0};
};

// The token StopOnSignals sets; never set in a process that did not call it.
StopToken& ProcessStopToken();

// A token nothing stops: for waits that must run to their end even after a stop (cleanup, a child
// that was sent SIGTERM and is waited for).
const StopToken& NeverStop();

// From now on each of `signals` stops ProcessStopToken() and then calls on_signal(sig) if given
// (it runs in the signal handler: only async-signal-safe calls, such as kill(2) of a child).
// No SA_RESTART: a blocked read or wait returns EINTR, so its caller notices the stop.
void StopOnSignals(std::initializer_list<int> signals = {SIGTERM, SIGINT}, void (*on_signal)(int) = nullptr);

}  // namespace stb
