// Redis point-in-time restore from the stored replication stream (restore --latest/--target-time,
// issue 14): plans the cut, lays down Redis 7's appendonlydir (base RDB + incr AOF) and restarts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "components/redis/redis_component.h"
#include "config/settings.h"
#include "core/status.h"
#include "repository/repository.h"

namespace stb {

// The name the capture stores the stream under: REDIS_STREAM_SOURCE, else REDIS_HOST:REDIS_PORT.
std::string RedisStreamSourceName(const Settings& s);

struct RedisStreamTarget {
  bool latest = true;
  int64_t time_ms = 0;  // when !latest
};

// What Redis will load on start, from the file it starts with (REDIS_CONF) or its running config.
struct RedisAofConfig {
  std::optional<bool> appendonly;  // unknown when neither could be read
  std::string dirname = "appendonlydir", filename = "appendonly.aof", dir;
  std::string from;  // "REDIS_CONF <path>" or "the running server's CONFIG GET"
};
// Parses redis.conf text: appendonly, appenddirname, appendfilename, dir (the last one wins, as in
// Redis; quotes removed). Unknown directives are ignored; an include is named in *include.
StatusOr<RedisAofConfig> ParseRedisConf(std::string_view text, std::string* include = nullptr);

// Restores `entry`'s server to the target from the stream in repo's location: the component's
// report (success, error, restored_to, stream: RedisRestoreReport, verified, warnings).
nlohmann::json RestoreRedisFromStream(Repository& repo, const nlohmann::json& entry, const std::string& target_dir,
                                      const RedisOptions& opt, const Settings& s, const RedisStreamTarget& target);

}  // namespace stb
