#include "components/database/pg_physical_restore.h"

#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <climits>

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

// Missing, or an empty directory: nothing of an operator's is overwritten.
Status CheckEmptyTarget(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno == ENOENT ? Status::Ok() : ErrnoStatus("opening " + dir, errno);
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") empty = false;
  }
  ::closedir(d);
  if (!empty) return InvalidArgument(dir + " is not empty: move it aside, or restore with --target-dir");
  return Status::Ok();
}

// The files tree, tablespaces, backup_manifest and pg_verifybackup: WP1's LayDownPhysical. Until
// it is merged a physical entry cannot be laid down by this build.
Status LayDown(Repository&, const json&, const std::string&, const RestoreOptions&) {
  return Unavailable("laying down a physical base backup is not in this build yet (pg-recover recovers one laid down)");
}

json Failed(const std::string& e) { return {{"success", false}, {"error", e}}; }

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
  if (!po.scratch && po.endpoint.host.empty())
    return Failed("--archive-mode preserve restores in place: set DB_HOST/DB_PORT");
  return RunPgRecovery(repo, from, *plan, po);
}

json RestorePhysical(Repository& repo, const json& entry, const Settings& s, const RestoreOptions& o) {
  PgRecoveryOptions po = PgRecoveryOptionsOf(s, o);
  auto target = RecoveryTargetOf(o);
  if (!target.ok()) return Failed(target.status().message());
  auto start_lsn = ParseLsn(entry.value("start_lsn", ""));
  uint64_t sysid = std::strtoull(entry.value("system_identifier", "0").c_str(), nullptr, 10);
  if (!start_lsn.ok() || sysid == 0) return Failed("the physical backup entry has no start_lsn or system_identifier");
  int major = entry.value("server_version", 0) / 10000;
  auto plan = PlanPgRecovery(repo, repo.storage(), sysid, entry.value("start_tli", 1u), *start_lsn, *target, major,
                             s.db_pg_bin_dir);
  if (!plan.ok()) return Failed(plan.status().message());
  std::string recorded;
  for (const auto& root : entry.value("roots", json::array())) {
    if (root.value("name", "") == "pgdata") recorded = root.value("path", "");
  }
  std::string dir = o.target_dir.empty() ? recorded : o.target_dir;
  if (dir.empty()) return Failed("the backup does not record its data directory: give --target-dir");
  Status empty = CheckEmptyTarget(dir);
  if (!empty.ok()) return Failed(empty.message());
  Status laid = LayDown(repo, entry, dir, o);
  if (!laid.ok()) return Failed(laid.message());
  po.data_dir = dir;
  po.backup_id = entry.value("label", "");
  po.scratch = !(o.archive_preserve && dir == recorded);
  return RunPgRecovery(repo, repo.storage(), *plan, po);
}

}  // namespace stb
