// Repository locks: locks/<random> objects saying who uses the repository. Backup, restore and
// check share; prune and key removal are exclusive. Held locks are refreshed; a lock whose
// process is gone (same host) or that was not refreshed for 30 minutes is stale and removed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "core/env.h"
#include "repository/repository.h"

namespace stb {

class RepoLock {
 public:
  // Waits up to `wait` for conflicting locks to go away (polling with core/backoff; a stop of
  // ProcessStopToken() ends the wait); the error names who holds them. refresh_every: how often
  // the lock is rewritten (tests shorten it). env: the clock of the wait and of the lock's age; the
  // refresher wakes on its own timer (it must also wake at once when the lock is released).
  static StatusOr<std::unique_ptr<RepoLock>> Acquire(
      Repository& repo, bool exclusive, std::chrono::seconds wait = std::chrono::seconds(60),
      std::chrono::milliseconds refresh_every = std::chrono::seconds(kRefreshSeconds), Env& env = Env::Default());
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  // Ok while the lock is surely still ours: every refresh succeeded, the object is still there
  // (no other process removed it as stale) and it is not close to going stale. Called before a
  // write that is only safe under the lock (a snapshot, prune's deletions): if the lock lapsed,
  // a prune may have run meanwhile and the write could point at deleted data.
  Status Check();

  static constexpr int64_t kStaleSeconds = 30 * 60;
  static constexpr int64_t kRefreshSeconds = 5 * 60;

 private:
  RepoLock(Repository& repo, bool exclusive, Env& env) : repo_(repo), exclusive_(exclusive), env_(env) {}
  Status Write();  // mu_ held, or before the refresher starts
  void RefreshLoop(std::chrono::milliseconds every);

  Repository& repo_;
  bool exclusive_;
  Env& env_;
  std::mutex mu_;
  std::string name_;
  int64_t written_at_ = 0;  // unix seconds of the current lock object
  Status lost_;             // first refresh failure or takeover; sticky
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

// A writer's start: the lock first, then the index, read under it. Loaded the other way round, a
// prune finishing in between would leave the index naming packs that are gone, and the new
// snapshot would reference them. Damaged index objects go to problems when given.
StatusOr<std::unique_ptr<RepoLock>> LockAndLoadIndex(Repository& repo, bool exclusive, std::chrono::seconds wait,
                                                     std::vector<std::string>* problems = nullptr);

}  // namespace stb
