#include "core/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "core/env.h"

namespace stb {

ProgressPrinter::ProgressPrinter(Progress& p, bool enabled) : p_(p) {
  if (enabled && isatty(STDERR_FILENO)) thread_ = std::thread([this] { Loop(); });
}

ProgressPrinter::~ProgressPrinter() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    std::fprintf(stderr, "\r\033[K");
  }
}

void ProgressPrinter::Loop() {
  const double start = Env::Default().MonotonicSeconds();
  std::unique_lock<std::mutex> lk(mu_);
  while (!cv_.wait_for(lk, std::chrono::milliseconds(250), [&] { return stop_; })) {
    double secs = Env::Default().MonotonicSeconds() - start;
    double done = static_cast<double>(p_.bytes_done.load()), total = static_cast<double>(p_.bytes_total.load());
    double rate = secs > 0 ? done / secs : 0;
    char eta[32] = "?";
    if (rate > 0 && total >= done) std::snprintf(eta, sizeof eta, "%.0fs", (total - done) / rate);
    std::fprintf(stderr, "\r\033[K%s: %llu/%llu files, %.1f/%.1f MiB, %.1f MiB/s, ETA %s", p_.phase.c_str(),
                 static_cast<unsigned long long>(p_.files_done.load()),
                 static_cast<unsigned long long>(p_.files_total.load()), done / 1048576, total / 1048576,
                 rate / 1048576, eta);
    std::fflush(stderr);
  }
}

}  // namespace stb
