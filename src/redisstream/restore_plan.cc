#include "redisstream/restore_plan.h"

#include <algorithm>
#include <ctime>

#include "redisstream/resp_stream.h"

namespace stb {

std::string FormatRedisTimeMs(int64_t ms) {
  const int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  const time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[48];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
           tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms - secs * 1000));
  return buf;
}

nlohmann::json RedisRestoreReport(const RedisRestorePlan& plan, uint64_t replayed_commands) {
  nlohmann::json r;
  r["recovered_to"] = {
      {"time", FormatRedisTimeMs(plan.recovered_ms)}, {"offset", plan.cut}, {"replid", plan.recovered_replid}};
  r["base"] = {{"from", plan.base_from}, {"offset", plan.base_offset}};
  r["chain"] = plan.chain;
  r["replayed_bytes"] = plan.replayed_bytes;
  r["replayed_commands"] = replayed_commands;
  r["lost_interval_seconds"] = plan.lost_interval_seconds ? nlohmann::json(*plan.lost_interval_seconds) : nullptr;
  r["warnings"] = plan.warnings;
  return r;
}

int64_t RedisArrivalAt(const RedisStreamObject& seg, uint64_t offset) {
  if (offset <= seg.start) return seg.first_arrival_ms;
  const uint64_t last_byte = offset - 1 - seg.start;
  int64_t ms = seg.first_arrival_ms;
  for (const auto& e : seg.time_index) {
    if (e.offset > last_byte) break;
    ms = e.arrival_ms;
  }
  return ms;
}

StatusOr<RedisSegmentCut> CutInSegment(const RedisStreamObject& seg, int64_t limit_ms) {
  // The bytes that had arrived by limit_ms: those before the first batch that arrived later.
  uint64_t limit = seg.first_arrival_ms <= limit_ms ? seg.raw.size() : 0;
  for (const auto& e : seg.time_index) {
    if (e.arrival_ms > limit_ms) {
      limit = std::min<uint64_t>(e.offset, limit);
      break;
    }
  }
  RedisSegmentCut cut;
  if (seg.multi_depth == 0) {
    cut.found = true;
    cut.offset = seg.start;
  }
  RespCommandSplitter split(seg.start, seg.db, static_cast<int>(seg.multi_depth));
  RETURN_IF_ERROR(split.Feed(std::span<const uint8_t>(seg.raw.data(), limit), [&](const RespCommandInfo& c) {
    if (!split.in_multi()) {
      cut.found = true;
      cut.offset = c.end;
    }
  }));
  if (cut.found) cut.arrival_ms = RedisArrivalAt(seg, cut.offset);
  return cut;
}

