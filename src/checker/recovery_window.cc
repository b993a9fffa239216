#include "checker/recovery_window.h"

#include <algorithm>
#include <map>

#include "core/parse.h"

namespace stb {

namespace {

// The written time (Unix s) of the newest object of segment segno: the complete segment, else its
// part that ends last; 0 when none can be read.
double WrittenAt(const WalStore& store, Storage& from, const WalTimeline& t, uint32_t tli, uint64_t segno,
                 uint32_t seg_size) {
  if (t.segments.count(segno)) {
    auto o = store.Read(from, SegmentWalName(tli, segno, seg_size));
    if (o.ok()) return static_cast<double>(o->written_ms) / 1000;
  }
  auto parts = t.parts.find(segno);
  if (parts == t.parts.end() || parts->second.empty()) return 0;
  auto last = *std::max_element(parts->second.begin(), parts->second.end(),
                                [](const auto& a, const auto& b) { return a.second < b.second; });
  WalName n = SegmentWalName(tli, segno, seg_size, WalName::kPart);
  n.begin = last.first;
  n.end = last.second;
  auto o = store.Read(from, n);
  return o.ok() ? static_cast<double>(o->written_ms) / 1000 : 0;
}

// The end LSN of the contiguous WAL ending at segment `end`: the whole segment, or up to the
// parts' furthest byte reached from 0.
uint64_t EndLsn(const WalTimeline& t, uint64_t end, uint32_t seg_size) {
  if (t.segments.count(end)) return (end + 1) * uint64_t{seg_size};
  uint32_t reached = 0;
  auto parts = t.parts.find(end);
  if (parts != t.parts.end()) {
    auto ranges = parts->second;
    std::sort(ranges.begin(), ranges.end());
    for (const auto& [b, e] : ranges) {
      if (b <= reached) reached = std::max(reached, e);
    }
  }
  return end * uint64_t{seg_size} + reached;
}

}  // namespace

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
    if (seg == 0) continue;                                           // no segment stored: nothing to replay
    std::map<std::pair<uint32_t, uint64_t>, RecoveryWindow> windows;  // (tli, last segment)
    for (const auto& b : backups) {
      auto t = listing->timelines.find(b.tli);
      if (t == listing->timelines.end()) continue;
      auto end = ContiguousWalEnd(t->second, b.start_lsn / seg);
      // The backup is consistent only once its own end is replayed.
      if (!end || EndLsn(t->second, *end, seg) < b.end_lsn) continue;
      RecoveryWindow& w = windows[{b.tli, *end}];
      if (w.backup_ids.empty() || (b.end_time > 0 && b.end_time < w.from_time)) w.from_time = b.end_time;
      w.backup_ids.push_back(b.backup_id);
    }
    for (auto& [key, w] : windows) {
      w.cluster = cluster;
      w.tli = key.first;
      const WalTimeline& t = listing->timelines.at(key.first);
      w.to_lsn = EndLsn(t, key.second, seg);
      w.to_time = WrittenAt(store, from, t, key.first, key.second, seg);
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
                   {"from_time", time(w.from_time)},
                   {"to_time", time(w.to_time)},
                   {"to_lsn", FormatLsn(w.to_lsn)},
                   {"seconds", w.from_time > 0 && w.to_time > w.from_time ? w.to_time - w.from_time : 0.0},
                   {"backups", w.backup_ids}});
  }
  return out;
}

}  // namespace stb
