#include "repository/lock.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <random>

#include "core/file_util.h"

namespace stb {

using json = nlohmann::json;

Status RepoLock::Write() {
  int64_t now = static_cast<int64_t>(NowSeconds());
  json doc = {{"host", Hostname()}, {"pid", static_cast<int64_t>(getpid())}, {"exclusive", exclusive_}, {"time", now}};
  std::string name = "locks/" + RandomHex(16);
  RETURN_IF_ERROR(repo_.storage().Put(name, repo_.SealJson(kKindLock, doc), PutMode::kCreateOnly));
  std::string old = name_;
  name_ = name;
  if (!old.empty()) repo_.storage().Remove(old).IgnoreError();
  return Status::Ok();
}

StatusOr<std::unique_ptr<RepoLock>> RepoLock::Acquire(Repository& repo, bool exclusive, std::chrono::seconds wait) {
  std::unique_ptr<RepoLock> lock(new RepoLock(repo, exclusive));
  auto deadline = std::chrono::steady_clock::now() + wait;
  std::mt19937 rng(std::random_device{}());
  const std::string host = Hostname();
  for (;;) {
    RETURN_IF_ERROR(lock->Write().Context("writing a lock to " + repo.storage().Describe()));
    ASSIGN_OR_RETURN(auto objs, repo.storage().List("locks/"));
    std::string holder;
    int64_t now = static_cast<int64_t>(NowSeconds());
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
    if (std::chrono::steady_clock::now() >= deadline) {
      return Unavailable("the repository at " + repo.storage().Describe() + " is in use: " + holder +
                         "; wait for it to finish (it is removed automatically once its process is gone)");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 400));
  }
  lock->refresher_ = std::thread([l = lock.get()] { l->RefreshLoop(); });
  return lock;
}

void RepoLock::RefreshLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!cv_.wait_for(lk, std::chrono::seconds(kRefreshSeconds), [&] { return stop_; })) {
    Write().IgnoreError();  // a failed refresh leaves the previous lock in place until it is stale
  }
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
