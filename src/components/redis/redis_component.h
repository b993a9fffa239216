// The redis component: backs up the RDB snapshot that Redis sends a new replica (PSYNC/SYNC,
// both the length-prefixed and the diskless EOF-marked form), validated and streamed into the
// repository without a temporary file; restores it as dump.rdb, optionally restarting Redis and
// verifying its key counts against the recorded ones.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "components/redis/resp.h"
#include "core/progress.h"
#include "repository/blob_saver.h"

namespace stb {

struct RedisOptions {
  RedisEndpoint endpoint;
  std::string data_dir;         // REDIS_DATA_DIR: default restore directory
  std::string restart_command;  // REDIS_RESTART_COMMAND: run after dump.rdb is written
  int load_timeout_seconds = 300;
  // REDIS_DIGEST: record DEBUG DIGEST at backup time. It blocks the server while it walks the
  // whole data set (seconds for millions of keys), so it is off unless asked for.
  bool digest = false;
  // REDIS_LIVE_RESTORE_PORT: the port a live restore listens on for the target (0: any free one;
  // set it when a firewall sits between Redis and this host).
  int live_port = 0;
};

struct RedisBackupResult {
  nlohmann::json entry;   // snapshot entry: kind "redis", blobs, size, keyspace, version
  nlohmann::json report;  // the guide's component report
  bool success = false;
};

RedisBackupResult BackupRedis(Repository& repo, BlobSaver& saver, const RedisOptions& opt, Progress& progress);

// Writes dump.rdb into target_dir (atomically), then, with a restart command, waits for Redis to
// load it and compares its keys per database with the backup's.
nlohmann::json RestoreRedis(Repository& repo, const nlohmann::json& entry, const std::string& target_dir,
                            const RedisOptions& opt);

// Live: serves the snapshot as a master to the running Redis at opt.endpoint (REPLICAOF), waits
// until it has loaded it, detaches it (REPLICAOF NO ONE) and verifies it. Its data is replaced.
nlohmann::json RestoreRedisLive(Repository& repo, const nlohmann::json& entry, const RedisOptions& opt);

// Runs REDIS_RESTART_COMMAND (/bin/sh -c, its output to stderr); waits until Redis at opt.endpoint
// answers and has loaded its data set (opt.load_timeout_seconds).
Status RunRedisRestartCommand(const std::string& command);
StatusOr<std::unique_ptr<RedisConnection>> WaitRedisLoaded(const RedisOptions& opt);

// Keys per database from INFO keyspace ("db0" -> 123).
StatusOr<nlohmann::json> RedisKeyspace(RedisConnection& conn);
// The same from the text of an INFO keyspace answer; an unreadable count is kCorrupt.
StatusOr<nlohmann::json> ParseKeyspace(const std::string& info);

}  // namespace stb
