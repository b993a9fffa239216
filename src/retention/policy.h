// Retention for `forget`: which snapshots restic-style --keep-* rules keep, and why. Pure logic
// over (id, time, type); listing and removing snapshots is the caller's job.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace stb {

struct RetentionItem {
  std::string id;
  int64_t time_unix = 0;
  std::string type;  // "full" or "incremental"
};

// restic's --keep-within duration, e.g. 1y2m3d4h. Years, months and days are calendar steps in
// local time (one month before 31 March is "31 February", i.e. 2 or 3 March); hours are 3600 s.
struct Duration {
  int years = 0, months = 0, days = 0, hours = 0;
  bool Zero() const { return years == 0 && months == 0 && days == 0 && hours == 0; }
  // Canonical form, units in y, m, d, h order without zero parts ("5d7m" gives "7m5d").
  std::string ToString() const;
};

// Units may come in any order; a repeated unit replaces the earlier value, as in restic. Errors
// (including "" and negative parts) are InvalidArgument naming --keep-within.
StatusOr<Duration> ParseWithin(const std::string& text);
// A --keep-* count: a non-negative integer, or "unlimited" / "-1" (both give -1). The error names
// the option, e.g. ParseKeepCount("--keep-daily", "x").
StatusOr<int> ParseKeepCount(const std::string& option, const std::string& text);

struct Policy {
  // 0 turns a rule off, -1 keeps one snapshot for every bucket (every snapshot, for last).
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  std::string within;  // "" = none; a zero duration ("0d") is also none, as in restic
  // No rule is set. ApplyPolicy then keeps everything; restic's forget refuses to run instead,
  // and the caller should too.
  bool Empty() const;
  // "keep 7 daily, all weekly snapshots and all snapshots within 1d of the newest".
  std::string Describe() const;
};

// Counts below -1 and unparsable durations, as InvalidArgument naming the option.
Status ValidatePolicy(const Policy& p);

struct Decision {
  RetentionItem item;
  bool keep = false;
  // Every rule that keeps the snapshot, in restic's order and words: "within 1d", "last snapshot",
  // "hourly snapshot" ... "yearly snapshot", "oldest monthly snapshot"; "no policy" if p.Empty().
  std::vector<std::string> reasons;
};

// One decision per item, newest first; items with equal times keep their input order (which
// decides which of them a bucket keeps). --keep-within counts back from the newest snapshot that
// is not after now_unix, so a clock-skewed future snapshot cannot expire the others.
StatusOr<std::vector<Decision>> ApplyPolicy(std::vector<RetentionItem> items, const Policy& p, int64_t now_unix);
// As above with the current time.
StatusOr<std::vector<Decision>> ApplyPolicy(std::vector<RetentionItem> items, const Policy& p);

// One policy per backup type, each applied to that type's snapshots alone (like restic's
// --group-by), so incrementals never use up the budget of the full backups' rules.
struct RetentionConfig {
  Policy full, incremental;
};

// A policy written as "daily=7,weekly=4,monthly=12,yearly=3" or "within=1d" (keys last, hourly,
// daily, weekly, monthly, yearly, within), for settings such as BACKUP_RETENTION_FULL; errors
// name the setting.
StatusOr<Policy> ParsePolicySpec(const std::string& setting, const std::string& spec);

// The operations guide's defaults: fulls 7 daily, 4 weekly, 12 monthly, 3 yearly; incrementals
// for 1 day.
RetentionConfig DefaultRetention();

// Decisions for all items, newest first (ties in input order). An item whose type is neither
// "full" nor "incremental" is an InvalidArgument: guessing could delete the wrong backups.
StatusOr<std::vector<Decision>> ApplyRetention(std::vector<RetentionItem> items, const RetentionConfig& c,
                                               int64_t now_unix);
StatusOr<std::vector<Decision>> ApplyRetention(std::vector<RetentionItem> items, const RetentionConfig& c);

}  // namespace stb
