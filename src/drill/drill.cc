#include "drill/drill.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include <random>

#include "catalog/catalog.h"
#include "components/database/pg_drill_point.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/stop.h"
#include "drill/scratch.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

// What the latest backup needs: its id, its database's kind ("" when none), whether it has Redis,
// and for a physical database backup the point to recover it to.
struct DrillPlan {
  std::string backup_id, db_kind;
  double backup_time = 0;  // the snapshot's time_unix: what every component but a physical database recovers to
  bool has_redis = false;
  std::optional<DrillPoint> point;
};

StatusOr<DrillPlan> Plan(const Settings& s, const RepositoryOpener& open) {
  ASSIGN_OR_RETURN(auto repo, open("local"));
  ASSIGN_OR_RETURN(SnapshotRef snap, FindSnapshot(*repo, "latest"));
  DrillPlan plan;
  plan.backup_id = snap.backup_id;
  auto t = snap.doc.find("time_unix");
  if (t != snap.doc.end() && t->is_number()) plan.backup_time = t->get<double>();
  if (snap.doc.contains("components") && snap.doc["components"].is_object()) {
    for (const auto& [comp, entry] : snap.doc["components"].items()) {
      std::string kind = entry.is_object() ? entry.value("kind", "") : "";
      if (kind == "postgresql" || kind == "cockroachdb" || kind == "postgresql-physical") plan.db_kind = kind;
      if (kind == "redis") plan.has_redis = true;
      if (kind == "postgresql-physical") {
        std::random_device rd;
        double u = std::uniform_real_distribution<double>(0, 1)(rd);
        auto p = ChooseDrillPoint(*repo, entry, s.db_pg_bin_dir, u);
        if (!p.ok()) return p.status().Context("choosing the drill's recovery point");
        plan.point = *p;
      }
    }
  }
  return plan;
}

// A physical backup recovers into a server of its own in the scratch directory (PITR: a free
// port, its socket there, archiving off, stopped once verified), to the plan's random point.
Status PreparePhysical(const std::string& dir, const DrillPlan& plan, RestoreRequest& req, DrillReport& report) {
  if (::geteuid() == 0 && ::chmod(dir.c_str(), 0711) != 0) {  // the server's account reaches its data directory
    return ErrnoStatus("chmod " + dir, errno);
  }
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
  req.options.target_dir = dir + "/database";
  req.options.pg_port = port;
  req.options.stop_after = true;
  req.options.archive_preserve = false;
  req.options.recovery_target = plan.point->target;
  req.options.target_time_unix = plan.point->target_time_unix;
  report.scratch->postgres = req.options.target_dir;
  report.point_in_time = plan.point->ToJson();
  return Status::Ok();
}

// Runs the restore and takes its failures into the drill's errors; a restore that ran to its end
// is recorded in the catalog as `restore` records it (the RTO the exporter shows counts drills).
void Restore(const ComponentRegistry& registry, const Settings& s, const RepositoryOpener& open, RestoreRequest req,
             DrillReport& report) {
  req.stop_requested = [] { return ProcessStopToken().stopped(); };
  auto restore = RestoreBackup(registry, s, open, req);
  if (!restore.ok()) {
    report.errors.push_back("the restore did not start: " + restore.status().message());
  } else {
    if (!ProcessStopToken().stopped()) {
      UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) { return c.RecordRestoreReport(*restore, NowSeconds()); });
    }
    for (const auto& [name, c] : restore->components) {
      if (!c.success) report.errors.push_back(name + ": " + c.error.value_or("failed"));
    }
    if (!restore->overall_success && report.errors.empty()) {
      report.errors.push_back(restore->error.value_or("the restore failed"));
    }
  }
  report.restore = std::move(restore);
}

// The point each restored component reached: a physical database's replayed commit time, else the
// backup's time (a component without a recovered time of its own has none newer).
void NoteRecoveredTo(const DrillPlan& plan, DrillReport& report) {
  if (!report.restore || !report.restore->ok()) return;
  for (const auto& [name, c] : (*report.restore)->components) {
    if (!c.success) continue;
    const json& rec = c.details.contains("recovered_to") ? c.details["recovered_to"] : json();
    auto t = rec.is_object() ? rec.find("time_unix") : rec.end();
    if (t != rec.end() && t->is_number()) {
      report.recovered_to[name] = t->get<double>();
    } else if (plan.backup_time > 0) {
      report.recovered_to[name] = plan.backup_time;
    }
  }
}

// Removes every scratch target, whatever happened, and reports how each went.
void Cleanup(const DrillPlan& plan, ScratchRedis* redis, ScratchDatabase* db, ScratchDirectory& dir,
             DrillReport& report) {
  if (report.scratch && report.scratch->postgres) {  // left running when recovery failed half-way
    pid_t pid = 0;
    if (report.restore && report.restore->ok()) {
      auto c = (*report.restore)->components.find("database");
      if (c != (*report.restore)->components.end()) pid = c->second.details.value("postmaster_pid", 0);
    }
    auto st = StopScratchPostgres(*report.scratch->postgres, pid);
    report.cleanup["postgres"] = st.ok() ? (*st ? "stopped" : "not running") : st.status().message();
    if (!st.ok()) report.errors.push_back("cleanup: " + st.status().message());
  }
  if (plan.has_redis) {
    Status st = redis ? redis->Stop() : Status::Ok();  // one that could not be prepared never ran
    report.cleanup["redis"] = st.ok() ? "stopped" : st.message();
    if (!st.ok()) report.errors.push_back("cleanup: " + st.message());
  }
  if (db) {
    Status st = db->Drop();
    report.cleanup["database"] = st.ok() ? "dropped" : st.message();
    if (!st.ok()) report.errors.push_back("cleanup: dropping " + db->name() + ": " + st.message());
  }
  Status st = dir.Remove();
  report.cleanup["directory"] = st.ok() ? "removed" : st.message();
  if (!st.ok()) report.errors.push_back("cleanup: removing " + dir.path() + ": " + st.message());
}

