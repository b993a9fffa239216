#include "replication/replicate.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/env.h"
#include "core/log.h"
#include "crypto/crypto.h"

namespace stb {

namespace {

// The copy order: a reader of the target never finds a name whose content is not there yet.
// config comes after keys so that a target is only openable once a key exists.
// WAL comes before the snapshots whose base backups need it.
const std::vector<std::string> kFolders = {"keys/", "ids/", "data/", "index/", "wal/", "snapshots/"};

bool NamedByHash(const std::string& name) {
  return name.starts_with("data/") || name.starts_with("index/") || name.starts_with("snapshots/");
}

std::string Basename(const std::string& name) { return name.substr(name.rfind('/') + 1); }

StatusOr<std::set<std::string>> Names(Storage& s, const std::string& folder) {
  ASSIGN_OR_RETURN(auto objs, s.List(folder));
  std::set<std::string> out;
  for (auto& o : objs) out.insert(std::move(o.name));
  return out;
}

class Copier {
 public:
  Copier(Storage& from, Storage& to, const ReplicateOptions& o, ReplicateStats& stats)
      : from_(from), to_(to), o_(o), stats_(stats) {}

  Status CopyOne(const std::string& name) {
    ASSIGN_OR_RETURN(Bytes b, from_.Get(name));
    if (NamedByHash(name) && Sha256(b).Hex() != Basename(name)) {
      return Corrupt(name + " in " + from_.Describe() +
                     " does not match its hash: not copied (run `check --read-data` on that location)");
    }
    // config and keys are plaintext JSON with no hash in their name: a read cut short must not
    // leave the copy with half a config or half a key.
    if ((name == "config" || name.starts_with("keys/")) && !nlohmann::json::accept(AsString(b))) {
      return Corrupt(name + " read from " + from_.Describe() + " is not valid JSON: not copied");
    }
    RETURN_IF_ERROR(to_.Put(name, b, PutMode::kReplace));
    std::lock_guard lk(mu_);
    stats_.objects_copied++;
    stats_.bytes_copied += b.size();
    return Status::Ok();
  }

  // Runs fn over names on o_.jobs threads; stops at the first failure.
  template <typename F>
  Status ForEach(const std::vector<std::string>& names, F fn) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    Status first;
    std::mutex err_mu;
    auto worker = [&] {
      while (!failed) {
        if (o_.stop != nullptr && o_.stop->stopped()) {
          std::lock_guard lk(err_mu);
          if (!failed.exchange(true)) first = Unavailable("replication stopped");
          return;
        }
        size_t i = next++;
        if (i >= names.size()) return;
        Status st = fn(names[i]);
        if (!st.ok()) {
          std::lock_guard lk(err_mu);
          if (!failed.exchange(true)) first = st;
        }
      }
    };
    size_t n = std::min<size_t>(std::max(1, o_.jobs), names.size());
    std::vector<std::thread> threads;
    for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
    if (n > 0) worker();
    for (auto& t : threads) t.join();
    return first;
  }

 private:
  Storage& from_;
  Storage& to_;
  const ReplicateOptions& o_;
  ReplicateStats& stats_;
  std::mutex mu_;
};

// Both sides' config: copied when the target has none; different configs are two repositories.
StatusOr<bool> CheckConfigs(Storage& from, Storage& to) {
  auto src = from.Get("config");
  if (!src.ok() && src.status().code() == Code::kNotFound) {
    return NotFound("no repository in " + from.Describe() + " (no config): nothing to replicate");
  }
  if (!src.ok()) return src.status();
  auto dst = to.Get("config");
  if (dst.ok()) {
    if (*dst != *src) {
      return InvalidArgument(to.Describe() + " holds another repository than " + from.Describe() +
                             " (their configs differ): refusing to mix them; point the location at an empty prefix");
    }
    return true;
  }
  if (dst.status().code() != Code::kNotFound) return dst.status();
  return false;
}

}  // namespace

ReplicateOptions AutomaticCopyOptions(int jobs) { return {.jobs = jobs, .mirror_deletions = false}; }

StatusOr<ReplicateStats> Replicate(Storage& from, Storage& to, const ReplicateOptions& o) {
  const double start = Env::Default().MonotonicSeconds();
  ReplicateStats stats;
  ASSIGN_OR_RETURN(bool target_has_config, CheckConfigs(from, to));
  Copier copier(from, to, o, stats);

  std::vector<std::set<std::string>> source(kFolders.size()), target(kFolders.size());
  // Listed snapshots first, packs last: a backup running on the source meanwhile writes packs,
  // then its index, then its snapshot, so every snapshot listed here has its index and packs
  // already written and in the later listings. Listed the other way round, a snapshot could be
  // copied without the packs it needs.
  for (size_t f = kFolders.size(); f-- > 0;) {
    ASSIGN_OR_RETURN(source[f], Names(from, kFolders[f]));
    ASSIGN_OR_RETURN(target[f], Names(to, kFolders[f]));
  }
  for (size_t f = 0; f < kFolders.size(); ++f) {
    std::vector<std::string> missing;
    for (const auto& n : source[f]) {
      if (target[f].count(n)) {
        stats.objects_present++;
      } else {
        missing.push_back(n);
      }
    }
    if (!missing.empty()) {
      LogInfo("replicating " + std::to_string(missing.size()) + " objects of " + kFolders[f] + " from " +
              from.Describe() + " to " + to.Describe());
    }
    RETURN_IF_ERROR(copier.ForEach(missing, [&](const std::string& n) { return copier.CopyOne(n); }));
    if (kFolders[f] == "keys/" && !target_has_config) {
      RETURN_IF_ERROR(copier.CopyOne("config"));
    }
  }

  if (o.mirror_deletions) {
    // A source that lost its data (a wiped disk with a config restored) must not empty the copy.
    size_t data = 2, snaps = 5;
    if ((source[data].empty() && !target[data].empty()) || (source[snaps].empty() && !target[snaps].empty())) {
      return InvalidArgument(from.Describe() + " has no packs or no snapshots while " + to.Describe() +
                             " has some: not deleting anything there (repair the source with `replicate --from` "
                             "the copy first)");
    }
    // Fewer snapshots in the source is what a rollback or a partial restore looks like; a copy's
    // own retention is `prune` at that location. Only a deliberate --force mirrors it.
    if (source[snaps].size() < target[snaps].size() && !o.force) {
      return InvalidArgument(from.Describe() + " holds " + std::to_string(source[snaps].size()) +
                             " snapshot objects, fewer than the " + std::to_string(target[snaps].size()) + " of " +
                             to.Describe() + ": not deleting anything there (apply retention with `forget --prune` " +
                             "at that location, or add --force if the source is right)");
    }
    std::mutex mu;
    for (size_t f = kFolders.size(); f-- > 0;) {  // snapshots first, packs after the index
      std::vector<std::string> extra;
      for (const auto& n : target[f]) {
        if (!source[f].count(n)) extra.push_back(n);
      }
      RETURN_IF_ERROR(copier.ForEach(extra, [&](const std::string& n) {
        RETURN_IF_ERROR(to.Remove(n));
        std::lock_guard lk(mu);
        stats.objects_deleted++;
        return Status::Ok();
      }));
    }
  }
  stats.seconds = Env::Default().MonotonicSeconds() - start;
  return stats;
}

}  // namespace stb
