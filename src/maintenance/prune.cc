#include "maintenance/prune.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "checker/references.h"
#include "checker/wal_check.h"
#include "core/file_util.h"
#include "core/log.h"
#include "maintenance/redis_prune.h"
#include "maintenance/wal_prune.h"
#include "repository/pack.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

constexpr size_t kBlobsPerIndexObject = 50000;

struct PackInfo {
  uint64_t size = 0;                              // as stored (0: missing)
  uint64_t used = 0;                              // bytes of blobs kept from this pack
  std::vector<std::pair<Id, BlobLocation>> keep;  // the canonical copies of needed blobs
  bool indexed = false;
};

// WAL below the kept physical backups' starts; the report gains its fields only when there is WAL.
Status PruneWalStep(Repository& repo, const std::vector<SnapshotRef>& snaps, bool dry_run, json& report) {
  auto listed = repo.storage().List("wal/");
  if (listed.ok() && listed->empty()) return Status::Ok();
  std::vector<std::string> problems;
  auto starts = WalStartsOf(snaps, problems);
  if (!problems.empty()) return Corrupt("prune refuses to delete WAL: " + problems.front());
  ASSIGN_OR_RETURN(WalPruneResult w, PruneWal(repo, repo.storage(), starts, dry_run));
  report["wal_objects_deleted"] = w.objects_deleted;
  report["wal_bytes_deleted"] = w.bytes_deleted;
  report["wal_warnings"] = w.warnings;
  for (const auto& m : w.warnings) LogWarn("prune: " + m);
  return Status::Ok();
}

// Redis stream chains no restore at or after the oldest kept Redis backup uses; the report gains
// its fields only when the location holds Redis stream objects.
Status PruneRedisStep(Repository& repo, const std::vector<SnapshotRef>& snaps, bool dry_run, json& report) {
  auto listed = repo.storage().List("redis/");
  if (listed.ok() && listed->empty()) return Status::Ok();
  ASSIGN_OR_RETURN(RedisPruneResult r, PruneRedisStream(repo, repo.storage(), OldestRedisBackupMs(snaps), dry_run));
  json chains = json::array();
  for (const auto& c : r.chains_deleted)
    chains.push_back({{"chain", c.name}, {"objects", c.objects}, {"bytes", c.bytes}});
  report["redis_stream_objects_deleted"] = r.objects_deleted;
  report["redis_stream_bytes_deleted"] = r.bytes_deleted;
  report["redis_stream_chains_deleted"] = chains;
  report["redis_stream_warnings"] = r.warnings;
  for (const auto& m : r.warnings) LogWarn("prune: " + m);
  return Status::Ok();
}

}  // namespace