// Creates the scratch targets the backup needs, restores into them, removes them.
void RestoreIntoScratch(const ComponentRegistry& registry, const Settings& s, const RepositoryOpener& open,
                        const DrillPlan& plan, DrillReport& report) {
  auto dir = ScratchDirectory::Create();
  if (!dir.ok()) {
    report.errors.push_back(dir.status().message());
    return;
  }
  report.scratch = DrillScratch{(*dir)->path()};
  RestoreRequest req{.backup_id = plan.backup_id, .location = "local", .progress = false};
  req.options.target = (*dir)->path();
  std::unique_ptr<ScratchDatabase> db;
  Status prep = Status::Ok();
  if (plan.point) {
    prep = PreparePhysical((*dir)->path(), plan, req, report);
  } else if (!plan.db_kind.empty()) {
    db = std::make_unique<ScratchDatabase>(s, plan.db_kind, "stb_drill_" + plan.backup_id + "_" + RandomHex(3));
    req.options.target_db = db->name();
    report.scratch->database = db->name();
  }
  Settings restore_settings = s;
  std::unique_ptr<ScratchRedis> redis;
  if (plan.has_redis && prep.ok()) {
    auto prepared = ScratchRedis::Prepare(s, (*dir)->path());
    if (prepared.ok()) {
      redis = std::move(*prepared);
      restore_settings = redis->Apply(s);
      report.scratch->redis = redis->address();
    } else {
      prep = prepared.status();
    }
  }
  if (!prep.ok()) {
    report.errors.push_back(prep.message());
  } else if (!ProcessStopToken().stopped()) {
    Restore(registry, restore_settings, open, req, report);
    NoteRecoveredTo(plan, report);
  }
  Cleanup(plan, redis.get(), db.get(), **dir, report);
}

void Finish(const Settings& s, double t0, DrillReport& report) {
  report.signal = ProcessStopToken().signal();
  if (report.signal != 0) {
    report.errors.push_back("interrupted by signal " + std::to_string(report.signal) + " (" + strsignal(report.signal) +
                            "): the drill did not complete");
  }
  report.overall_success = report.errors.empty();
  double t1 = NowSeconds();
  report.end_time = IsoTimestamp(t1);
  report.duration_seconds = t1 - t0;
  UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) {
    RETURN_IF_ERROR(c.RecordDrill(
        {report.scenario, report.overall_success ? "success" : "failed", report.backup_id.value_or(""), t0, t1 - t0}));
    for (const auto& [comp, at] : report.recovered_to) RETURN_IF_ERROR(c.RecordDrillRecoveryPoint(comp, at, t0 - at));
    return Status::Ok();
  });
  for (const auto& e : report.errors) LogError("dr-test: " + e);
  LogInfo("dr-test " + report.scenario + (report.overall_success ? " succeeded" : " failed"));
}

}  // namespace

json DrillReport::ToJson() const {
  json j = {{"scenario", scenario},
            {"start_time", start_time},
            {"end_time", end_time},
            {"duration_seconds", duration_seconds},
            {"status", overall_success ? "success" : "failed"},
            {"overall_success", overall_success}};
  if (backup_id) j["backup_id"] = *backup_id;
  if (scratch) {
    j["scratch"] = {{"directory", scratch->directory}};
    if (scratch->database) j["scratch"]["database"] = *scratch->database;
    if (scratch->redis) j["scratch"]["redis"] = *scratch->redis;
  }
  if (restore && restore->ok()) {
    json r = (*restore)->ToJson();
    j["rto_seconds"] = r["rto_seconds"];
    j["components"] = r["components"];
    j["restore_order"] = r["restore_order"];
  }
  if (point_in_time) {
    j["point_in_time"] = *point_in_time;
    if (j.contains("components") && j["components"].contains("database")) {
      const json& d = j["components"]["database"];
      for (const char* k : {"recovered_to", "rto_seconds", "amcheck"}) {
        if (d.contains(k)) j["point_in_time"][k] = d[k];
      }
    }
  }
  if (scratch && scratch->postgres) j["scratch"]["postgres"] = *scratch->postgres;
  if (!recovered_to.empty()) {
    json points = json::object();
    for (const auto& [comp, at] : recovered_to) {
      points[comp] = {
          {"recovered_to", IsoTimestamp(at)}, {"recovered_to_unix", at}, {"recovery_point_seconds", start_unix - at}};
    }
    j["recovery_points"] = points;
  }
  if (!cleanup.empty()) j["cleanup"] = cleanup;
  if (!errors.empty()) j["errors"] = errors;
  return j;
}

DrillReport RunDrill(const ComponentRegistry& registry, const Settings& s, const RepositoryOpener& open,
                     const std::string& scenario) {
  double t0 = NowSeconds();
  StopOnSignals({SIGINT, SIGTERM, SIGHUP});
  LogInfo("dr-test " + scenario + " starting");
  DrillReport report;
  report.scenario = scenario;
  report.start_time = IsoTimestamp(t0);
  report.start_unix = t0;
  auto plan = Plan(s, open);
  if (!plan.ok()) {
    report.errors.push_back(plan.status().message());
  } else {
    report.backup_id = plan->backup_id;
    RestoreIntoScratch(registry, s, open, *plan, report);
  }
  Finish(s, t0, report);
  return report;
}

}  // namespace stb
