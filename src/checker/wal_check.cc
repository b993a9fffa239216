#include "checker/wal_check.h"

#include <algorithm>

#include "core/parse.h"

namespace stb {

namespace {

std::string When(int64_t ms) {
  return ms > 0 ? IsoTimestamp(static_cast<double>(ms) / 1000 + 5e-7) : "an unknown time";
}

// The written time of a complete segment, 0 when it cannot be read (that error is reported by
// --read-data, not here).
int64_t WrittenMs(const WalStore& store, Storage& from, uint32_t tli, uint64_t segno, uint32_t seg_size) {
  auto o = store.Read(from, SegmentWalName(tli, segno, seg_size));
  return o.ok() ? o->written_ms : 0;
}

void CheckCluster(const Repository& repo, Storage& from, const std::string& cluster, const WalCheckOptions& o,
                  std::vector<std::string>& errors, std::vector<std::string>& warnings, nlohmann::json& report) {
  WalStore store(repo, cluster);
  auto listing = store.List(from);
  if (!listing.ok()) {
    errors.push_back("wal/" + cluster + "/: " + listing.status().message());
    return;
  }
  const uint32_t seg = listing->seg_size;
  for (const auto& u : listing->unknown) warnings.push_back(u + ": not a WAL object name; ignored");
  for (const auto& [tli, t] : listing->timelines) {
    std::optional<uint64_t> from_segno;
    for (const auto& b : o.backups) {
      if (b.cluster == cluster && b.tli == tli && seg) {
        uint64_t s = b.start_lsn / seg;
        from_segno = from_segno ? std::min(*from_segno, s) : s;
      }
    }
    auto gaps = FindWalGaps(t, from_segno);
    for (const auto& g : gaps) {
      int64_t before = g.first > 0 ? WrittenMs(store, from, tli, g.first - 1, seg) : 0;
      int64_t after = WrittenMs(store, from, tli, g.last + 1, seg);
      std::string gap = DescribeWalGap(cluster, tli, g, seg, before, after);
      // Wholly before every kept base backup's start (WAL wal-receive lost, healed by a newer
      // base backup): no restore needs it.
      if (from_segno && g.last < *from_segno) {
        warnings.push_back(gap + " (before every kept base backup: no restore needs it)");
      } else {
        errors.push_back(gap);
      }
    }
    if (tli > 1 && !listing->histories.count(tli)) {
      warnings.push_back("wal/" + cluster + ": timeline " + std::to_string(tli) +
                         " has no history file: recovery cannot follow it from its parent timeline");
    }
    uint64_t first = t.segments.empty() ? 0 : t.segments.begin()->first;
    uint64_t last = t.segments.empty() ? 0 : t.segments.rbegin()->first;
    size_t parts = 0;
    for (const auto& [s, p] : t.parts) parts += p.size();
    report["timelines"].push_back({{"cluster", cluster},
                                   {"tli", tli},
                                   {"segments", t.segments.size()},
                                   {"parts", parts},
                                   {"first", t.segments.empty() ? "" : SegmentFileName(tli, first, seg)},
                                   {"last", t.segments.empty() ? "" : SegmentFileName(tli, last, seg)},
                                   {"gaps", gaps.size()}});
    report["segments"] = report.value("segments", 0) + t.segments.size();
    report["parts"] = report.value("parts", 0) + parts;
    report["gaps"] = report.value("gaps", 0) + gaps.size();
  }
  for (const auto& b : o.backups) {
    if (b.cluster == cluster && !listing->timelines.count(b.tli)) {
      errors.push_back("wal/" + cluster + ": backup " + b.backup_id + " needs WAL from " + FormatLsn(b.start_lsn) +
                       " on timeline " + std::to_string(b.tli) + ", and none is stored");
    }
  }
  report["histories"] = report.value("histories", 0) + listing->histories.size();
  for (uint32_t h : listing->histories) {
    auto obj = store.Read(from, WalName{WalName::kHistory, h});
    auto parsed = obj.ok() ? ParseTimelineHistory(std::string(obj->raw.begin(), obj->raw.end()))
                           : StatusOr<std::vector<TimelineHistoryEntry>>(obj.status());
    if (!parsed.ok())
      errors.push_back(WalObjectName(cluster, WalName{WalName::kHistory, h}) + ": " + parsed.status().message());
  }
  if (!o.read_data) return;
  size_t read = 0;
  for (const auto& [name, size] : listing->objects) {
    if (std::find(listing->unknown.begin(), listing->unknown.end(), name) != listing->unknown.end()) continue;
    auto obj = store.ReadObject(from, name);
    if (!obj.ok()) errors.push_back(obj.status().message());
    ++read;
  }
  report["objects_read"] = report.value("objects_read", 0) + read;
}

}  // namespace

std::vector<WalGap> FindWalGaps(const WalTimeline& t, std::optional<uint64_t> from_segno) {
  std::set<uint64_t> present;
  for (const auto& [s, size] : t.segments) present.insert(s);
  uint64_t newest = present.empty() ? 0 : *present.rbegin();
  if (!t.parts.empty() && (present.empty() || t.parts.rbegin()->first > newest)) {
    const auto& [s, ranges] = *t.parts.rbegin();
    bool from_zero = std::any_of(ranges.begin(), ranges.end(), [](const auto& r) { return r.first == 0; });
    if (from_zero) present.insert(s);
  }
  std::vector<WalGap> gaps;
  if (present.empty()) return gaps;
  uint64_t lo = *present.begin();
  if (from_segno && *from_segno < lo) {
    gaps.push_back({*from_segno, lo - 1});
  }
  uint64_t prev = lo;
  for (uint64_t s : present) {
    if (s > prev + 1) gaps.push_back({prev + 1, s - 1});
    prev = s;
  }
  return gaps;
}

std::string DescribeWalGap(const std::string& cluster, uint32_t tli, const WalGap& g, uint32_t seg_size,
                           int64_t before_ms, int64_t after_ms) {
  std::string names = SegmentFileName(tli, g.first, seg_size);
  uint64_t n = g.last - g.first + 1;
  if (n > 1) names += ".." + SegmentFileName(tli, g.last, seg_size) + " (" + std::to_string(n) + " segments)";
  uint64_t from = g.first * seg_size, to = (g.last + 1) * seg_size;
  return "wal: " + names + " missing (cluster " + cluster + ", timeline " + std::to_string(tli) + ", " +
         FormatLsn(from) + "-" + FormatLsn(to) + "): WAL written between " + When(before_ms) + " and " +
         When(after_ms) + " cannot be replayed; recovery from an earlier backup stops at " + FormatLsn(from);
}

std::vector<WalBackupStart> WalStartsOf(const std::vector<SnapshotRef>& snaps, std::vector<std::string>& errors) {
  std::vector<WalBackupStart> out;
  for (const auto& s : snaps) {
    auto comps = s.doc.find("components");
    if (comps == s.doc.end() || !comps->is_object()) continue;
    for (const auto& [name, e] : comps->items()) {
      if (!e.is_object() || e.value("kind", "") != "postgresql-physical") continue;
      // A backup that carries its own WAL (wal_source "included", taken while nothing archived)
      // restores on its own and promises no point after its end: it needs nothing of the store.
      if (e.value("wal_source", "") == "included") continue;
      WalBackupStart b;
      b.backup_id = s.backup_id;
      b.cluster = e.value("wal_cluster", "");
      auto tli = JsonUint(e.value("start_tli", nlohmann::json()), 0xFFFFFFFFu, "start_tli");
      auto lsn = ParseLsn(e.value("start_lsn", ""));
      if (!tli.ok() || !lsn.ok() || b.cluster.empty()) {
        errors.push_back("backup " + s.backup_id + ", " + name + ": unreadable WAL start (" +
                         (!tli.ok()   ? tli.status().message()
                          : !lsn.ok() ? lsn.status().message()
                                      : "no wal_cluster") +
                         ")");
        continue;
      }
      b.tli = static_cast<uint32_t>(*tli);
      b.start_lsn = *lsn;
      auto end = ParseLsn(e.value("end_lsn", ""));
      if (end.ok()) b.end_lsn = *end;
      auto end_time = e.find("end_time_unix");
      if (end_time != e.end() && end_time->is_number()) b.end_time = end_time->get<double>();
      out.push_back(b);
    }
  }
  return out;
}

void CheckWal(const Repository& repo, Storage& from, const WalCheckOptions& o, std::vector<std::string>& errors,
              std::vector<std::string>& warnings, nlohmann::json& report) {
  report = nlohmann::json::object();
  report["timelines"] = nlohmann::json::array();
  auto clusters = WalStore::ListClusters(from);
  if (!clusters.ok()) {
    errors.push_back("listing wal/: " + clusters.status().message());
    return;
  }
  report["clusters"] = clusters->size();
  for (const auto& c : *clusters) CheckCluster(repo, from, c, o, errors, warnings, report);
}

}  // namespace stb
