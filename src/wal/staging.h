// The staging directory between a restore and PostgreSQL's restore_command: the restore
// prefetches WAL from the repository into it (WalStager), and `wal-fetch --staging DIR %f %p`
// (FetchStaged) only moves files out of it, so the server's account needs no key or repository.
// A name is answered by DIR/<f> (the file), DIR/<f>.missing or DIR/<f>.error (a message); a
// client that has waited 100 ms writes DIR/<f>.want for names the stager did not foresee.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "repository/repository.h"
#include "storage/storage.h"
#include "wal/recovery_plan.h"

namespace stb {

// Ok: dest holds the file. kNotFound: the stager said missing (restore_command exits 1). Any
// other error: the stager reported one, or nothing answered within timeout_seconds (exit 255).
Status FetchStaged(const std::string& dir, const std::string& file, const std::string& dest,
                   double timeout_seconds = 600);

struct StagerOptions {
  std::string dir;  // exists, writable by us and the server's account
  uint64_t system_id = 0;
  RecoveryPlan plan;
  int prefetch = 8;                              // WAL_FETCH_PREFETCH: segments kept ready ahead of the server
  int jobs = 4;                                  // repository reads at once
  double retry_seconds = 60;                     // WAL_FETCH_RETRY_SECONDS
  std::optional<std::pair<uid_t, gid_t>> owner;  // chown served files (we run as root)
};

class WalStager {
 public:
  WalStager(const Repository& repo, Storage& from, StagerOptions o);
  ~WalStager();
  void Start();
  void Stop();
  // The first .error written, if any (the restore names it when the server stops).
  std::string FirstError() const;
  uint64_t segments_served() const { return served_; }

 private:
  void Control();
  void Work();
  void Serve(const std::string& name);
  void Enqueue(const std::string& name);

  const Repository& repo_;
  Storage& from_;
  StagerOptions o_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> served_{0};
  mutable std::mutex mu_;
  std::deque<std::string> queue_;
  std::set<std::string> scheduled_;    // every name queued or answered
  std::set<std::string> outstanding_;  // segment files written and not yet taken
  std::set<std::string> serving_;      // being fetched by a worker now
  std::string first_error_;
  bool restaged_last_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace stb
