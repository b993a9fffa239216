// `schedule`: the daemon that runs the daily full and hourly incremental backups (cron
// expressions), one at a time, each as a child process (`schedule run TYPE`) so that a crash or
// a leak of one run cannot take the daemon down. `schedule run TYPE`: one run for cron/timers:
// backup, then retention (forget + prune), then alerts; it too runs the work in a child
// (`--worker`) that it watches, so a run that crashes, is killed or hangs past
// BACKUP_RUN_TIMEOUT is still alerted on. SIGTERM: no new run starts, a running
// one is sent SIGTERM and waited for; the repository stays valid (an interrupted backup leaves
// only unindexed packs, which prune removes).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "alerts/webhook.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/maintenance.h"
#include "cli/recovery_state.h"
#include "cli/run_alerts.h"
#include "cloud/locations.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/stop.h"
#include "core/subprocess.h"
#include "repository/snapshots.h"
#include "schedule/cron.h"
#include "schedule/scheduler.h"
#include "schedule/stream_supervisor.h"

namespace stb {

using json = nlohmann::json;

namespace {

std::atomic<pid_t> g_child{0};
std::atomic<pid_t> g_db_child{0};  // the db-incremental run, on its own scheduler thread

// Runs in the signal handler, after ProcessStopToken() is stopped.
void PassOnToChild(int) {
  for (pid_t child : {g_child.load(), g_db_child.load()}) {
    if (child > 0) kill(child, SIGTERM);
  }
}

bool Stopping() { return ProcessStopToken().stopped(); }

// When the database failed this time: alert if the newest database backup is older than the RPO.
void CheckRpo(const Settings& s, const json& report) {
  if (s.db_host.empty()) return;
  if (report.contains("components") && report["components"].contains("database") &&
      report["components"]["database"].value("status", "") == "success") {
    return;
  }
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return;
  auto snaps = ListSnapshots(**repo, nullptr);
  if (!snaps.ok()) return;
  double newest = 0;
  for (const auto& snap : *snaps) {
    if (snap.doc.contains("components") && snap.doc["components"].contains("database")) {
      newest = std::max(newest, snap.doc.value("time_unix", 0.0));
    }
  }
  double age = NowSeconds() - newest;
  if (age <= s.rpo_seconds) return;
  Alert a;
  a.event = "rpo_exceeded";
  a.severity = "critical";
  a.components = {"database"};
  a.error = newest == 0 ? "there is no database backup at all"
                        : "the newest database backup is " + std::to_string(static_cast<int64_t>(age)) +
                              " s old, more than the RPO of " + std::to_string(s.rpo_seconds) + " s";
  a.details = {{"rpo_seconds", s.rpo_seconds}, {"age_seconds", newest == 0 ? json(nullptr) : json(age)}};
  NotifyBestEffort(WebhookOf(s), a);
}

// The alert for a run that ended without reporting on itself.
void AlertRunDied(const Settings& s, const std::string& type, const std::string& why) {
  LogError(why);
  Alert a;
  a.event = "backup_failed";
  a.severity = "critical";
  a.error = why;
  a.details = {{"type", type}};
  NotifyBestEffort(WebhookOf(s), a);
}

std::string SignalText(int code) {
  int sig = code - 128;
  const char* name = sigabbrev_np(sig);
  return "signal " + std::to_string(sig) + (name ? std::string(" (SIG") + name + ")" : "");
}

void CatchTermination() { StopOnSignals({SIGTERM, SIGINT}, PassOnToChild); }

// A stream child of the daemon: `/proc/self/exe <stream>`, its output on ours (the journal).
class StreamProcess : public StreamChild {
 public:
  explicit StreamProcess(std::unique_ptr<Subprocess> p) : p_(std::move(p)) {}
  pid_t pid() const override { return p_->pid(); }
  bool TryWait(int* code) override { return p_->TryWait(code); }
  void Kill(int sig) override { p_->Kill(sig); }

