#include "components/database/pg_physical_restore.h"

#include <dirent.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>

#include "components/database/pg_drill_point.h"
#include "components/database/pg_physical_laydown.h"
#include "core/file_util.h"
#include "core/log.h"
#include "wal/archive.h"

namespace stb {

using json = nlohmann::json;

namespace {

double Now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

std::string SelfBinary() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, size_t(n)) : "spacetime-backup";
}

std::string ReadText(const std::string& path) {
  auto b = ReadWholeFile(path);
  return b.ok() ? std::string(b->begin(), b->end()) : "";
}

// The files tree (tablespaces re-targeted, owned by the server's account), backup_manifest and
// its check (pg_verifybackup with DB_VERIFY=full): LayDownPhysical.
Status LayDown(Repository& repo, const json& entry, const std::string& dir, const Settings& s, const RestoreOptions& o,
               Progress& progress, json& report) {
  LayDownOptions lo;
  lo.target_dir = dir;
  for (const auto& m : o.tablespace_map) {
    size_t eq = m.find('=');
    lo.tablespace_map[uint32_t(std::strtoul(m.substr(0, eq).c_str(), nullptr, 10))] = m.substr(eq + 1);
  }
  if (::geteuid() == 0) {
    struct passwd* pw = ::getpwnam(s.db_pg_os_user.c_str());
    if (!pw) return InvalidArgument("DB_PG_OS_USER '" + s.db_pg_os_user + "' is not a user of this system");
    lo.owner = std::make_pair(pw->pw_uid, pw->pw_gid);
  }
  lo.workers = s.EffectiveWorkers();
  lo.pg_bin_dir = s.db_pg_bin_dir;
  lo.read_back = s.db_verify == "full";
  double t0 = Now();
  ASSIGN_OR_RETURN(LayDownResult r, LayDownPhysical(repo, entry, lo, progress));
  report["lay_down"] = r.report;
  report["lay_down_seconds"] = Now() - t0;
  report["files"] = r.files;
  report["size_bytes"] = r.size_bytes;
  json ts = json::object();
  for (const auto& [oid, where] : r.tablespaces) ts[std::to_string(oid)] = where;
  report["tablespaces"] = ts;
  report["pg_verifybackup"] = r.report.value("pg_verifybackup", "");
  report["manifest_check"] = r.report.value("manifest_check", json::object());
  if (r.report.contains("pg_verifybackup_seconds"))
    report["pg_verifybackup_seconds"] = r.report["pg_verifybackup_seconds"];
  return Status::Ok();
}

json Failed(const std::string& e) { return {{"success", false}, {"error", e}}; }

bool Exists(const std::string& p) { return ::access(p.c_str(), F_OK) == 0; }

// Whether something answers on the unix socket path.
bool SocketAnswers(const std::string& path) {
  sockaddr_un a{};
  if (path.size() >= sizeof a.sun_path) return false;
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
  Fd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return s.valid() && ::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
}

// A server runs on dir when the pid of its postmaster.pid lives or the socket it names answers
// (a pid from another pid namespace); a postmaster.pid we cannot read is not taken for "stopped".
Status RefuseIfRunning(const std::string& dir) {
  std::string path = dir + "/postmaster.pid";
  if (!Exists(path)) return Status::Ok();
  auto f = ParsePostmasterPid(ReadText(path));
  if (!f.ok()) {
    return InvalidArgument(path + " is unreadable (" + f.status().message() + "): if no server runs on " + dir +
                           ", remove that file and try again");
  }
  std::string why;
  if (::kill(f->pid, 0) == 0 || errno == EPERM) {
    why = "postmaster pid " + std::to_string(f->pid) + " in " + dir;
  } else if (f->complete && !f->socket_dir.empty()) {
    std::string sock = f->socket_dir + "/.s.PGSQL." + std::to_string(f->port);
    if (SocketAnswers(sock)) why = "its socket " + sock + " answers";
  }
  if (why.empty()) return Status::Ok();
  return InvalidArgument("the server is running (" + why +
                         "): stop it before an in-place restore, or give --target-dir");
}

