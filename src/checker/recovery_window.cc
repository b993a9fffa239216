#include "checker/recovery_window.h"

#include <algorithm>
#include <map>

#include "core/parse.h"
#include "wal/recovery_plan.h"

namespace stb {

std::optional<uint64_t> ContiguousWalEnd(const WalTimeline& t, uint64_t from_segno) {
  auto present = [&](uint64_t s) {
    if (t.segments.count(s)) return true;
    auto p = t.parts.find(s);
    return p != t.parts.end() &&
           std::any_of(p->second.begin(), p->second.end(), [](const auto& r) { return r.first == 0; });
  };
  if (!present(from_segno)) return std::nullopt;
  uint64_t s = from_segno;
  // Parts count only for the newest segment: a segment with a complete successor must be whole.
  while (t.segments.count(s) && present(s + 1)) ++s;
  return s;
}

std::vector<RecoveryWindow> RecoveryWindows(const Repository& repo, Storage& from,
                                            const std::vector<SnapshotRef>& snaps, std::vector<std::string>& errors) {
  std::vector<RecoveryWindow> out;
  auto starts = WalStartsOf(snaps, errors);
  std::map<std::string, std::vector<WalBackupStart>> by_cluster;
  for (const auto& b : starts) by_cluster[b.cluster].push_back(b);
  for (const auto& [cluster, backups] : by_cluster) {
    WalStore store(repo, cluster);
    auto listing = store.List(from);
    if (!listing.ok()) {
      errors.push_back("wal/" + cluster + "/: " + listing.status().message());
      continue;
    }
    const uint32_t seg = listing->seg_size;
    if (seg == 0) continue;  // no segment stored: nothing to replay
    // After a failover the window runs on into the newer timelines, as restore --latest does.
    std::map<uint32_t, std::vector<TimelineHistoryEntry>> histories;
    for (uint32_t h : listing->histories) {
      auto obj = store.Read(from, WalName{WalName::kHistory, h});
      auto parsed = obj.ok() ? ParseTimelineHistory(std::string(obj->raw.begin(), obj->raw.end()))
                             : StatusOr<std::vector<TimelineHistoryEntry>>(obj.status());
      if (parsed.ok()) histories[h] = *parsed;  // check names an unreadable one
    }
    std::map<std::pair<uint32_t, uint64_t>, RecoveryWindow> windows;  // (newest tli, last segment)
    for (const auto& b : backups) {
      auto plan = PlanRecovery(*listing, histories, b.tli, b.start_lsn);
      // The backup is consistent only once its own end is replayed.
      if (!plan.ok() || plan->wal_end_lsn < b.end_lsn) continue;
      RecoveryWindow& w = windows[{plan->path.back().tli, plan->last_segno}];
      if (w.backup_ids.empty() || (b.end_time > 0 && b.end_time < w.from_time)) w.from_time = b.end_time;
      if (w.backup_ids.empty()) {
        w.timeline_path = plan->Timelines();
        w.to_lsn = plan->wal_end_lsn;
        uint32_t last_tli = plan->TimelineFor(plan->last_segno);
        auto t = listing->timelines.find(last_tli);
        if (t != listing->timelines.end())
          w.to_time = SegmentWrittenAt(store, from, t->second, last_tli, plan->last_segno, seg);
      }
      w.newest_start_lsn = std::max(w.newest_start_lsn, b.start_lsn);
      w.backup_ids.push_back(b.backup_id);
    }
    for (auto& [key, w] : windows) {
      w.cluster = cluster;
      w.tli = key.first;
      out.push_back(std::move(w));
    }
  }
  return out;
}

nlohmann::json RecoveryWindowsJson(const std::vector<RecoveryWindow>& windows) {
  auto time = [](double t) { return t > 0 ? nlohmann::json(IsoTimestamp(t)) : nlohmann::json(nullptr); };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& w : windows) {
    out.push_back({{"cluster", w.cluster},
                   {"tli", w.tli},
                   {"timeline_path", w.timeline_path},
                   {"from_time", time(w.from_time)},
                   {"to_time", time(w.to_time)},
                   {"to_lsn", FormatLsn(w.to_lsn)},
                   {"seconds", w.from_time > 0 && w.to_time > w.from_time ? w.to_time - w.from_time : 0.0},
                   {"backups", w.backup_ids}});
  }
  return out;
}

}  // namespace stb