namespace {

std::vector<RedisPlanSegment> SortedSegments(const RedisPlanChain& c) {
  auto segs = c.segments;
  std::sort(segs.begin(), segs.end(), [](const RedisPlanSegment& a, const RedisPlanSegment& b) {
    return a.range.start != b.range.start ? a.range.start < b.range.start : a.range.end < b.range.end;
  });
  return segs;
}

std::string Nearest(int64_t a, int64_t b) { return "nearest " + FormatRedisTimeMs(a) + " or " + FormatRedisTimeMs(b); }

// The cut at or before segment k (limit_ms for k, whole segments before it): backs out of a MULTI
// open across segments.
StatusOr<RedisSegmentCut> CutAtOrBefore(const std::vector<RedisPlanSegment>& segs, size_t k, int64_t limit_ms,
                                        const RedisChainMeta& meta, const RedisSegmentLoader& load) {
  for (size_t j = k + 1; j-- > 0;) {
    ASSIGN_OR_RETURN(RedisStreamObject obj, load(segs[j]));
    ASSIGN_OR_RETURN(RedisSegmentCut cut, CutInSegment(obj, j == k ? limit_ms : std::numeric_limits<int64_t>::max()));
    if (cut.found) return cut;
  }
  return RedisSegmentCut{true, meta.base_offset, meta.base_ms};
}

// The cut for time T in chain `ci`, or the error that says why there is none.
StatusOr<RedisSegmentCut> CutForTime(const std::vector<RedisPlanChain>& chains, size_t ci, int64_t t,
                                     const RedisSegmentLoader& load, std::vector<std::string>& warnings) {
  const RedisPlanChain& chain = chains[ci];
  const auto segs = SortedSegments(chain);
  size_t k = segs.size();
  for (size_t i = 0; i < segs.size(); ++i) {
    if (segs[i].first_arrival_ms <= t) k = i;
  }
  if (k == segs.size()) return RedisSegmentCut{true, chain.meta.base_offset, chain.meta.base_ms};
  const RedisPlanSegment& s = segs[k];
  if (t <= s.last_arrival_ms) return CutAtOrBefore(segs, k, t, chain.meta, load);
  const std::string at = FormatRedisTimeMs(t);
  if (k + 1 < segs.size() && segs[k + 1].range.start > s.range.end) {
    const RedisPlanSegment& n = segs[k + 1];
    return NotFound("no recoverable point at " + at + ": the stream has " + FormatRedisTimeMs(s.last_arrival_ms) +
                    " … " + FormatRedisTimeMs(n.first_arrival_ms) + " missing (bytes " + std::to_string(s.range.end) +
                    "-" + std::to_string(n.range.start) + " of chain " + chain.id + "); " +
                    Nearest(s.last_arrival_ms, n.first_arrival_ms));
  }
  if (k + 1 == segs.size() && ci + 1 < chains.size()) {
    const int64_t next = chains[ci + 1].meta.base_ms;
    return NotFound("no recoverable point at " + at + ": the stream has " + FormatRedisTimeMs(s.last_arrival_ms) +
                    " … " + FormatRedisTimeMs(next) + " missing (between chains " + chain.id + " and " +
                    chains[ci + 1].id + "); " + Nearest(s.last_arrival_ms, next));
  }
  if (k + 1 == segs.size()) {
    warnings.push_back(at + " is after the newest arrival " + FormatRedisTimeMs(s.last_arrival_ms) +
                       " (the master was idle or down): recovered to the newest point");
  }
  return CutAtOrBefore(segs, k, std::numeric_limits<int64_t>::max(), chain.meta, load);
}

StatusOr<RedisSegmentCut> CutLatest(const RedisPlanChain& chain, const RedisSegmentLoader& load,
                                    std::vector<std::string>& warnings) {
  const auto segs = SortedSegments(chain);
  std::vector<RedisRange> ranges;
  for (const auto& s : segs) ranges.push_back(s.range);
  const RedisContiguity cont = ChainContiguity(chain.meta.base_offset, ranges);
  for (const auto& m : cont.missing) {
    warnings.push_back("chain " + chain.id + ": stream bytes " + std::to_string(m.start) + "-" + std::to_string(m.end) +
                       " are missing; recovered to the end of the contiguous stream before them");
  }
  for (size_t k = segs.size(); k-- > 0;) {
    if (segs[k].range.end == cont.durable_end)
      return CutAtOrBefore(segs, k, std::numeric_limits<int64_t>::max(), chain.meta, load);
  }
  return RedisSegmentCut{true, chain.meta.base_offset, chain.meta.base_ms};
}

// The replication id that names stream position `offset` of the chain.
std::string ReplidAt(const RedisPlanChain& chain, uint64_t offset) {
  auto sw = chain.replid_switches;
  std::sort(sw.begin(), sw.end());
  std::string id = chain.meta.replid;
  for (const auto& [s, r] : sw) {
    if (s <= offset) id = r;
  }
  return id;
}

// The replication id that named the stream just before switch S (the chain's own id when no
// earlier switch): no S - 1, which a switch at offset 0 would underflow.
std::string ReplidBefore(const RedisPlanChain& chain, uint64_t switch_at) {
  auto sw = chain.replid_switches;
  std::sort(sw.begin(), sw.end());
  std::string id = chain.meta.replid;
  for (const auto& [s, r] : sw) {
    if (s < switch_at) id = r;
  }
  return id;
}

// A snapshot's (replid, offset) lies in this chain when that id named that offset.
bool SnapshotInChain(const RedisPlanChain& chain, const RedisSnapshotBase& b) {
  if (ReplidAt(chain, b.repl_offset) == b.repl_id) return true;
  // At a switch S both ids name S.
  for (const auto& [s, r] : chain.replid_switches) {
    if (s == b.repl_offset && ReplidBefore(chain, s) == b.repl_id) return true;
  }
  return false;
}

}  // namespace

