// `wal-push %p` and `wal-fetch %f %p`: PostgreSQL's archive_command and restore_command. The
// work is in wal/archive; this opens the locations and turns the outcome into exit codes.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_alerts.h"
#include "cli/wal_locations.h"
#include "cloud/locations.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/subprocess.h"
#include "wal/archive.h"
#include "wal/spool.h"
#include "wal/staging.h"

namespace stb {

namespace {

// Exit code of restore_command when the answer is unknown: PostgreSQL treats codes above 125 as
// fatal, so recovery stops at the last good point instead of ending early and promoting.
constexpr int kCannotTell = 255;

// The same WAL file name with other content: PostgreSQL retries forever and nothing is
// overwritten, so someone must look (two clusters on one repository, or a damaged pg_wal).
void AlertConflict(const Settings& s, const std::string& message) { AlertWal(s, "wal_conflict", "critical", message); }

// For transaction_log_lag_seconds: the newest WAL position each location holds.
void RecordStored(Catalog& c, const WalPushResult& r) {
  if (r.end_lsn == 0) return;
  for (const auto& loc : r.stored_in) {
    Status st = c.RecordWal(LocationLabel(loc), r.cluster, r.end_lsn, Env::Default().NowSeconds());
    if (!st.ok()) LogWarn("wal-push: " + st.message());
  }
}

WalPushOptions PushOptions(const Settings& s, const WalPushArgs& a) {
  WalPushOptions o;
  o.path = a.path;
  o.pgdata = a.pgdata;
  o.compression = s.compression;
  o.required_offsite = s.wal_push_offsite;
  o.offsite_timeout_seconds = s.wal_push_offsite_timeout;
  o.outbox_dir = s.state_dir + "/wal-outbox";
  return o;
}

std::string AbsolutePath(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char cwd[4096];
  return ::getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + p : p;
}

// The resident spool daemon (WAL_PUSH_ASYNC): one per BACKUP_STATE_DIR, started by wal-push.
int RunWalPushDaemon(const Settings& s, const WalPushArgs& a) {
  InitLog(s.log_dir, "wal.log");
  WalSpoolDaemonOptions o;
  o.spool.dir = s.state_dir + "/wal-spool";
  o.pg_wal = Dirname(AbsolutePath(a.path));
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) {
    // Every waiting wal-push prints this at once instead of timing out.
    WriteWalSpoolErrors(o.spool, o.pg_wal, "wal-push daemon: " + repo.status().message());
    return Fail(repo.status());
  }
  std::vector<std::string> warnings;
  auto offsite = WalOffsiteLocations(s, warnings);
  for (const auto& w : warnings) LogWarn("wal-push daemon: " + w);
  o.jobs = s.wal_push_jobs;
  o.push = PushOptions(s, a);
  o.push.pgdata = a.pgdata.empty() ? Dirname(o.pg_wal) : AbsolutePath(a.pgdata);
  auto catalog = Catalog::Open(s.state_dir);
  if (!catalog.ok()) LogWarn("wal-push daemon: " + catalog.status().message() + " (metrics will miss WAL)");
  o.on_pushed = [&s, &catalog](const std::string& name, const StatusOr<WalPushResult>& r) {
    if (!r.ok()) {
      LogError("wal-push daemon " + name + ": " + r.status().message());
      if (r.status().code() == Code::kAlreadyExists) AlertConflict(s, r.status().message());
      return;
    }
    for (const auto& w : r->warnings) LogWarn("wal-push daemon: " + w);
    if (catalog.ok()) RecordStored(**catalog, *r);
    LogInfo("wal-push daemon " + r->object + " stored (" + r->timing + ")");
  };
  Status st = RunWalSpoolDaemon(**repo, (*repo)->storage(), offsite, o);
  // Offsite copies cut short by their timeout may still run: end without waiting for them (their
  // outbox entries make the next push finish them).
  int rc = st.ok() ? 0 : Fail(st);
  std::fflush(nullptr);
  ::_exit(rc);
}

// WAL_PUSH_ASYNC: hand the file to the spool daemon (starting it if needed) and wait for its ack,
// written only once the file is durable locally and in WAL_PUSH_OFFSITE.
int RunWalPushAsync(const Settings& s, const WalPushArgs& a) {
  InitLog(s.log_dir, "wal.log");
  WalSpoolWaitOptions o;
  o.spool.dir = s.state_dir + "/wal-spool";
  o.path = a.path;
  std::vector<std::string> argv = {"/proc/self/exe", "wal-push", "--daemon"};
  if (!a.pgdata.empty()) argv.insert(argv.end(), {"--pgdata", AbsolutePath(a.pgdata)});
  argv.push_back(AbsolutePath(a.path));
  o.start_daemon = [&] {
    RETURN_IF_ERROR(MakeDirs(o.spool.dir + "/ack"));
    LogInfo("wal-push: starting the spool daemon for " + Dirname(argv.back()));
    return SpawnDetached(argv);
  };
  Status st = WaitForWalAck(o);
  if (!st.ok()) return Fail(st);
  LogInfo("wal-push " + Basename(a.path) + " acknowledged by the spool daemon");
  return 0;
}

}  // namespace

