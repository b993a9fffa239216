// Point-in-time restore of a Redis stream, planned (design §2): which chain, which base (the chain's
// own RDB or a backup's), which segments to replay and the exact cut; pure over listings and objects.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "repository/redis_stream_store.h"

namespace stb {

// A stored segment with the arrival range from its header.
struct RedisPlanSegment {
  RedisRange range;
  int64_t first_arrival_ms = 0, last_arrival_ms = 0;
  std::string name;
};
struct RedisPlanChain {
  std::string id;
  RedisChainMeta meta;
  std::vector<RedisPlanSegment> segments;                         // any order
  std::vector<std::pair<uint64_t, std::string>> replid_switches;  // (S, new replid), any order
  std::vector<RedisChainEvent> events;                            // any order
};
// A backup's redis entry that recorded where in the stream its RDB stands.
struct RedisSnapshotBase {
  std::string backup_id;
  std::string repl_id;
  uint64_t repl_offset = 0;
  int64_t time_ms = 0;
};
struct RedisRestoreTarget {
  bool latest = true;
  int64_t time_ms = 0;  // when !latest
};
// Opens one segment (the planner re-splits only the segment(s) holding the cut).
using RedisSegmentLoader = std::function<StatusOr<RedisStreamObject>(const RedisPlanSegment&)>;

struct RedisRestorePlan {
  std::string chain;
  std::string base_from = "stream";  // "stream" or the backup id
  uint64_t base_offset = 0;
  std::vector<RedisPlanSegment> segments;  // in order; the first may start before base_offset, the last end after cut
  uint64_t cut = 0;
  int64_t recovered_ms = 0;
  std::string recovered_replid;
  uint64_t replayed_bytes = 0;
  std::optional<double> lost_interval_seconds;  // first link-lost after recovered_ms
  std::vector<std::string> warnings;
};

// Errors: no chain, T before the first chain, T inside missing bytes or between chains (naming the
// interval and the nearest recoverable points), a segment missing between base and cut.
StatusOr<RedisRestorePlan> PlanRedisRestore(const std::vector<RedisPlanChain>& chains,
                                            const std::vector<RedisSnapshotBase>& snapshots,
                                            const RedisRestoreTarget& target, const RedisSegmentLoader& load);

// The last command end in the segment whose bytes had all arrived by limit_ms and where no MULTI
// is open. Time index as the capture writes it: an entry {o, t} says the batch read at t (batches
// within REDIS_STREAM_TIME_RESOLUTION_MS coalesced into it) starts at S+o.
struct RedisSegmentCut {
  bool found = false;  // false: every boundary up to the limit lies inside MULTI
  uint64_t offset = 0;
  int64_t arrival_ms = 0;
};
StatusOr<RedisSegmentCut> CutInSegment(const RedisStreamObject& seg,
                                       int64_t limit_ms = std::numeric_limits<int64_t>::max());

// Arrival time of the byte just before `offset` in the segment (its time index; the segment's
// first arrival at its start).
int64_t RedisArrivalAt(const RedisStreamObject& seg, uint64_t offset);

// The restore report's stream part: recovered_to {time, offset, replid}, base {from, offset},
// replayed_bytes, replayed_commands (counted by the AOF encoder), lost_interval_seconds (null when
// no link-lost event follows), warnings.
nlohmann::json RedisRestoreReport(const RedisRestorePlan& plan, uint64_t replayed_commands);

// "2026-11-29T10:01:02.345Z".
std::string FormatRedisTimeMs(int64_t ms);

}  // namespace stb