StatusOr<RedisRestorePlan> PlanRedisRestore(const std::vector<RedisPlanChain>& chains_in,
                                            const std::vector<RedisSnapshotBase>& snapshots,
                                            const RedisRestoreTarget& target, const RedisSegmentLoader& load) {
  if (chains_in.empty()) return NotFound("no Redis stream chain in this location: nothing to replay");
  auto chains = chains_in;
  std::sort(chains.begin(), chains.end(),
            [](const RedisPlanChain& a, const RedisPlanChain& b) { return a.meta.base_ms < b.meta.base_ms; });
  RedisRestorePlan plan;
  size_t ci = chains.size() - 1;
  RedisSegmentCut cut;
  if (target.latest) {
    ASSIGN_OR_RETURN(cut, CutLatest(chains[ci], load, plan.warnings));
  } else {
    if (target.time_ms < chains[0].meta.base_ms) {
      return NotFound("no recoverable point at " + FormatRedisTimeMs(target.time_ms) +
                      ": it is before the first stream chain, whose base arrived at " +
                      FormatRedisTimeMs(chains[0].meta.base_ms));
    }
    while (chains[ci].meta.base_ms > target.time_ms) --ci;
    ASSIGN_OR_RETURN(cut, CutForTime(chains, ci, target.time_ms, load, plan.warnings));
  }
  const RedisPlanChain& chain = chains[ci];
  plan.chain = chain.id;
  plan.cut = cut.offset;
  plan.recovered_ms = cut.arrival_ms;
  plan.recovered_replid = ReplidAt(chain, cut.offset);
  plan.base_offset = chain.meta.base_offset;
  for (const auto& b : snapshots) {
    if (b.repl_offset > plan.base_offset && b.repl_offset <= plan.cut && SnapshotInChain(chain, b)) {
      plan.base_offset = b.repl_offset;
      plan.base_from = b.backup_id;
    }
  }
  const auto segs = SortedSegments(chain);
  uint64_t pos = plan.base_offset;
  while (pos < plan.cut) {
    const RedisPlanSegment* best = nullptr;
    uint64_t next = plan.cut;
    for (const auto& s : segs) {
      if (s.range.start <= pos && pos < s.range.end && (!best || s.range.end > best->range.end)) best = &s;
      if (s.range.start > pos) next = std::min(next, s.range.start);
    }
    if (!best) {
      return NotFound("chain " + chain.id + ": the segment holding stream bytes " + std::to_string(pos) + "-" +
                      std::to_string(next) + " is missing from the repository; it lies between the base (" +
                      plan.base_from + ") and the cut");
    }
    plan.segments.push_back(*best);
    pos = best->range.end;
  }
  plan.replayed_bytes = plan.cut - plan.base_offset;
  std::optional<int64_t> lost;
  for (const auto& e : chain.events) {
    if (e.type == RedisChainEvent::kLinkLost && e.at_ms >= plan.recovered_ms && (!lost || e.at_ms < *lost))
      lost = e.at_ms;
  }
  if (lost) plan.lost_interval_seconds = static_cast<double>(*lost - plan.recovered_ms) / 1000.0;
  return plan;
}

}  // namespace stb
