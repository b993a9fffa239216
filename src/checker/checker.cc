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
  // The index grouped by pack without a copy of it: 4-byte positions into the index, sorted by
  // pack (a copy of the entries grouped by pack cost ~100 bytes a blob, most of check's memory).
  const BlobIndex& index = repo.index();
  std::unordered_map<Id, std::pair<uint32_t, uint64_t>, IdHash> by_pack;  // pack -> (ordinal, end needed)
  std::vector<Id> pack_ids;
  std::vector<uint32_t> ordinal_of;  // by index position
  ordinal_of.reserve(index.size());
  for (const auto& [id, loc] : index) {
    auto [it, fresh] = by_pack.try_emplace(loc.pack, static_cast<uint32_t>(pack_ids.size()), 0);
    if (fresh) pack_ids.push_back(loc.pack);
    it->second.second = std::max<uint64_t>(it->second.second, uint64_t(loc.offset) + loc.length);
    ordinal_of.push_back(it->second.first);
  }
  std::vector<uint32_t> positions(index.size());
  for (uint32_t i = 0; i < positions.size(); ++i) positions[i] = i;
  std::stable_sort(positions.begin(), positions.end(),
                   [&](uint32_t a, uint32_t b) { return ordinal_of[a] < ordinal_of[b]; });
  std::vector<size_t> first_of(pack_ids.size() + 1, positions.size());  // pack ordinal -> its first position
  for (size_t i = positions.size(); i-- > 0;) first_of[ordinal_of[positions[i]]] = i;
  ordinal_of = {};
  auto blobs_of = [&](uint32_t ordinal) {
    std::vector<std::pair<Id, BlobLocation>> out;
    size_t end = ordinal + 1 < pack_ids.size() ? first_of[ordinal + 1] : positions.size();
    for (size_t i = first_of[ordinal]; i < end; ++i) out.push_back(index.EntryAt(positions[i]));
    return out;
  };
  for (const auto& [pack, info] : by_pack) {
    auto it = present.find(pack);
    if (it == present.end()) {
      res.errors.push_back(PackName(pack) + ": listed in the index but missing");
      continue;
    }
    if (it->second < info.second) res.errors.push_back(PackName(pack) + ": shorter than the index says (truncated)");
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
    // Only missing blobs are remembered (to name each once): a set of every blob seen cost ~60
    // bytes a blob, and an index lookup is as cheap as a set's.
    std::unordered_set<Id, IdHash> missing;
    for (const auto& s : *snaps) {
      ForEachBlobOf(
          repo, s,
          [&](const Id& id, const std::string& comp, const std::string& what) {
            if (what == "tree" || what == "aof tree") ++trees;
            if (repo.index().contains(id) || !missing.insert(id).second) return;
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
        CheckPackData(repo, packs[k], blobs_of(by_pack.at(packs[k]).first), errs);
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
