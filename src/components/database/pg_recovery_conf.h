// What a point-in-time restore writes into the laid-down data directory: the recovery target
// (parsed from --target-time / --target-lsn / --latest / --immediate) and the settings block
// appended to postgresql.auto.conf, quoted for both the configuration parser and the shell.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace stb {

struct RecoveryTarget {
  enum Kind { kLatest, kImmediate, kTime, kLsn };
  Kind kind = kLatest;
  double time_unix = 0;          // kTime
  uint64_t lsn = 0;              // kLsn
  std::string Describe() const;  // "latest", "immediate", "time 2026-11-28 10:05:00.05+00", "lsn 0/2A000120"
};

// ISO 8601 ("2026-11-28T10:05:00Z", "...T10:05:00.25+02:00") or "YYYY-MM-DD HH:MM:SS[.f][ zone]";
// the zone is Z, UTC, +HH, +HHMM or +HH:MM; without one the time is local (TZ).
StatusOr<double> ParseTargetTime(std::string_view text);
// "2026-11-28 10:05:00.050000+00": what recovery_target_time gets (microseconds, UTC).
std::string PgTimestampUtc(double unix_seconds);

// A postgresql.conf string literal: '...' with ' and \ doubled.
std::string PgConfQuote(std::string_view value);
// One shell word ('...' with ' as '\''), with % doubled for restore_command's %-escapes.
std::string RestoreCommandWord(std::string_view value);

struct RecoveryConf {
  std::string binary;     // our absolute path
  std::string stage_dir;  // wal-fetch --staging DIR
  RecoveryTarget target;
  bool scratch = true;      // a restore beside the original: its own port and socket, no replication
  bool archive_off = true;  // archive_mode = off (unless --archive-mode preserve)
  int port = 0;
  std::string socket_dir;
  std::string comment;  // "spacetime-backup restore <id> <time>"
};
// The block appended to postgresql.auto.conf (later lines win over the backup's own).
std::string RecoveryConfText(const RecoveryConf& c);

}  // namespace stb
