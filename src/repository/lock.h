// Repository locks: locks/<random> objects saying who uses the repository. Backup, restore and
// check share; prune and key removal are exclusive. Held locks are refreshed; a lock whose
// process is gone (same host) or that was not refreshed for 30 minutes is stale and removed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "repository/repository.h"

namespace stb {

class RepoLock {
 public:
  // Waits up to `wait` for conflicting locks to go away; the error names who holds them.
  static StatusOr<std::unique_ptr<RepoLock>> Acquire(Repository& repo, bool exclusive,
                                                     std::chrono::seconds wait = std::chrono::seconds(60));
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  static constexpr int64_t kStaleSeconds = 30 * 60;
  static constexpr int64_t kRefreshSeconds = 5 * 60;

 private:
  RepoLock(Repository& repo, bool exclusive) : repo_(repo), exclusive_(exclusive) {}
  Status Write();
  void RefreshLoop();

  Repository& repo_;
  bool exclusive_;
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

}  // namespace stb
