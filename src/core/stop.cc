#include "core/stop.h"

#include <signal.h>

namespace stb {

namespace {

// constinit: no initialisation guard for a signal handler to run into.
constinit StopToken g_process_stop;
// Written before the handlers are installed and only read by them.
constinit std::atomic<void (*)(int)> g_on_signal{nullptr};

void OnStopSignal(int sig) {
  ProcessStopToken().Stop(sig);
  if (auto f = g_on_signal.load()) f(sig);
}

}  // namespace

void StopToken::Stop(int sig) {
  if (sig != 0) signal_.store(sig);
  stopped_.store(true);
}

void StopToken::Reset() {
  stopped_.store(false);
  signal_.store(0);
}

StopToken& ProcessStopToken() { return g_process_stop; }

const StopToken& NeverStop() {
  static const StopToken never;
  return never;
}

void StopOnSignals(std::initializer_list<int> signals, void (*on_signal)(int)) {
  g_on_signal.store(on_signal);
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : signals) ::sigaction(sig, &sa, nullptr);
}

}  // namespace stb
