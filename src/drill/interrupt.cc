#include "drill/interrupt.h"

#include <signal.h>

#include <initializer_list>

namespace stb {

namespace {

volatile sig_atomic_t g_signal = 0;
void OnSignal(int sig) { g_signal = sig; }

}  // namespace

void CatchTerminatingSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

int TerminatingSignal() { return g_signal; }

}  // namespace stb