int RunWalPush(const Settings& s, const WalPushArgs& a) {
  if (a.daemon) return RunWalPushDaemon(s, a);
  // The daemon pushes what PostgreSQL marked .ready; anything else (a manual push) is pushed here.
  if (s.wal_push_async && WalFileIsReady(a.path)) return RunWalPushAsync(s, a);
  auto start = std::chrono::steady_clock::now();
  InitLog(s.log_dir, "wal.log");
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  std::vector<std::string> warnings;
  WalPushOptions o = PushOptions(s, a);
  auto offsite = WalOffsiteLocations(s, warnings);
  auto open_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  auto res = PushWal(**repo, (*repo)->storage(), offsite, o);
  if (!res.ok()) {
    if (res.status().code() == Code::kAlreadyExists) AlertConflict(s, res.status().message());
    return Fail(res.status());
  }
  warnings.insert(warnings.end(), res->warnings.begin(), res->warnings.end());
  if (res->end_lsn != 0) {
    UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) {
      RecordStored(c, *res);
      return Status::Ok();
    });
  }
  for (const auto& w : warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
    LogWarn("wal-push: " + w);
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  LogInfo("wal-push " + res->object + " stored in " + std::to_string(ms) + " ms (open " + std::to_string(open_ms) +
          ", " + res->timing + ")");
  if (res->copies_running) {
    // A slow location is still being written by a thread that uses the repository: end here
    // (its outbox entry makes the next push or `replicate` finish the copy).
    std::fflush(nullptr);
    ::_exit(0);
  }
  return 0;
}

// restore_command of a restore's server: only moves the file the restore staged (wal/staging.h).
int RunWalFetchStaged(const WalFetchArgs& a) {
  Status st = FetchStaged(a.staging, a.file, a.dest);
  if (st.ok()) return 0;
  std::fprintf(stderr, "wal-fetch: %s\n", st.message().c_str());
  return st.code() == Code::kNotFound ? 1 : kCannotTell;
}

int RunWalFetch(const Settings& s, const WalFetchArgs& a) {
  if (!a.staging.empty()) return RunWalFetchStaged(a);
  InitLog(s.log_dir, "wal.log");
  auto repo = OpenRepository(s, a.location);
  if (!repo.ok()) {
    Fail(repo.status());
    return kCannotTell;
  }
  WalFetchOptions o;
  o.file = a.file;
  o.dest = a.dest;
  o.pgdata = a.pgdata;
  o.retry_seconds = s.wal_fetch_retry_seconds;
  Status st = FetchWal(**repo, (*repo)->storage(), o);
  if (st.ok()) {
    LogInfo("wal-fetch " + a.file + " served from " + a.location);
    return 0;
  }
  if (st.code() == Code::kNotFound) {
    LogInfo("wal-fetch: " + st.message());
    std::fprintf(stderr, "wal-fetch: %s\n", st.message().c_str());
    return 1;
  }
  Fail(st);
  return kCannotTell;
}

}  // namespace stb