StatusOr<json> Prune(Repository& repo, const PruneOptions& opt, Progress& progress) {
  progress.phase = "prune: reading the index";
  // Every index object, strictly: a damaged one could hide the only copy of a needed blob.
  ASSIGN_OR_RETURN(auto index_objects, repo.storage().List("index/"));
  std::vector<std::pair<Id, BlobLocation>> all;
  for (const auto& o : index_objects) {
    Status st = repo.ReadIndexObject(o.name, [&](const Id& id, const BlobLocation& loc) { all.emplace_back(id, loc); });
    if (!st.ok()) {
      return Corrupt("prune refuses to run: index " + o.name + " is unreadable (" + st.message() +
                     "); run `check` and repair it first");
    }
  }
  RETURN_IF_ERROR(repo.LoadIndex());

  progress.phase = "prune: finding the data backups use";
  std::vector<std::string> problems;
  ASSIGN_OR_RETURN(auto snaps, ListSnapshots(repo, &problems));
  std::unordered_set<Id, IdHash> used;
  for (const auto& s : snaps) {
    ForEachBlobOf(
        repo, s,
        [&](const Id& id, const std::string& comp, const std::string& what) {
          if (!repo.index().contains(id)) {
            problems.push_back("backup " + s.backup_id + ", " + comp + ": " + what + " needs blob " +
                               id.Hex().substr(0, 16) + ", which no index lists");
          }
          used.insert(id);
        },
        problems);
  }
  if (!problems.empty()) {
    return Corrupt("prune refuses to run: " + problems.front() +
                   (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : "") +
                   "; run `check`");
  }

  ASSIGN_OR_RETURN(auto stored, repo.storage().List("data/"));
  std::unordered_map<Id, PackInfo, IdHash> packs;
  uint64_t bytes_before = 0;
  for (const auto& o : stored) {
    auto id = Id::FromHex(Basename(o.name));
    if (!id) continue;  // not a pack (a temporary upload): leave it
    packs[*id].size = o.size;
    bytes_before += o.size;
  }
  // One copy of each needed blob is kept: the one the loaded index points at.
  for (const auto& [id, loc] : all) {
    PackInfo& p = packs[loc.pack];
    p.indexed = true;
    auto canonical = repo.index().find(id);
    if (used.count(id) && canonical && canonical->pack == loc.pack && canonical->offset == loc.offset) {
      p.keep.emplace_back(id, loc);
      p.used += loc.length;
    }
  }

  std::vector<Id> remove, repack;
  uint64_t unindexed = 0, repack_bytes = 0, blobs_kept = 0;
  for (auto& [id, p] : packs) {
    if (p.size == 0 && !p.keep.empty()) {
      return Corrupt("prune refuses to run: " + PackName(id) + " is missing but holds data backups need; run `check`");
    }
    blobs_kept += p.keep.size();
    if (p.size == 0) continue;  // indexed but gone: its index entries are simply not carried over
    if (!p.indexed) ++unindexed;
    if (p.keep.empty()) {
      remove.push_back(id);
    } else if (100.0 * static_cast<double>(p.size - p.used) / static_cast<double>(p.size) > opt.repack_unused_percent) {
      repack.push_back(id);
      repack_bytes += p.used;
    }
  }
  uint64_t freed = 0;
  for (const auto& id : remove) freed += packs[id].size;
  for (const auto& id : repack) freed += packs[id].size - packs[id].used;
  json report = {{"dry_run", opt.dry_run},          {"snapshots", snaps.size()},
                 {"packs_before", packs.size()},    {"bytes_before", bytes_before},
                 {"packs_deleted", remove.size()},  {"packs_unindexed", unindexed},
                 {"packs_repacked", repack.size()}, {"bytes_repacked", repack_bytes},
                 {"blobs_kept", blobs_kept},        {"blobs_dropped", all.size() - blobs_kept},
                 {"bytes_freed_estimate", freed}};
  if (opt.dry_run) {
    std::vector<SnapshotRef> staying;
    for (const auto& sn : snaps) {
      if (std::find(opt.forgotten.begin(), opt.forgotten.end(), sn.backup_id) == opt.forgotten.end())
        staying.push_back(sn);
    }
    RETURN_IF_ERROR(PruneWalStep(repo, staying, true, report));
    RETURN_IF_ERROR(PruneRedisStep(repo, staying, true, report));
    return report;
  }

  // 1. Copy the used blobs of the packs to repack into new packs (sealed bytes as they are,
  //    each verified first so that damage is not carried along silently).
  progress.phase = "prune: repacking";
  std::vector<std::pair<Id, BlobLocation>> new_index;
  std::unique_ptr<PackBuilder> out;
  auto flush = [&]() -> Status {
    if (!out || out->empty()) return Status::Ok();
    ASSIGN_OR_RETURN(Id pid, out->Finish(repo.aead()));
    RETURN_IF_ERROR(out->Commit(pid));
    for (const auto& e : out->entries()) {
      new_index.emplace_back(e.id, BlobLocation{pid, e.offset, e.length, e.raw_length, e.type});
    }
    out.reset();
    return Status::Ok();
  };
  Bytes plain, scratch;
  for (const auto& pid : repack) {
    ASSIGN_OR_RETURN(Bytes data, repo.storage().Get(PackName(pid)));
    for (const auto& [id, loc] : packs[pid].keep) {
      if (uint64_t(loc.offset) + loc.length > data.size()) return Corrupt(PackName(pid) + " is shorter than its index");
      RETURN_IF_ERROR(repo.DecodeBlob(id, loc, data.data() + loc.offset, plain, scratch));
      if (!out) {
        ASSIGN_OR_RETURN(auto pending, repo.storage().CreatePending());
        out = std::make_unique<PackBuilder>(std::move(pending));
      }
      RETURN_IF_ERROR(out->Add(id, loc.type, data.data() + loc.offset, loc.length, loc.raw_length));
      if (out->size() >= repo.config().pack_size) RETURN_IF_ERROR(flush());
    }
    progress.bytes_done += packs[pid].size;
  }
  RETURN_IF_ERROR(flush());

  // 2. A new index of everything kept, then the old index objects go: a crash in between leaves
  //    duplicates (harmless), never a needed blob without an index entry.
  progress.phase = "prune: writing the index";
  std::unordered_set<Id, IdHash> repacked(repack.begin(), repack.end());
  for (const auto& [id, p] : packs) {
    if (repacked.count(id)) continue;
    new_index.insert(new_index.end(), p.keep.begin(), p.keep.end());
  }
  std::vector<std::string> new_objects;
  for (size_t i = 0; i < new_index.size(); i += kBlobsPerIndexObject) {
    std::vector<std::pair<Id, BlobLocation>> part(
        new_index.begin() + static_cast<ptrdiff_t>(i),
        new_index.begin() + static_cast<ptrdiff_t>(std::min(new_index.size(), i + kBlobsPerIndexObject)));
    ASSIGN_OR_RETURN(std::string name, repo.SaveObject("index", kKindIndex, Repository::IndexToJson(part)));
    new_objects.push_back(name);
  }
  std::unordered_set<std::string> fresh(new_objects.begin(), new_objects.end());
  if (opt.lock) RETURN_IF_ERROR(opt.lock->Check().Context("prune stops before deleting anything"));
  for (const auto& o : index_objects) {
    if (!fresh.count(o.name)) RETURN_IF_ERROR(repo.storage().Remove(o.name));
  }

  // 3. Only now the packs: nothing indexed points at them any more.
  progress.phase = "prune: deleting packs";
  if (opt.lock) RETURN_IF_ERROR(opt.lock->Check().Context("prune stops before deleting packs"));
  uint64_t deleted_bytes = 0;
  for (const auto& list : {remove, repack}) {
    for (const auto& pid : list) {
      RETURN_IF_ERROR(repo.storage().Remove(PackName(pid)));
      deleted_bytes += packs[pid].size;
    }
  }
  uint64_t written = 0;
  for (const auto& [id, loc] : new_index) {
    if (!packs.count(loc.pack)) written += loc.length;
  }
  report["bytes_after"] = bytes_before - deleted_bytes + written;
  report["bytes_freed"] = deleted_bytes - written;
  report["index_objects"] = new_objects.size();
  LogInfo("prune: deleted " + std::to_string(remove.size()) + " packs, repacked " + std::to_string(repack.size()) +
          ", freed " + std::to_string(deleted_bytes - written) + " bytes");
  RETURN_IF_ERROR(repo.LoadIndex());
  RETURN_IF_ERROR(PruneWalStep(repo, snaps, false, report));
  if (opt.lock) RETURN_IF_ERROR(opt.lock->Check().Context("prune stops before deleting Redis stream chains"));
  RETURN_IF_ERROR(PruneRedisStep(repo, snaps, false, report));
  return report;
}

}  // namespace stb
