#include "wal/recovery_plan.h"

#include <algorithm>

#include "repository/repository.h"

namespace stb {

uint32_t RecoveryPlan::TimelineFor(uint64_t segno) const {
  uint32_t tli = path.empty() ? 0 : path.front().tli;
  for (const auto& s : path) {
    if (s.begin_lsn / seg_size <= segno) tli = s.tli;
  }
  return tli;
}

uint32_t RecoveryPlan::TimelineAt(uint64_t lsn) const {
  for (const auto& s : path) {
    if (s.end_lsn == 0 || lsn < s.end_lsn) return s.tli;
  }
  return path.empty() ? 0 : path.back().tli;
}

std::vector<uint32_t> RecoveryPlan::Timelines() const {
  std::vector<uint32_t> out;
  for (const auto& s : path) out.push_back(s.tli);
  return out;
}

namespace {

// The contiguous prefix the parts of one segment hold from offset 0 (0 when none).
uint64_t PrefixEnd(const std::vector<std::pair<uint32_t, uint32_t>>& parts) {
  uint64_t end = 0;
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& [b, e] : parts) {
      if (b <= end && e > end) {
        end = e;
        grew = true;
      }
    }
  }
  return end;
}

StatusOr<std::vector<TimelineStep>> PathOf(const std::map<uint32_t, std::vector<TimelineHistoryEntry>>& histories,
                                           uint32_t start_tli, uint64_t start_lsn) {
  uint32_t newest = start_tli;
  while (histories.count(newest + 1)) ++newest;
  std::vector<TimelineStep> path;
  uint64_t begin = start_lsn;
  if (newest != start_tli) {
    bool found = false;
    for (const auto& e : histories.at(newest)) {
      if (e.tli == start_tli) found = true;
      if (!found) continue;
      if (e.switch_lsn < begin) {
        return InvalidArgument("timeline " + std::to_string(newest) + " branched off timeline " +
                               std::to_string(e.tli) + " at " + FormatLsn(e.switch_lsn) +
                               ", before the backup's start " + FormatLsn(start_lsn));
      }
      path.push_back({e.tli, begin, e.switch_lsn});
      begin = e.switch_lsn;
    }
    if (!found) {
      return InvalidArgument("timeline " + std::to_string(newest) +
                             " (the newest in the repository) does not descend from the backup's timeline " +
                             std::to_string(start_tli));
    }
  }
  path.push_back({newest, begin, 0});
  return path;
}

}  // namespace

StatusOr<RecoveryPlan> PlanRecovery(const WalListing& listing,
                                    const std::map<uint32_t, std::vector<TimelineHistoryEntry>>& histories,
                                    uint32_t start_tli, uint64_t start_lsn) {
  RecoveryPlan plan;
  plan.seg_size = listing.seg_size;
  if (plan.seg_size == 0) return NotFound("no WAL segment of this cluster is in the repository");
  ASSIGN_OR_RETURN(plan.path, PathOf(histories, start_tli, start_lsn));
  auto stored = [&](uint32_t tli, uint64_t segno) -> uint64_t {  // bytes from offset 0
    auto t = listing.timelines.find(tli);
    if (t == listing.timelines.end()) return 0;
    if (t->second.segments.count(segno)) return plan.seg_size;
    auto p = t->second.parts.find(segno);
    return p == t->second.parts.end() ? 0 : PrefixEnd(p->second);
  };
  // The newest segment stored anywhere on the path decides whether a hole is a gap or the end.
  uint64_t newest = 0;
  for (const auto& s : plan.path) {
    auto t = listing.timelines.find(s.tli);
    if (t == listing.timelines.end()) continue;
    uint64_t lo = s.begin_lsn / plan.seg_size, hi = s.end_lsn == 0 ? UINT64_MAX : s.end_lsn / plan.seg_size;
    for (const auto& [segno, size] : t->second.segments) {
      if (segno >= lo && segno <= hi) newest = std::max(newest, segno);
    }
    for (const auto& [segno, parts] : t->second.parts) {
      if (segno >= lo && segno <= hi) newest = std::max(newest, segno);
    }
  }
  uint64_t segno = start_lsn / plan.seg_size;
  if (stored(plan.TimelineFor(segno), segno) == 0) {
    return NotFound("the backup's first WAL segment " + SegmentFileName(plan.TimelineFor(segno), segno, plan.seg_size) +
                    " is not in the repository: nothing can be replayed");
  }
  for (;; ++segno) {
    uint64_t have = stored(plan.TimelineFor(segno), segno);
    if (have == plan.seg_size) continue;
    plan.wal_end_lsn = segno * plan.seg_size + have;
    plan.last_segno = have > 0 ? segno : segno - 1;
    if (segno < newest) {
      uint64_t last = segno;
      while (last + 1 < newest && stored(plan.TimelineFor(last + 1), last + 1) < plan.seg_size) ++last;
      uint32_t tli = plan.TimelineFor(segno);
      plan.gap = "WAL gap: " + SegmentFileName(tli, segno, plan.seg_size) +
                 (last != segno ? " to " + SegmentFileName(plan.TimelineFor(last), last, plan.seg_size) : "") +
                 " missing (" + FormatLsn(plan.wal_end_lsn) + "-" + FormatLsn((last + 1) * plan.seg_size) +
                 ") with later WAL stored: recovery cannot go past " + FormatLsn(plan.wal_end_lsn);
    }
    break;
  }
  return plan;
}

double SegmentWrittenAt(const WalStore& store, Storage& from, const WalTimeline& t, uint32_t tli, uint64_t segno,
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

double NewestWalWrittenAt(const WalStore& store, Storage& from, const WalListing& listing, const RecoveryPlan& plan) {
  uint32_t tli = plan.TimelineFor(plan.last_segno);
  auto t = listing.timelines.find(tli);
  if (t == listing.timelines.end()) return 0;
  return SegmentWrittenAt(store, from, t->second, tli, plan.last_segno, plan.seg_size);
}

Status CheckTargetTime(const RecoveryPlan& plan, double target_unix, double newest_written_unix) {
  if (newest_written_unix <= 0 || target_unix <= newest_written_unix) return Status::Ok();
  return InvalidArgument("--target-time " + IsoTimestamp(target_unix) +
                         " UTC is after the newest WAL in the repository (stored " + IsoTimestamp(newest_written_unix) +
                         " UTC, ending at " + FormatLsn(plan.wal_end_lsn) + " on timeline " +
                         std::to_string(plan.TimelineFor(plan.last_segno)) + (plan.gap ? "; " + *plan.gap : "") +
                         "): nothing after that can be recovered; restore with --latest to recover everything up "
                         "to it, or give an earlier --target-time");
}

}  // namespace stb
