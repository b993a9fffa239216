#include "maintenance/wal_prune.h"

#include <limits>

#include "core/log.h"

namespace stb {

StatusOr<WalPruneResult> PruneWal(const Repository& repo, Storage& where, const std::vector<WalBackupStart>& kept,
                                  bool dry_run) {
  WalPruneResult r;
  ASSIGN_OR_RETURN(auto clusters, WalStore::ListClusters(where));
  for (const auto& c : clusters) {
    WalStore store(repo, c);
    ASSIGN_OR_RETURN(WalListing l, store.List(where));
    uint64_t cutoff = std::numeric_limits<uint64_t>::max();
    for (const auto& b : kept) {
      if (b.cluster == c) cutoff = std::min(cutoff, b.start_lsn);
    }
    if (cutoff == std::numeric_limits<uint64_t>::max()) {
      r.warnings.push_back("wal/" + c + "/: no physical backup of this cluster is kept; all " +
                           std::to_string(l.objects.size()) + " WAL objects are kept");
      continue;
    }
    if (l.seg_size == 0) continue;
    for (const auto& [name, size] : l.objects) {
      auto n = ParseWalObjectName(name, nullptr);
      if (!n.ok() || n->kind == WalName::kHistory) continue;
      uint64_t segno = n->Segno(l.seg_size);
      bool below = (segno + 1) * l.seg_size <= cutoff;
      bool superseded = n->kind == WalName::kPart && l.timelines[n->tli].segments.count(segno);
      if (!below && !superseded) continue;
      if (!dry_run) RETURN_IF_ERROR(where.Remove(name));
      r.objects_deleted++;
      r.bytes_deleted += size;
    }
    if (!dry_run && r.objects_deleted) {
      LogInfo("prune: deleted " + std::to_string(r.objects_deleted) + " WAL objects of cluster " + c + " below " +
              FormatLsn(cutoff));
    }
  }
  return r;
}

}  // namespace stb
