// Counters that long operations advance and a reporter thread prints to stderr when it is a
// terminal (files, bytes, MiB/s, ETA).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace stb {

struct Progress {
  std::atomic<uint64_t> files_total{0}, files_done{0}, bytes_total{0}, bytes_done{0};
  std::string phase;  // set before the counters move
};

// Prints a status line about four times a second while alive, if stderr is a terminal.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(Progress& p, bool enabled);
  ~ProgressPrinter();

 private:
  void Loop();
  Progress& p_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace stb