// An in-place restore replaces the data directory at the recorded path: only when no server runs
// there and it holds this backup's cluster (or nothing). It is moved aside, never deleted, to
// `aside`; "" when there was nothing to move.
Status MoveAsideForInPlace(const std::string& dir, uint64_t sysid, std::string& aside) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return errno == ENOENT ? Status::Ok() : ErrnoStatus("lstat " + dir, errno);
  // Renaming a link moves the link, not the directory: the lay-down would then write through it.
  if (S_ISLNK(st.st_mode)) {
    return InvalidArgument("the data directory " + dir +
                           " is a symbolic link: nothing replaced; put the directory itself at that path (or give "
                           "--target-dir)");
  }
  RETURN_IF_ERROR(RefuseIfRunning(dir));
  DIR* d = ::opendir(dir.c_str());
  if (!d) return ErrnoStatus("opening " + dir, errno);
  bool empty = true;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") empty = false;
  }
  ::closedir(d);
  if (empty) return Status::Ok();
  auto found = ReadSystemIdentifier(dir);
  if (!found.ok()) {
    return InvalidArgument(dir + " is not a PostgreSQL data directory (" + found.status().message() +
                           "): nothing replaced; give --target-dir or move it aside");
  }
  if (*found != sysid) {
    return InvalidArgument(dir + " holds another cluster (system identifier " + std::to_string(*found) +
                           ", the backup's is " + std::to_string(sysid) +
                           "): nothing replaced; check DB_HOST or give --target-dir");
  }
  aside = dir + ".stb-before-restore-" + RandomHex(3);
  LogInfo("in-place restore: moving " + dir + " aside to " + aside);
  if (::rename(dir.c_str(), aside.c_str()) != 0) return ErrnoStatus("moving " + dir + " aside to " + aside, errno);
  return FsyncDir(Dirname(dir));
}

// A lay-down that failed: the previous data directory goes back where it was.
// Says where the previous data is when it could not go back: never claim it is in place.
std::string PutBack(const std::string& dir, const std::string& aside) {
  if (aside.empty()) return "";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // only what this restore laid down
  if (::rename(aside.c_str(), dir.c_str()) != 0) {
    std::string why = std::strerror(errno);
    LogError("could not move " + aside + " back to " + dir + ": " + why);
    return " (the previous data directory could NOT be moved back (" + why + "): it is intact at " + aside +
           "; move it to " + dir + " by hand)";
  }
  (void)FsyncDir(Dirname(dir));
  return " (the previous data directory is back in place)";
}

// PostgreSQL stops at the first commit after a target time: with none after it in the WAL it
// replays everything and fails without promoting, after the lay-down (in place: with the old
// directory moved aside). Refused first, when pg_waldump can tell; else the server will.
Status CheckTimeReachable(Repository& repo, const PgRecoveryPlan& plan, uint64_t start_lsn) {
  if (plan.target.kind != RecoveryTarget::kTime) return Status::Ok();
  auto newest = NewestStoredCommit(repo, plan, start_lsn);
  if (!newest.ok()) {
    LogWarn("restore: the newest commit in the stored WAL is unknown (" + newest.status().message() +
            "): PostgreSQL checks --target-time itself");
    return Status::Ok();
  }
  if (newest->time_unix <= 0 || plan.target.time_unix <= newest->time_unix) return Status::Ok();
  return InvalidArgument("--target-time " + PgTimestampUtc(plan.target.time_unix) +
                         " is after the newest commit in the stored WAL (" + PgTimestampUtc(newest->time_unix) +
                         "): PostgreSQL cannot stop there; restore with --latest to recover everything, or give an "
                         "earlier time (nothing was laid down)");
}

}  // namespace

StatusOr<RecoveryTarget> RecoveryTargetOf(const RestoreOptions& o) {
  RecoveryTarget t;
  if (o.recovery_target == "latest") {
    t.kind = RecoveryTarget::kLatest;
  } else if (o.recovery_target == "immediate") {
    t.kind = RecoveryTarget::kImmediate;
  } else if (o.recovery_target == "time") {
    t.kind = RecoveryTarget::kTime;
    t.time_unix = o.target_time_unix;
  } else if (o.recovery_target == "lsn") {
    t.kind = RecoveryTarget::kLsn;
    auto lsn = ParseLsn(o.target_lsn);
    if (!lsn.ok()) return InvalidArgument("--target-lsn '" + o.target_lsn + "' is not an LSN (X/Y in hex)");
    t.lsn = *lsn;
  } else {
    return InvalidArgument("unknown recovery target '" + o.recovery_target + "'");
  }
  return t;
}

