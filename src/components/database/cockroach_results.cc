#include "components/database/cockroach_results.h"

#include <algorithm>
#include <cmath>

#include "components/database/pg_recovery_conf.h"
#include "core/parse.h"

namespace stb {

namespace {

std::string Cut(std::string_view s) { return std::string(s.substr(0, 60)); }

}  // namespace

StatusOr<double> ParseCrdbTimestamp(std::string_view text) {
  // TIMESTAMP values carry no zone and are UTC in CockroachDB; TIMESTAMPTZ ends in "+00".
  bool zoned = text.size() > 19 && text.find_first_of("+-Zz", 19) != std::string_view::npos;
  auto t = ParseTargetTime(zoned ? std::string(text) : std::string(text) + "+00");
  if (!t.ok()) return InvalidArgument("CockroachDB timestamp '" + Cut(text) + "' is not a date and time");
  return *t;
}

StatusOr<double> ParseCrdbHlc(std::string_view text) {
  size_t dot = text.find('.');
  std::string_view wall = text.substr(0, dot);
  auto bad = [&] { return InvalidArgument("CockroachDB HLC timestamp '" + Cut(text) + "' is not NANOS.LOGICAL"); };
  if (wall.empty() || wall.size() > 19) return bad();
  auto nanos = ParseUint(wall);
  if (!nanos.ok()) return bad();
  if (dot != std::string_view::npos) {
    std::string_view logical = text.substr(dot + 1);
    if (logical.empty() || logical.find_first_not_of("0123456789") != std::string_view::npos) return bad();
  }
  return double(*nanos / 1000000000) + double(*nanos % 1000000000) / 1e9;
}

std::string CrdbAsOf(double unix_seconds) {
  std::string s = PgTimestampUtc(unix_seconds);
  return s.substr(0, s.size() - 3);  // without "+00": a TIMESTAMP, which CockroachDB reads as UTC
}

StatusOr<std::vector<std::string>> ParseShowBackups(const std::vector<CrdbRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) {
    if (r.empty() || !r[0] || r[0]->empty()) return InvalidArgument("SHOW BACKUPS answered a row without a path");
    out.push_back(*r[0]);
  }
  return out;
}

StatusOr<std::vector<CrdbLayer>> ParseBackupLayers(const std::vector<CrdbRow>& rows) {
  std::vector<CrdbLayer> out;
  for (const auto& r : rows) {
    if (r.size() < 3 || !r[0] || !r[2]) {
      return InvalidArgument("SHOW BACKUP answered a row without backup_type or end_time");
    }
    CrdbLayer l;
    l.full = *r[0] == "full";
    if (!l.full && *r[0] != "incremental") {
      return InvalidArgument("SHOW BACKUP: unknown backup_type '" + Cut(*r[0]) + "'");
    }
    ASSIGN_OR_RETURN(l.end_unix, ParseCrdbTimestamp(*r[2]));
    if (r[1] && !r[1]->empty()) {
      ASSIGN_OR_RETURN(l.start_unix, ParseCrdbTimestamp(*r[1]));
    }
    if (!l.full && l.start_unix > l.end_unix) return InvalidArgument("SHOW BACKUP: a layer starts after it ends");
    // One row per object: a layer appears once per table.
    bool seen = std::ranges::any_of(out, [&](const CrdbLayer& o) { return o.end_unix == l.end_unix; });
    if (!seen) out.push_back(l);
  }
  std::ranges::sort(out, [](const CrdbLayer& a, const CrdbLayer& b) { return a.end_unix < b.end_unix; });
  if (out.empty()) return NotFound("SHOW BACKUP lists no layer");
  if (!out.front().full) return InvalidArgument("SHOW BACKUP: the oldest layer is not a full backup");
  return out;
}

StatusOr<CrdbJob> ParseJobRow(const CrdbRow& row) {
  if (row.size() < 6 || !row[0] || !row[1]) return InvalidArgument("the job row has no job_id or status");
  CrdbJob j{*row[0], *row[1]};
  RETURN_IF_ERROR(ParseUint(j.job_id, UINT64_MAX, "job_id").status());
  if (row[3]) {
    ASSIGN_OR_RETURN(j.rows, ParseInt(*row[3], 0, INT64_MAX, "the job's rows"));
  }
  if (row[5]) {
    ASSIGN_OR_RETURN(j.bytes, ParseUint(*row[5], UINT64_MAX, "the job's bytes"));
  }
  return j;
}

