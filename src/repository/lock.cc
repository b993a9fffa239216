#include "repository/lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "core/backoff.h"
#include "core/file_util.h"
#include "core/stop.h"

namespace stb {

using json = nlohmann::json;

Status RepoLock::Write() {
  int64_t now = static_cast<int64_t>(env_.NowSeconds());
  json doc = {{"host", Hostname()}, {"pid", static_cast<int64_t>(getpid())}, {"exclusive", exclusive_}, {"time", now}};
  std::string name = "locks/" + RandomHex(16);
  RETURN_IF_ERROR(repo_.storage().Put(name, repo_.SealJson(kKindLock, doc), PutMode::kCreateOnly));
  std::string old = name_;
  name_ = name;
  written_at_ = now;
  if (!old.empty()) repo_.storage().Remove(old).IgnoreError();
  return Status::Ok();
}

StatusOr<std::unique_ptr<RepoLock>> RepoLock::Acquire(Repository& repo, bool exclusive, std::chrono::seconds wait,
                                                      std::chrono::milliseconds refresh_every, Env& env) {
  std::unique_ptr<RepoLock> lock(new RepoLock(repo, exclusive, env));
  const double deadline = env.MonotonicSeconds() + static_cast<double>(wait.count());
  // 0.2 to 0.6 s between looks, at random, so that waiting processes do not retry in step.
  Backoff backoff({.base_seconds = 0.6, .max_seconds = 0.6, .min_seconds = 0.2});
  const std::string host = Hostname();
  for (;;) {
    RETURN_IF_ERROR(lock->Write().Context("writing a lock to " + repo.storage().Describe()));
    ASSIGN_OR_RETURN(auto objs, repo.storage().List("locks/"));
    std::string holder;
    int64_t now = static_cast<int64_t>(env.NowSeconds());
    for (const auto& o : objs) {
      if (o.name == lock->name_) continue;
      auto doc = repo.LoadObject(o.name, kKindLock);
      if (!doc.ok()) {
        if (doc.status().code() == Code::kNotFound) continue;  // released meanwhile
        // Its age is unknown, so it never goes stale: it blocks exclusive use until removed by hand.
        if (exclusive)
          holder = o.name + " (unreadable: damaged, or written with another key; remove it if no backup is running)";
        continue;
      }
      const json& d = *doc;
      bool other_excl = d.value("exclusive", true);
      int64_t t = d.value("time", int64_t{0});
      std::string h = d.value("host", "");
      int64_t pid = d.value("pid", int64_t{0});
      bool dead = h == host && pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
      if (dead || now - t > kStaleSeconds) {
        repo.storage().Remove(o.name).IgnoreError();  // stale: its holder can no longer be using it
        continue;
      }
      if (exclusive || other_excl) {
        holder = std::string(other_excl ? "an exclusive" : "a") + " lock held by pid " + std::to_string(pid) + " on " +
                 h + " since " + IsoTimestamp(static_cast<double>(t));
      }
    }
    if (holder.empty()) break;
    repo.storage().Remove(lock->name_).IgnoreError();
    lock->name_.clear();
    if (env.MonotonicSeconds() >= deadline || !env.SleepFor(backoff.Next(), ProcessStopToken())) {
      return Unavailable("the repository at " + repo.storage().Describe() + " is in use: " + holder +
                         "; wait for it to finish (it is removed automatically once its process is gone)");
    }
  }
  lock->refresher_ = std::thread([l = lock.get(), refresh_every] { l->RefreshLoop(refresh_every); });
  return lock;
}

void RepoLock::RefreshLoop(std::chrono::milliseconds every) {
  std::unique_lock<std::mutex> lk(mu_);
  while (!cv_.wait_for(lk, every, [&] { return stop_; })) {
    // Gone means another process found it stale and removed it: someone else may have had the
    // repository since, so writing a fresh lock now would hide that.
    auto present = repo_.storage().Stat(name_);
    if (!present.ok() && present.status().code() == Code::kNotFound) {
      if (lost_.ok())
        lost_ = Unavailable("the lock " + name_ + " was removed by another process (taken over as stale)");
      continue;
    }
    Status st = Write();
    // Kept trying (the old object stays until stale), but the failure is remembered: Check fails.
    if (!st.ok() && lost_.ok()) lost_ = st.Context("refreshing the lock in " + repo_.storage().Describe());
  }
}

Status RepoLock::Check() {
  std::lock_guard<std::mutex> g(mu_);
  if (!lost_.ok()) return lost_;
  auto present = repo_.storage().Stat(name_);
  if (!present.ok()) {
    if (present.status().code() == Code::kNotFound) {
      lost_ = Unavailable("the lock " + name_ + " was removed by another process (taken over as stale)");
      return lost_;
    }
    return present.status().Context("checking the lock in " + repo_.storage().Describe());
  }
  // A margin under the stale age: the next write must not race another process's stale check.
  if (static_cast<int64_t>(env_.NowSeconds()) - written_at_ > kStaleSeconds - kRefreshSeconds) {
    return Unavailable("the lock " + name_ + " was not refreshed for too long and may be taken over");
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<RepoLock>> LockAndLoadIndex(Repository& repo, bool exclusive, std::chrono::seconds wait,
                                                     std::vector<std::string>* problems) {
  ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(repo, exclusive, wait));
  RETURN_IF_ERROR(repo.LoadIndex(problems));
  return lock;
}

RepoLock::~RepoLock() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  if (!name_.empty()) repo_.storage().Remove(name_).IgnoreError();
}

}  // namespace stb
