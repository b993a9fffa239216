// COCKROACH_NATIVE_SCHEDULE: CockroachDB's own backup schedule (created once, idempotently) in
// place of our db-incremental timer, its state and newest job; and the gc.ttlseconds check.
#include <cstdio>

#include "components/database/cockroach_results.h"
#include "components/database/engines.h"
#include "components/database/pg_recovery_conf.h"
#include "core/log.h"

namespace stb {

using json = nlohmann::json;

std::string CockroachScheduleLabel(const DatabaseOptions& opt) { return "spacetime_backup_" + opt.endpoint.name; }

json CockroachScheduleState(const DatabaseOptions& opt, PgConnection& c) {
  std::string label = CockroachScheduleLabel(opt);
  json r = {{"label", label}, {"success", false}};
  auto rows = c.Query(CrdbShowScheduleSql(label));
  auto schedules = rows.ok() ? ParseSchedules(*rows) : StatusOr<std::vector<CrdbSchedule>>(rows.status());
  if (!schedules.ok()) {
    r["error"] = "SHOW SCHEDULES: " + schedules.status().message();
    return r;
  }
  r["schedules"] = json::array();
  for (const auto& s : *schedules) {
    r["schedules"].push_back({{"id", s.id},
                              {"status", s.status},
                              {"recurrence", s.recurrence},
                              {"next_run", s.next_run},
                              {"state", s.state}});
  }
  if (schedules->empty()) {
    r["error"] = "CockroachDB has no schedule labelled " + label + " (run `backup` or `schedule` to create it)";
    return r;
  }
  auto jobs = c.Query(CrdbScheduleLatestJobSql(label));
  if (!jobs.ok()) {
    r["error"] = "SHOW JOBS FOR SCHEDULES: " + jobs.status().message();
    return r;
  }
  if (!jobs->empty()) {
    auto job = ParseScheduleJob(jobs->front());
    if (!job.ok()) {
      r["error"] = "SHOW JOBS FOR SCHEDULES: " + job.status().message();
      return r;
    }
    r["latest_job"] = {{"job_id", job->job_id}, {"status", job->status}, {"error", job->error}};
    if (job->finished_unix > 0) r["latest_job"]["finished"] = PgTimestampUtc(job->finished_unix);
    if (job->status == "failed") {
      r["error"] = "CockroachDB's backup schedule " + label + ": job " + job->job_id + " failed: " + job->error;
      return r;
    }
  }
  r["success"] = true;
  return r;
}

json EnsureCockroachSchedule(const DatabaseOptions& opt, PgConnection& c) {
  std::string label = CockroachScheduleLabel(opt);
  json r = {{"label", label}, {"success", false}};
  auto coll = CrdbCollectionUri(opt.crdb);
  if (!coll.ok()) {
    r["error"] = coll.status().message();
    return r;
  }
  CrdbStatement create =
      CrdbCreateScheduleSql({label, opt.endpoint.name, *coll, opt.crdb_incremental_interval, opt.crdb_passphrase});
  auto rows = c.Query(create.sql);
  if (!rows.ok()) {
    r["error"] = rows.status().Context("CREATE SCHEDULE " + label).message();
    return r;
  }
  // IF NOT EXISTS answers no row for a label that exists: the second run changes nothing.
  r["created"] = !rows->empty();
  LogInfo("database: " + create.shown + (rows->empty() ? " (exists)" : " (created)"));
  json state = CockroachScheduleState(opt, c);
  state["created"] = r["created"];
  return state;
}

std::optional<std::string> CockroachGcTtlWarning(PgConnection& c, const DatabaseOptions& opt, double needed_seconds,
                                                 const std::string& needed_for) {
  auto raw = c.QueryValue(CrdbGcTtlSql(opt.endpoint.name));
  auto ttl = raw.ok() ? ParseGcTtlSeconds(*raw) : StatusOr<int64_t>(raw.status());
  std::string w;
  if (!ttl.ok()) {
    w = "could not read gc.ttlseconds of " + opt.endpoint.name + " (" + ttl.status().message() +
        "): the revision history window is unknown";
  } else if (static_cast<double>(*ttl) < needed_seconds) {
    char need[32];
    std::snprintf(need, sizeof need, "%.0f", needed_seconds);
    w = "the revision history window of " + opt.endpoint.name + " (gc.ttlseconds = " + std::to_string(*ttl) +
        " s) is shorter than " + needed_for + " (" + need +
        " s): raise it with ALTER DATABASE ... CONFIGURE ZONE USING gc.ttlseconds = " + need;
  } else {
    return std::nullopt;
  }
  LogWarn("database: " + w);
  return w;
}

}  // namespace stb