StatusOr<const CrdbChain*> ChooseCrdbChain(const std::vector<CrdbChain>& chains, double t) {
  const CrdbChain* best = nullptr;
  double earliest = 0, newest = 0, before = 0, after = 0;
  for (const auto& c : chains) {
    if (c.layers.empty()) continue;
    double from = c.layers.front().end_unix, to = c.layers.back().end_unix;
    if (earliest == 0 || from < earliest) earliest = from;
    newest = std::max(newest, to);
    if (to <= t) before = std::max(before, to);
    if (from >= t && (after == 0 || from < after)) after = from;
    if (from <= t && t <= to && (best == nullptr || from >= best->layers.front().end_unix)) best = &c;
  }
  if (best) return best;
  std::string at = "--target-time " + PgTimestampUtc(t);
  if (newest == 0) return NotFound("no CockroachDB backup in the collection to restore " + at + " from");
  if (t > newest) {
    return InvalidArgument(at + " is after the newest CockroachDB backup layer, " + PgTimestampUtc(newest) +
                           ": give that time or an earlier one, or run `schedule run db-incremental` first");
  }
  if (t < earliest) {
    return InvalidArgument(at + " is before the oldest CockroachDB full backup, " + PgTimestampUtc(earliest));
  }
  return InvalidArgument(at + " falls between two backup chains: the nearest recoverable times are " +
                         PgTimestampUtc(before) + " and " + PgTimestampUtc(after));
}

StatusOr<std::vector<CrdbSchedule>> ParseSchedules(const std::vector<CrdbRow>& rows) {
  std::vector<CrdbSchedule> out;
  for (const auto& r : rows) {
    if (r.size() < 6 || !r[0] || !r[2]) return InvalidArgument("SHOW SCHEDULES answered a row without id or status");
    CrdbSchedule sc{*r[0], r[1].value_or(""), *r[2], r[3].value_or(""), r[4].value_or(""), r[5].value_or("")};
    RETURN_IF_ERROR(ParseUint(sc.id, UINT64_MAX, "schedule id").status());
    // The texts are shown to the operator; a long state (an error) is cut, not trusted.
    for (std::string* f : {&sc.label, &sc.status, &sc.next_run, &sc.state, &sc.recurrence}) {
      if (f->size() > 500) f->resize(500);
    }
    out.push_back(std::move(sc));
  }
  return out;
}

StatusOr<CrdbScheduleJob> ParseScheduleJob(const CrdbRow& row) {
  if (row.size() < 4 || !row[0] || !row[1]) return InvalidArgument("SHOW JOBS answered a row without job_id or status");
  CrdbScheduleJob j{*row[0], *row[1], row[3].value_or("")};
  RETURN_IF_ERROR(ParseUint(j.job_id, UINT64_MAX, "job_id").status());
  if (j.status.size() > 40) return InvalidArgument("SHOW JOBS: status '" + Cut(j.status) + "' is not a job status");
  if (j.error.size() > 2000) j.error.resize(2000);
  if (row[2] && !row[2]->empty()) {
    ASSIGN_OR_RETURN(j.finished_unix, ParseCrdbTimestamp(*row[2]));
  }
  return j;
}

StatusOr<int64_t> ParseGcTtlSeconds(std::string_view raw_config_sql) {
  // "ALTER DATABASE game CONFIGURE ZONE USING\n\trange_min_bytes = ..., gc.ttlseconds = 14400, ..."
  static constexpr std::string_view kKey = "gc.ttlseconds";
  size_t at = raw_config_sql.find(kKey);
  if (at == std::string_view::npos) return NotFound("the zone configuration names no gc.ttlseconds");
  std::string_view rest = raw_config_sql.substr(at + kKey.size());
  size_t eq = rest.find_first_not_of(" \t");
  if (eq == std::string_view::npos || rest[eq] != '=') return InvalidArgument("gc.ttlseconds has no '= value'");
  rest = rest.substr(eq + 1);
  size_t from = rest.find_first_not_of(" \t");
  if (from == std::string_view::npos) return InvalidArgument("gc.ttlseconds has no value");
  rest = rest.substr(from);
  std::string_view digits = rest.substr(0, rest.find_first_not_of("0123456789"));
  // At most about 68 years, CockroachDB's own bound.
  return ParseInt(digits, 1, INT32_MAX, "gc.ttlseconds");
}

}  // namespace stb
