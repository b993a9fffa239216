// Prune of Redis stream objects (doc/design.md §2b): per source, the whole chains that no restore
// to a time at or after the oldest kept Redis backup can use; the planning is pure over listings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repository/redis_stream_store.h"
#include "repository/snapshots.h"

namespace stb {

struct RedisPruneObject {
  std::string name;
  uint64_t size = 0;
};
struct RedisPrunePlan {
  std::string kept_from;                  // the chain in use at the window's start ("" when none)
  std::vector<std::string> chains;        // the chains that go, oldest first
  std::vector<RedisPruneObject> delete_;  // in deletion order: each chain's meta first
  uint64_t bytes = 0;
};

// window_ms: the oldest time a restore must still reach (nullopt: no kept Redis backup, nothing
// goes). A restore to T picks the newest chain with meta whose base arrived at or before T, so
// the chain in use at window_ms (the newest such chain with meta) and everything after it stays;
// the newest chain of the source (maybe being written, maybe still without meta) always stays.
// The chains before are deleted meta first: a crash mid-chain leaves objects no restore or
// capture reads (a chain without meta is skipped by both), which the next prune removes.
RedisPrunePlan PlanRedisPrune(const RedisStreamListing& listing, std::optional<int64_t> window_ms);

// The start (Unix ms) of the oldest snapshot holding a "redis" component entry.
std::optional<int64_t> OldestRedisBackupMs(const std::vector<SnapshotRef>& snaps);

struct RedisPruneResult {
  size_t objects_deleted = 0;  // or, in a dry run, that would be
  uint64_t bytes_deleted = 0;
  struct Chain {
    std::string name;  // "<source>/<chain>"
    size_t objects = 0;
    uint64_t bytes = 0;
  };
  std::vector<Chain> chains_deleted;  // or, in a dry run, that would be
  std::vector<std::string> warnings;
};

StatusOr<RedisPruneResult> PruneRedisStream(const Repository& repo, Storage& where, std::optional<int64_t> window_ms,
                                            bool dry_run);

}  // namespace stb