 private:
  std::unique_ptr<Subprocess> p_;
};

// BACKUP_STREAMS: each capture restarted with backoff when it exits; stream_down past the RPO.
std::unique_ptr<StreamSupervisor> SuperviseStreams(const Settings& s) {
  if (s.streams.empty()) return nullptr;
  auto spawn = [](const std::string& name) -> StatusOr<std::unique_ptr<StreamChild>> {
    SubprocessSpec spec;
    spec.argv = {"/proc/self/exe", name};
    spec.share_output = true;
    ASSIGN_OR_RETURN(auto p, Subprocess::Start(spec));
    return std::unique_ptr<StreamChild>(new StreamProcess(std::move(p)));
  };
  auto alert = [&s](const std::string& event, const std::string& stream, const std::string& message) {
    LogWarn("stream " + stream + ": " + message);
    Alert a;
    a.event = event;
    a.severity = event == "stream_down" ? "critical" : "info";
    a.error = stream + ": " + message;
    a.details = {{"stream", stream}};
    NotifyBestEffort(WebhookOf(s), a);
  };
  StreamSupervisorOptions o;
  o.down_alert = s.rpo_seconds;
  return std::make_unique<StreamSupervisor>(
      s.streams, Env::Default(), spawn, alert, [](const std::string& m) { LogInfo(m); }, o);
}

}  // namespace

int SuperviseScheduledJob(const Settings& s, const std::string& type) {
  CatchTermination();
  SubprocessSpec spec;
  spec.argv = {"/proc/self/exe", "schedule", "run", type, "--worker"};
  spec.share_output = true;  // the report on our stdout, as the guide's scripts expect
  auto child = Subprocess::Start(spec);
  if (!child.ok()) {
    InitLog(s.log_dir, "schedule.log");
    AlertRunDied(s, type, "the " + type + " run could not start: " + child.status().message());
    return 1;
  }
  g_child = (*child)->pid();
  if (Stopping()) (*child)->Kill(SIGTERM);  // a signal that came just before
  Env& env = Env::Default();
  const double start = env.MonotonicSeconds();
  const double limit = s.run_timeout_seconds;
  // After SIGTERM an interrupted backup needs only to stop writing; past this it is killed.
  constexpr double kGrace = 30;
  bool timed_out = false;
  int rc = 0;
  while (!(*child)->TryWait(&rc)) {
    double elapsed = env.MonotonicSeconds() - start;
    if (s.run_timeout_seconds > 0 && elapsed > limit) {
      if (!timed_out) (*child)->Kill(SIGTERM);
      timed_out = true;
      if (elapsed > limit + kGrace) (*child)->Kill(SIGKILL);
    }
    env.SleepFor(0.1, NeverStop());  // a stop was passed on to the child: wait for it
  }
  g_child = 0;
  InitLog(s.log_dir, "schedule.log");
  if (timed_out) {
    AlertRunDied(s, type,
                 "the " + type + " run did not finish within BACKUP_RUN_TIMEOUT=" +
                     std::to_string(s.run_timeout_seconds) + " s and was stopped; see backup.log");
    return 1;
  }
  if (rc >= 128) {
    std::string why = "the " + type + " run was ended by " + SignalText(rc) + " before it reported";
    if (Stopping()) {
      LogWarn(why + " (stopped on request)");  // an operator's stop, not a failure to alert on
    } else {
      AlertRunDied(s, type, why + " (a crash, the OOM killer or a kill); see backup.log");
    }
  }
  return rc;
}

// The physical full that lost WAL forces, and when it fails (physical backups blocked: no
// replication access, WAL not arriving) the scheduled run as configured, so that the files and
// the database's logical dumps do not stop too; the failed full was alerted (backup_failed) and
// check keeps failing until a physical full succeeds.
int RunForcedFull(const Settings& s, const Settings& run, const std::string& type, json& report) {
  int rc = RunBackup(run, BackupArgs{"full", "", false}, &report);
  if (rc == 0 || rc >= 128 || Stopping()) return rc;
  InitLog(s.log_dir, "schedule.log");
  LogWarn("schedule: the physical full backup forced by lost WAL failed; running the scheduled " + type +
          " backup as configured (DB_BACKUP_METHOD)");
  report = json();
  return RunBackup(s, BackupArgs{type, "", false}, &report);
}

int RunScheduledJob(const Settings& s, const std::string& type) {
  if (type == "db-incremental") return RunDbIncremental(s);
  json report;
  // WAL wal-receive lost ended the recoverable window: this run is a physical full, whatever the
  // schedule said, so that a new window opens (check fails until one has).
  Settings run = s;
  std::string run_type = type;
  bool forced = false;
  auto lost = UnhealedLosses(s);
  if (!lost.ok()) LogWarn("schedule: reading the record of lost WAL: " + lost.status().message());
  if (lost.ok() && !lost->empty() && !s.db_host.empty()) {
    run_type = "full";
    run.db_backup_method = "physical";
    forced = true;
    InitLog(s.log_dir, "schedule.log");
    LogWarn("schedule: " + DescribeWalLoss(lost->front()) + ": this run is a physical full backup");
  }
  int rc = forced ? RunForcedFull(s, run, type, report) : RunBackup(run, BackupArgs{run_type, "", false}, &report);
  InitLog(s.log_dir, "schedule.log");
  LogInfo("scheduled " + run_type + " backup " + report.value("backup_id", "(none)") +
          (rc == 0 ? " succeeded" : " failed"));
  // backup_failed / backup_succeeded / location_behind came from the backup itself.
  CheckRpo(s, report);

  // Retention after every run, as the guide's schedule expects, at every location on its own
  // (its own snapshots, its own lock): deletions are never copied from local. A failure is
  // alerted on but does not change the backup's result.
  if (Stopping()) return rc;
  InitLog(s.log_dir, "prune.log");
  auto policy = RetentionOf(s);
  for (const auto& loc : ConfiguredLocations(s)) {
    if (Stopping()) break;
    auto r =
        policy.ok() ? RetentionAt(s, loc.name, *policy, std::chrono::seconds(60)) : StatusOr<json>(policy.status());
    if (r.ok()) {
      LogInfo("retention: kept " + std::to_string((*r)["keep"].size()) + ", removed " +
              std::to_string((*r)["remove"].size()) + " backups; prune freed " +
              std::to_string((*r)["prune"].value("bytes_freed", uint64_t{0})) + " bytes (at " + loc.label + ")");
      continue;
    }
    LogError("retention at " + loc.label + ": " + r.status().message());
    Alert a;
    a.event = "retention_failed";
    a.severity = "warning";
    a.error = loc.label + ": " + r.status().message();
    a.details = {{"location", loc.label}};
    NotifyBestEffort(WebhookOf(s), a);
    if (!policy.ok()) break;  // the same error at every location
  }
  return rc;
}

namespace {

// A scheduled job: `schedule run TYPE` as a child, its pid in `slot` for SIGTERM to reach it.
Job ChildJob(const Settings& s, const std::string& type, CronExpr when, std::atomic<pid_t>& slot) {
  return {type, when, [&s, &slot, type] {
            SubprocessSpec spec;
            spec.argv = {"/proc/self/exe", "schedule", "run", type};
            auto child = Subprocess::Start(spec);
            if (!child.ok()) {
              LogError("starting the " + type + " run: " + child.status().message());
              return 1;
            }
            slot = (*child)->pid();
            if (Stopping()) kill((*child)->pid(), SIGTERM);  // a signal that came just before
            int rc = (*child)->Wait();
            slot = 0;
            if (rc >= 128 && !Stopping()) {
              AlertRunDied(s, type, "the " + type + " run was ended by " + SignalText(rc));
            } else if (rc != 0) {
              LogWarn(type + " run exited " + std::to_string(rc) + ": " + (*child)->FirstErrorLine());
            }
            return rc;
          }};
}

// DB_INCREMENTAL_INTERVAL: db-incremental on a scheduler of its own, so that a long full backup
// never holds it back. Null when unset.
StatusOr<std::unique_ptr<Scheduler>> DbIncrementalScheduler(const Settings& s) {
  if (s.db_incremental_interval.empty()) return std::unique_ptr<Scheduler>();
  auto when = ParseCron(s.db_incremental_interval);
  if (!when.ok()) return when.status().Context("DB_INCREMENTAL_INTERVAL");
  std::vector<Job> jobs = {ChildJob(s, "db-incremental", *when, g_db_child)};
  // COCKROACH_NATIVE_SCHEDULE: CockroachDB takes the layers on its own schedule; the run on this
  // timer only makes sure that schedule exists and alerts when its newest job failed.
  LogInfo("schedule: db-incremental '" + s.db_incremental_interval + "'" +
          (s.cockroach_native_schedule ? " (COCKROACH_NATIVE_SCHEDULE: checks CockroachDB's own schedule)" : ""));
  return std::make_unique<Scheduler>(jobs, Env::Default(), OverlapPolicy::kSkip,
                                     [](const std::string& m) { LogInfo("schedule: " + m); });
}

}  // namespace

int RunSchedule(const Settings& s, const ScheduleArgs& a) {
  InitLog(s.log_dir, "schedule.log");
  std::vector<Job> jobs;
  for (const auto& [type, expr, var] :
       {std::tuple<std::string, std::string, std::string>{"full", s.schedule_full, "BACKUP_SCHEDULE_FULL"},
        {"incremental", s.schedule_incremental, "BACKUP_SCHEDULE_INCREMENTAL"}}) {
    if (expr.empty()) continue;
    auto when = ParseCron(expr);
    if (!when.ok()) return Fail(when.status().Context(var));
    jobs.push_back(ChildJob(s, type, *when, g_child));
  }
  auto db_scheduler = DbIncrementalScheduler(s);
  if (!db_scheduler.ok()) return Fail(db_scheduler.status());
  if (jobs.empty())
    return Fail(InvalidArgument("nothing to schedule: BACKUP_SCHEDULE_FULL and _INCREMENTAL are empty"));
  CatchTermination();

  auto log = [](const std::string& m) { LogInfo("schedule: " + m); };
  LogInfo("schedule started: full '" + s.schedule_full + "', incremental '" + s.schedule_incremental + "', overlap " +
          s.schedule_overlap);
  std::fprintf(stderr, "schedule: full '%s', incremental '%s' (local time), overlap %s; logging to %s\n",
               s.schedule_full.c_str(), s.schedule_incremental.c_str(), s.schedule_overlap.c_str(), s.log_dir.c_str());
  auto streams = SuperviseStreams(s);
  std::thread stream_thread;
  if (streams) stream_thread = std::thread([&] { streams->Run(ProcessStopToken()); });
  std::thread db_thread;
  if (*db_scheduler) {
    db_thread = std::thread([&] {
      // The native schedule is created at start, not at the first tick.
      if (s.cockroach_native_schedule)
        ChildJob(s, "db-incremental", *ParseCron(s.db_incremental_interval), g_db_child).run();
      (*db_scheduler)->Run(ProcessStopToken());
    });
  }
  if (a.run_now && jobs.front().name == "full" && !Stopping()) {
    log("running a full backup now (--now)");
    jobs.front().run();
  }
  Scheduler scheduler(jobs, Env::Default(), s.schedule_overlap == "wait" ? OverlapPolicy::kWait : OverlapPolicy::kSkip,
                      log);
  scheduler.Run(ProcessStopToken());
  if (stream_thread.joinable()) stream_thread.join();  // it stops the streams once the token is set
  if (db_thread.joinable()) db_thread.join();
  LogInfo("schedule stopped (signal)");
  std::fprintf(stderr, "schedule: stopped\n");
  return 0;
}

}  // namespace stb