PgRecoveryOptions PgRecoveryOptionsOf(const Settings& s, const RestoreOptions& o) {
  PgRecoveryOptions p;
  p.archive_preserve = o.archive_preserve;
  p.port = o.pg_port;
  p.stop_after = o.stop_after;
  p.os_user = s.db_pg_os_user;
  p.start_command = s.db_start_command;
  p.amcheck = s.db_verify != "none";
  p.timeout_seconds = s.db_recovery_timeout;
  p.prefetch = s.wal_fetch_prefetch;
  p.jobs = std::max({s.aws_parallel_jobs, s.azure_parallel_jobs, s.gcs_parallel_jobs, 2});
  p.workers = s.EffectiveWorkers();
  p.retry_seconds = s.wal_fetch_retry_seconds;
  p.endpoint = {s.db_host, s.db_port, s.db_name, s.db_user, s.db_password, s.db_sslmode};
  p.started_unix = Now();
  p.self_binary = SelfBinary();
  return p;
}

json RecoverLaidDown(const Repository& repo, Storage& from, const std::string& dir, const Settings& s,
                     const RestoreOptions& o) {
  PgRecoveryOptions po = PgRecoveryOptionsOf(s, o);
  auto target = RecoveryTargetOf(o);
  if (!target.ok()) return Failed(target.status().message());
  std::string label_text = ReadText(dir + "/backup_label");
  if (label_text.empty()) {
    return Failed(dir + "/backup_label is missing: pg-recover needs a base backup's files (pg_basebackup -X none)");
  }
  auto label = ParseBackupLabel(label_text);
  if (!label.ok()) return Failed(label.status().message());
  auto sysid = ReadSystemIdentifier(dir);
  if (!sysid.ok()) return Failed(sysid.status().message());
  int major = std::atoi(ReadText(dir + "/PG_VERSION").c_str());
  if (major <= 0) return Failed(dir + "/PG_VERSION is missing or unreadable");
  auto plan = PlanPgRecovery(repo, from, *sysid, label->start_tli, label->start_lsn, *target, major, s.db_pg_bin_dir);
  if (!plan.ok()) return Failed(plan.status().message());
  po.data_dir = dir;
  po.backup_id = "pg-recover";
  po.scratch = !o.archive_preserve;
  return RunPgRecovery(repo, from, *plan, po);
}

json RestorePhysical(Repository& repo, const json& entry, const Settings& s, const RestoreOptions& o,
                     Progress& progress) {
  PgRecoveryOptions po = PgRecoveryOptionsOf(s, o);
  auto target = RecoveryTargetOf(o);
  if (!target.ok()) return Failed(target.status().message());
  auto plan = PlanEntryRecovery(repo, repo.storage(), entry, *target, s.db_pg_bin_dir);
  if (!plan.ok()) return Failed(plan.status().message());
  uint64_t sysid = plan->system_id;
  Status reachable = CheckTimeReachable(repo, *plan, plan->wal.path.front().begin_lsn);
  if (!reachable.ok()) return Failed(reachable.message());
  std::string recorded;
  for (const auto& root : entry.value("roots", json::array())) {
    if (root.value("name", "") == "pgdata") recorded = root.value("path", "");
  }
  std::string dir = o.target_dir.empty() ? recorded : o.target_dir;
  if (dir.empty()) return Failed("the backup does not record its data directory: give --target-dir");
  // In place: the configured server's own directory, recovered by a private server on a socket in
  // the run directory, then started as configured (pg_recovery.cc).
  bool in_place = o.target_dir.empty();
  std::string aside;
  if (in_place) {
    Status st = MoveAsideForInPlace(dir, sysid, aside);
    if (!st.ok()) return Failed(st.message() + PutBack(dir, aside));
  }
  json laid;
  if (!aside.empty()) laid["previous_data_directory"] = aside;
  Status st = LayDown(repo, entry, dir, s, o, progress, laid);
  if (!st.ok()) {
    return Failed(st.message() + PutBack(dir, aside));
  }
  po.data_dir = dir;
  po.backup_id = entry.value("label", "");
  po.scratch = !in_place && !(o.archive_preserve && dir == recorded);
  json r = RunPgRecovery(repo, repo.storage(), *plan, po);
  if (!r.value("success", false) && !aside.empty()) {  // the operator's next step needs both paths
    r["error"] = r.value("error", std::string("recovery failed")) + " (in place: " + dir +
                 " holds the restored backup; the previous data directory is intact at " + aside + ")";
  }
  r.update(laid);
  return r;
}

}  // namespace stb
