#include "checker/checker.h"

#include "checker/redis_check.h"
#include "checker/references.h"
#include "checker/wal_check.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/file_util.h"
#include "crypto/crypto.h"
#include "repository/pack.h"
#include "repository/snapshots.h"
#include "repository/tree.h"

namespace stb {

using json = nlohmann::json;

namespace {

void CheckPackData(Repository& repo, const Id& pack, const std::vector<std::pair<Id, BlobLocation>>& indexed,
                   std::vector<std::string>& errors) {
  std::string name = PackName(pack);
  auto data = repo.storage().Get(name);
  if (!data.ok()) {
    errors.push_back(name + ": " + data.status().message());
    return;
  }
  if (Sha256(*data) != pack) {
    errors.push_back(name + ": content does not match its name (SHA-256): the pack is damaged");
    // Go on: the blobs below say which backups the damage reaches.
  }
  auto header = ParsePackHeader(repo.aead(), *data);
  if (!header.ok()) errors.push_back(name + ": " + header.status().message());
  Bytes plain, scratch;
  std::unordered_map<Id, const PackEntry*, IdHash> in_header;
  if (header.ok()) {
    for (const auto& e : *header) in_header[e.id] = &e;
  }
  for (const auto& [id, loc] : indexed) {
    if (header.ok()) {
      auto it = in_header.find(id);
      if (it == in_header.end() || it->second->offset != loc.offset || it->second->length != loc.length) {
        errors.push_back(name + ": blob " + id.Hex().substr(0, 16) + " is in the index but not where its header says");
      }
    }
    if (uint64_t(loc.offset) + loc.length > data->size()) {
      errors.push_back(name + ": blob " + id.Hex().substr(0, 16) + " lies past the end of the pack");
      continue;
    }
    Status st = repo.DecodeBlob(id, loc, data->data() + loc.offset, plain, scratch);
    if (!st.ok()) errors.push_back(st.message());
  }
}

}  // namespace

CheckResult CheckRepository(Repository& repo, const CheckOptions& opt, Progress& progress) {
  CheckResult res;
  progress.phase = "check";
  Status st = repo.LoadIndex(&res.errors);
  if (!st.ok()) res.errors.push_back(st.message());

  // Packs present, with their sizes.
  std::unordered_map<Id, uint64_t, IdHash> present;
  auto listed = repo.storage().List("data/");
  if (!listed.ok()) {
    res.errors.push_back("listing data/: " + listed.status().message());
  } else {
    for (const auto& o : *listed) {
      auto id = Id::FromHex(Basename(o.name));
      if (!id || PackName(*id) != o.name) {
        res.warnings.push_back(o.name + ": not a pack name; ignored");
        continue;
      }
      present[*id] = o.size;
    }
  }
  std::unordered_map<Id, std::vector<std::pair<Id, BlobLocation>>, IdHash> by_pack;
  for (const auto& [id, loc] : repo.index()) by_pack[loc.pack].push_back({id, loc});
  for (const auto& [pack, blobs] : by_pack) {
    auto it = present.find(pack);
    if (it == present.end()) {
      res.errors.push_back(PackName(pack) + ": listed in the index but missing");
      continue;
    }
    uint64_t need = 0;
    for (const auto& b : blobs) need = std::max<uint64_t>(need, uint64_t(b.second.offset) + b.second.length);
    if (it->second < need) res.errors.push_back(PackName(pack) + ": shorter than the index says (truncated)");
  }
  uint64_t unreferenced = 0;
  for (const auto& [pack, size] : present) unreferenced += by_pack.count(pack) ? 0 : 1;
  if (unreferenced) {
    res.warnings.push_back(std::to_string(unreferenced) +
                           " pack(s) not in any index (left by an interrupted backup; `prune` removes them)");
  }

  // Snapshots and their trees.
  auto snaps = ListSnapshots(repo, &res.errors);
  size_t trees = 0;
  if (!snaps.ok()) {
    res.errors.push_back(snaps.status().message());
  } else {
    std::unordered_set<Id, IdHash> seen_blobs;
    for (const auto& s : *snaps) {
      ForEachBlobOf(
          repo, s,
          [&](const Id& id, const std::string& comp, const std::string& what) {
            if (what == "tree" || what == "aof tree") ++trees;
            if (!seen_blobs.insert(id).second || repo.index().contains(id)) return;
            res.errors.push_back("backup " + s.backup_id + ", " + comp + ": " + what + " needs blob " +
                                 id.Hex().substr(0, 16) + ", which no index lists");
          },
          res.errors, opt.components ? *opt.components : Components());
    }
  }

  size_t packs_read = 0;
  if (opt.read_data) {
    std::vector<Id> packs;
    for (const auto& [pack, blobs] : by_pack) {
      if (present.count(pack)) packs.push_back(pack);
    }
    if (opt.read_data_percent < 100) {
      std::shuffle(packs.begin(), packs.end(), std::mt19937(std::random_device{}()));
      packs.resize(static_cast<size_t>(std::ceil(static_cast<double>(packs.size()) * opt.read_data_percent / 100)));
    }
    for (const auto& p : packs) progress.bytes_total += present[p];
    progress.files_total += packs.size();
    std::atomic<size_t> next{0};
    std::mutex mu;
    auto worker = [&] {
      for (size_t k; (k = next++) < packs.size();) {
        std::vector<std::string> errs;
        CheckPackData(repo, packs[k], by_pack[packs[k]], errs);
        progress.bytes_done += present[packs[k]];
        progress.files_done++;
        std::lock_guard<std::mutex> g(mu);
        res.errors.insert(res.errors.end(), errs.begin(), errs.end());
      }
    };
    std::vector<std::thread> pool;
    for (int i = 0; i < std::max(1, opt.workers); ++i) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    packs_read = packs.size();
  }
  // WAL (PostgreSQL archiving): only when the location holds some.
  nlohmann::json wal_report;
  auto wal_objects = repo.storage().List("wal/");
  if (!wal_objects.ok() || !wal_objects->empty()) {
    WalCheckOptions wal;
    wal.read_data = opt.read_data;
    if (snaps.ok()) wal.backups = WalStartsOf(*snaps, res.errors);
    CheckWal(repo, repo.storage(), wal, res.errors, res.warnings, wal_report);
  }
  // Redis stream objects: only when the location holds some.
  nlohmann::json redis_report;
  auto redis_objects = repo.storage().List("redis/");
  if (!redis_objects.ok() || !redis_objects->empty()) {
    RedisCheckOptions ro;
    ro.read_data = opt.read_data;
    CheckRedisStream(repo, repo.storage(), ro, res.errors, res.warnings, redis_report);
  }
  res.report = {{"location", repo.storage().Describe()},
                {"snapshots", snaps.ok() ? snaps->size() : 0},
                {"trees", trees},
                {"packs", present.size()},
                {"blobs", repo.index().size()},
                {"packs_read", packs_read},
                {"errors", res.errors},
                {"warnings", res.warnings},
                {"overall_success", res.errors.empty()}};
  if (!wal_report.is_null()) res.report["wal"] = wal_report;
  if (!redis_report.is_null()) res.report["redis_stream"] = redis_report;
  return res;
}

}  // namespace stb
