#include "components/database/pg_recovery.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/file_util.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/redact.h"
#include "core/subprocess.h"
#include "wal/staging.h"

namespace stb {

using json = nlohmann::json;

namespace {

double Now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

bool Executable(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

// The output of a short command (--version), or "" when it cannot run.
std::string Output(const std::vector<std::string>& argv) {
  auto p = Subprocess::Start({.argv = argv, .pipe_stdout = true});
  if (!p.ok()) return "";
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read((*p)->stdout_fd(), buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  (*p)->Wait();
  return out;
}

using Account = RunAsAccount;

// The server's account when we are root (nothing to switch to otherwise).
StatusOr<std::optional<Account>> ServerAccount(const std::string& user) {
  if (::geteuid() != 0) return std::optional<Account>();
  auto a = LookUpAccount(user);
  if (!a.ok()) return InvalidArgument("DB_PG_OS_USER: " + a.status().message());
  return std::optional<Account>(std::move(*a));
}

// Runs argv as the account with a minimal environment (nothing of ours, passwords or key paths,
// reaches the server) and its output appended to log_path; returns the exit code.
StatusOr<int> RunAs(const std::vector<std::string>& argv, const std::optional<Account>& as, const std::string& log_path,
                    const std::vector<std::string>& extra_env = {}) {
  SubprocessSpec spec{.argv = argv, .output_path = log_path, .clean_env = true, .run_as = as};
  for (const auto& kv : extra_env) {
    size_t eq = kv.find('=');
    spec.env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  ASSIGN_OR_RETURN(auto p, Subprocess::Start(spec));
  return p->Wait();
}

std::string Tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) out += all[i] + "\n";
  return out;
}

// The last n FATAL/PANIC lines of the server's log, joined with " | ".
std::string FatalLines(const std::string& log, size_t n) {
  std::ifstream in(log);
  std::vector<std::string> hits;
  for (std::string l; std::getline(in, l);) {
    bool fatal = l.find("FATAL:") != std::string::npos || l.find("PANIC:") != std::string::npos;
    // Our own connection attempts while the server is not consistent yet.
    bool ours = l.find("the database system is starting up") != std::string::npos ||
                l.find("not yet accepting connections") != std::string::npos;
    if (fatal && !ours) hits.push_back(l);
  }
  std::string out;
  for (size_t i = hits.size() > n ? hits.size() - n : 0; i < hits.size(); ++i)
    out += (out.empty() ? "" : " | ") + hits[i];
  return out;
}

int FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (s >= 0 && ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  if (s >= 0) ::close(s);
  return port;
}

Status WriteText(const std::string& path, const std::string& text, bool append, const std::optional<Account>& as) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0600));
  if (!fd.valid()) return ErrnoStatus("writing " + path, errno);
  RETURN_IF_ERROR(WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(text.data()), text.size(), path));
  if (as && ::fchown(fd.get(), as->uid, as->gid) != 0) return ErrnoStatus("chown " + path, errno);
  return Status::Ok();
}

// A new directory for this restore only: one that exists already (left by a crashed restore, or
// planted by the server's account beside its data directory) is refused, and the ownership is
// changed through a descriptor that followed no symlink.
Status MakeOwnedDir(const std::string& path, const std::optional<Account>& as) {
  if (::mkdir(path.c_str(), 0700) != 0) {
    if (errno == EEXIST) return AlreadyExists(path + " exists: remove it (a previous restore's) and try again");
    return ErrnoStatus("creating " + path, errno);
  }
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("opening " + path, errno);
  if (as && ::fchown(fd.get(), as->uid, as->gid) != 0) return ErrnoStatus("chown " + path, errno);
  return Status::Ok();
}

void RemoveTree(const std::string& dir) { Output({"/bin/rm", "-rf", "--", dir}); }

bool FileExists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// The postmaster's pid from postmaster.pid when that file names our socket directory: a pid file
// of another server (or one planted by the server's account) is not ours. 0 while there is none
// (or not all of it) yet; an error when it names another socket.
StatusOr<pid_t> PostmasterPidOf(const std::string& dir, const std::string& sock) {
  std::ifstream in(dir + "/postmaster.pid");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto f = ParsePostmasterPid(text);
  // Not (completely) written yet: the socket line stays empty until the server listens there.
  if (!f.ok() || !f->complete || f->socket_dir.empty()) return pid_t(0);
  if (f->socket_dir != sock) {
    return InvalidArgument(dir + "/postmaster.pid names the socket directory '" + f->socket_dir + "', not " + sock +
                           ": it is not the server this restore started");
  }
  return f->pid;
}

// Recovery settings, and the files a Debian-style backup lacks (its configuration is in /etc).
Status WriteRecoverySettings(const PgRecoveryPlan& plan, const PgRecoveryOptions& o, const std::string& stage,
                             const std::string& sock, int port, const std::optional<Account>& as, json& report) {
  const std::string& d = o.data_dir;
  RETURN_IF_ERROR(WriteText(d + "/recovery.signal", "", false, as));
  ::unlink((d + "/standby.signal").c_str());
  json added = json::array();
  if (!FileExists(d + "/postgresql.conf")) {
    RETURN_IF_ERROR(WriteText(d + "/postgresql.conf", "", false, as));
    added.push_back("postgresql.conf (empty)");
  }
  if (!FileExists(d + "/pg_hba.conf")) {
    RETURN_IF_ERROR(WriteText(d + "/pg_hba.conf",
                              "local all all scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n", false, as));
    added.push_back("pg_hba.conf (local and 127.0.0.1, scram-sha-256)");
  }
  if (!added.empty()) report["config_files_written"] = added;
  RecoveryConf c;
  c.binary = o.self_binary;
  c.stage_dir = stage;
  c.target = plan.target;
  c.scratch = o.scratch;
  c.archive_off = !o.archive_preserve;
  c.port = port;
  c.socket_dir = sock;
  c.comment = "spacetime-backup restore " + o.backup_id + " " + PgTimestampUtc(Now());
  return WriteText(d + "/postgresql.auto.conf", RecoveryConfText(c), true, as);
}

struct ReplayState {
  bool in_recovery = true;
  std::string lsn;
  std::optional<double> xact_time;
};

StatusOr<ReplayState> QueryReplay(PgConnection& c) {
  // A bounded wait: an answer that never comes must not outlast DB_RECOVERY_TIMEOUT.
  ASSIGN_OR_RETURN(auto rows, c.Query("SELECT pg_is_in_recovery()::text, pg_last_wal_replay_lsn()::text, "
                                      "extract(epoch FROM pg_last_xact_replay_timestamp())::text",
                                      30));
  if (rows.size() != 1 || rows[0].size() != 3) return Internal("unexpected answer to the replay query");
  ReplayState r;
  r.in_recovery = rows[0][0].value_or("") == "true";
  r.lsn = rows[0][1].value_or("");
  if (rows[0][2]) {
    ASSIGN_OR_RETURN(r.xact_time, ParseDecimal(*rows[0][2], -1e12, 1e12, "the last replayed transaction's time"));
  }
  return r;
}

}  // namespace

StatusOr<PgBinaries> FindPgBinaries(int major, const std::string& bin_dir) {
  std::string dir = bin_dir.empty() ? "/usr/lib/postgresql/" + std::to_string(major) + "/bin" : bin_dir;
  PgBinaries b{dir + "/postgres", dir + "/pg_ctl", dir + "/pg_verifybackup", dir + "/pg_amcheck"};
  for (const auto* p : {&b.postgres, &b.pg_ctl, &b.pg_verifybackup, &b.pg_amcheck}) {
    if (!Executable(*p)) {
      return NotFound(*p + " not found: restoring a PostgreSQL " + std::to_string(major) + " backup needs postgresql-" +
                      std::to_string(major) + (bin_dir.empty() ? "" : " in DB_PG_BIN_DIR") + " (or set DB_PG_BIN_DIR)");
    }
  }
  if (!bin_dir.empty()) {
    std::string v = Output({b.postgres, "--version"});  // "postgres (PostgreSQL) 15.4 (Debian ...)"
    size_t at = v.find(") ");
    int got = at == std::string::npos ? 0 : std::atoi(v.c_str() + at + 2);
    if (got != major) {
      return InvalidArgument("DB_PG_BIN_DIR " + bin_dir + " holds PostgreSQL " + std::to_string(got) +
                             ", but the backup is PostgreSQL " + std::to_string(major) +
                             ": a data directory needs exactly its major version");
    }
  }
  return b;
}

StatusOr<PostmasterPidFile> ParsePostmasterPid(std::string_view text) {
  std::vector<std::string_view> lines;
  for (size_t at = 0; at < text.size() && lines.size() < 5;) {
    size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) break;  // a line being written
    lines.push_back(text.substr(at, nl - at));
    at = nl + 1;
  }
  if (lines.empty()) return Corrupt("postmaster.pid has no pid line");
  PostmasterPidFile f;
  ASSIGN_OR_RETURN(int64_t pid, ParseInt(lines[0], 1, INT32_MAX, "the pid in postmaster.pid"));
  f.pid = pid_t(pid);
  if (lines.size() < 5) return f;
  ASSIGN_OR_RETURN(int64_t port, ParseInt(lines[3], 1, 65535, "the port in postmaster.pid"));
  f.port = int(port);
  f.socket_dir = std::string(lines[4]);
  f.complete = true;
  return f;
}

StatusOr<BackupLabel> ParseBackupLabel(std::string_view text) {
  BackupLabel b;
  bool lsn = false;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    const std::string kStart = "START WAL LOCATION: ", kTli = "START TIMELINE: ";
    if (line.rfind(kStart, 0) == 0) {
      std::string v = line.substr(kStart.size());
      ASSIGN_OR_RETURN(b.start_lsn, ParseLsn(v.substr(0, v.find(' '))));
      lsn = true;
    } else if (line.rfind(kTli, 0) == 0) {
      b.start_tli = uint32_t(std::strtoul(line.c_str() + kTli.size(), nullptr, 10));
    }
  }
  if (!lsn) return Corrupt("backup_label has no START WAL LOCATION line");
  if (b.start_tli == 0) b.start_tli = 1;  // before PG 11 the line did not exist
  return b;
}

StatusOr<PgRecoveryPlan> PlanPgRecovery(const Repository& repo, Storage& from, uint64_t system_id, uint32_t start_tli,
                                        uint64_t start_lsn, const RecoveryTarget& target, int major,
                                        const std::string& bin_dir) {
  PgRecoveryPlan p;
  p.system_id = system_id;
  p.target = target;
  p.cluster = WalStore::ClusterOf(repo, system_id);
  WalStore store(repo, p.cluster);
  ASSIGN_OR_RETURN(WalListing listing, store.List(from));
  std::map<uint32_t, std::vector<TimelineHistoryEntry>> histories;
  for (uint32_t tli : listing.histories) {
    ASSIGN_OR_RETURN(WalObject o, store.Read(from, WalName{.kind = WalName::kHistory, .tli = tli}));
    auto h = ParseTimelineHistory(std::string_view(reinterpret_cast<const char*>(o.raw.data()), o.raw.size()));
    if (!h.ok()) return h.status().Context("timeline history " + std::to_string(tli));
    histories[tli] = *h;
  }
  auto wal = PlanRecovery(listing, histories, start_tli, start_lsn);
  if (!wal.ok()) return wal.status().Context("WAL of cluster " + p.cluster);
  p.wal = *wal;
  if (target.kind == RecoveryTarget::kLsn && target.lsn > p.wal.wal_end_lsn) {
    return InvalidArgument("--target-lsn " + FormatLsn(target.lsn) +
                           " is beyond the WAL in the repository, which ends at " + FormatLsn(p.wal.wal_end_lsn) +
                           (p.wal.gap ? " (" + *p.wal.gap + ")" : ""));
  }
  if (target.kind == RecoveryTarget::kTime) {
    RETURN_IF_ERROR(CheckTargetTime(p.wal, target.time_unix, NewestWalWrittenAt(store, from, listing, p.wal)));
  }
  if (target.kind == RecoveryTarget::kLsn && target.lsn < start_lsn) {
    return InvalidArgument("--target-lsn " + FormatLsn(target.lsn) + " is before the backup's start " +
                           FormatLsn(start_lsn));
  }
  ASSIGN_OR_RETURN(p.bin, FindPgBinaries(major, bin_dir));
  return p;
}

StatusOr<PgRecoveryPlan> PlanEntryRecovery(const Repository& repo, Storage& from, const json& entry,
                                           const RecoveryTarget& target, const std::string& bin_dir) {
  auto start_lsn = ParseLsn(entry.value("start_lsn", ""));
  auto end_lsn = ParseLsn(entry.value("end_lsn", ""));
  auto sysid = ParseUint(entry.value("system_identifier", ""), UINT64_MAX, "system identifier");
  if (!start_lsn.ok() || !end_lsn.ok() || !sysid.ok() || *sysid == 0 || *end_lsn < *start_lsn) {
    return Corrupt("the physical backup entry has no valid start_lsn, end_lsn or system_identifier");
  }
  uint32_t start_tli = entry.value("start_tli", 1u);
  int major = entry.value("server_version", 0) / 10000;
  auto plan = PlanPgRecovery(repo, from, *sysid, start_tli, *start_lsn, target, major, bin_dir);
  if (plan.ok() || entry.value("wal_source", "") != "included") return plan;
  if (plan.status().code() != Code::kNotFound) return plan;
  if (target.kind == RecoveryTarget::kTime || target.kind == RecoveryTarget::kLsn) {
    return InvalidArgument(
        "this backup carries only its own WAL (it was taken without WAL archiving, DB_WAL_SOURCE included): it "
        "restores to its end, " +
        FormatLsn(*end_lsn) +
        " (--latest or --immediate); point-in-time targets need archive_command running wal-push or wal-receive "
        "before the backup (" +
        plan.status().message() + ")");
  }
  uint64_t seg = entry.value("wal_segment_size", uint64_t(0));
  if (!ValidSegmentSize(seg)) return Corrupt("the physical backup entry has no valid wal_segment_size");
  PgRecoveryPlan p;
  p.system_id = *sysid;
  p.cluster = WalStore::ClusterOf(repo, *sysid);
  p.target = target;
  p.included_wal_only = true;
  p.wal.seg_size = static_cast<uint32_t>(seg);
  p.wal.path = {TimelineStep{.tli = start_tli, .begin_lsn = *start_lsn, .end_lsn = 0}};
  p.wal.wal_end_lsn = *end_lsn;
  p.wal.last_segno = (*end_lsn > 0 ? *end_lsn - 1 : 0) / seg;
  ASSIGN_OR_RETURN(p.bin, FindPgBinaries(major, bin_dir));
  return p;
}

namespace {

// Recovery of the configured server's own directory (in place) runs privately: no TCP listener
// and our socket and port given on pg_ctl's command line, so nothing of it stays in the
// configuration and nothing else can stand in for it at DB_HOST/DB_PORT.
// Its authentication is trust on that socket alone (a directory only root and the server's account
// can enter, see MakeOwnedDir): no password of ours goes anywhere while it recovers.
std::string PrivateServerOptions(const std::string& sock, int port, const std::string& hba) {
  auto word = [](const std::string& v) {
    std::string w = "'";
    for (char c : v) w += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return w + "'";
  };
  return "-c listen_addresses= -p " + std::to_string(port) + " -k " + word(sock) + " -c " + word("hba_file=" + hba);
}

std::string PrivateHbaPath(const std::string& sock) { return sock.substr(0, sock.rfind('/')) + "/pg_hba.conf"; }

// Starts the server for recovery (pg_ctl as its account; DB_START_COMMAND for a restore beside the
// original) and waits for a postmaster.pid naming our socket directory.
StatusOr<pid_t> StartServer(const PgRecoveryPlan& plan, const PgRecoveryOptions& o, const std::optional<Account>& as,
                            const std::string& log, const std::string& sock, int port) {
  StatusOr<int> rc = 0;
  bool command = o.scratch && !o.start_command.empty();
  if (command) {
    rc = RunAs({"/bin/sh", "-c", o.start_command}, std::nullopt, log + ".start", {"PGDATA=" + o.data_dir});
  } else {
    std::vector<std::string> argv = {plan.bin.pg_ctl, "-D", o.data_dir, "-l", log, "-W"};
    if (!o.scratch) argv.insert(argv.end(), {"-o", PrivateServerOptions(sock, port, PrivateHbaPath(sock))});
    argv.push_back("start");
    rc = RunAs(argv, as, log + ".start");
  }
  if (!rc.ok()) return rc.status();
  if (*rc != 0) {
    return IoError((command ? "DB_START_COMMAND" : "pg_ctl start") + std::string(" exited ") + std::to_string(*rc) +
                   ": " + Tail(log + ".start", 5) + FatalLines(log, 5));
  }
  for (int i = 0; i < 300; ++i) {
    ASSIGN_OR_RETURN(pid_t pid, PostmasterPidOf(o.data_dir, sock));
    if (pid > 0) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return IoError("the server did not start within 30 s: " + FatalLines(log, 5));
}

// After an in-place recovery: the private server stopped, then the configured one started as the
// operator starts it (DB_START_COMMAND, else pg_ctl with the directory's own settings).
Status HandOver(const PgRecoveryPlan& plan, const PgRecoveryOptions& o, const std::optional<Account>& as,
                const std::string& log, json& r) {
  auto rc = RunAs({plan.bin.pg_ctl, "-D", o.data_dir, "-m", "fast", "-w", "stop"}, as, log + ".start");
  if (!rc.ok() || *rc != 0) return IoError("pg_ctl stop of the recovered server failed: " + Tail(log + ".start", 3));
  if (o.stop_after) {
    r["stopped"] = true;
    return Status::Ok();
  }
  bool command = !o.start_command.empty();
  if (command) {
    rc = RunAs({"/bin/sh", "-c", o.start_command}, std::nullopt, log + ".start", {"PGDATA=" + o.data_dir});
  } else {
    rc = RunAs({plan.bin.pg_ctl, "-D", o.data_dir, "-l", log, "-W", "start"}, as, log + ".start");
  }
  if (!rc.ok()) return rc.status();
  if (*rc != 0) {
    return IoError("recovered, but " + std::string(command ? "DB_START_COMMAND" : "pg_ctl start") + " exited " +
                   std::to_string(*rc) + ": " + Tail(log + ".start", 5));
  }
  r["started"] = command ? "DB_START_COMMAND" : "pg_ctl";
  return Status::Ok();
}

}  // namespace

json RunPgRecovery(const Repository& repo, Storage& from, const PgRecoveryPlan& plan, const PgRecoveryOptions& o) {
  json r = {{"success", false},
            {"data_directory", o.data_dir},
            {"target", plan.target.Describe()},
            {"wal_end_lsn", FormatLsn(plan.wal.wal_end_lsn)},
            {"wal_cluster", plan.cluster}};
  r["timeline_path"] = plan.wal.Timelines();
  auto fail = [&](const std::string& e) {
    r["error"] = RedactSecrets(e, {o.endpoint.password});
    return r;
  };
  auto as = ServerAccount(o.os_user);
  if (!as.ok()) return fail(as.status().message());
  std::string stage = o.data_dir + ".stb-wal-" + RandomHex(4), run = o.data_dir + ".stb-run-" + RandomHex(3);
  std::string sock = run + "/sock", log = run + "/postgres.log";
  int port = o.port ? o.port : FreePort();
  for (const auto& d : {stage, run, sock}) {
    Status st = MakeOwnedDir(d, *as);
    if (!st.ok()) return fail(st.message());
  }
  r["port"] = port;
  r["socket_directory"] = sock;
  r["server_log"] = log;
  Status st = WriteRecoverySettings(plan, o, stage, sock, port, *as, r);
  if (st.ok() && !o.scratch) st = WriteText(PrivateHbaPath(sock), "local all all trust\n", false, *as);
  if (!st.ok()) return fail(st.message());

  StagerOptions so{.dir = stage,
                   .system_id = plan.system_id,
                   .plan = plan.wal,
                   .prefetch = o.prefetch,
                   .jobs = o.jobs,
                   .retry_seconds = o.retry_seconds};
  if (*as) so.owner = std::make_pair((*as)->uid, (*as)->gid);
  WalStager stager(repo, from, so);
  stager.Start();
  struct Cleanup {
    WalStager& s;
    std::string dir;
    ~Cleanup() {
      s.Stop();
      RemoveTree(dir);
    }
  } cleanup{stager, stage};

  auto pid = StartServer(plan, o, *as, log, sock, port);
  if (!pid.ok()) {  // a server pg_ctl started but we do not trust: stopped as its own account
    (void)RunAs({plan.bin.pg_ctl, "-D", o.data_dir, "-m", "immediate", "-w", "stop"}, *as, log + ".start");
    return fail(pid.status().message());
  }
  if (o.scratch) r["postmaster_pid"] = *pid;  // what a drill stops when recovery fails half-way
  // Only through the socket in our run directory (the server's account and root alone reach it):
  // never DB_HOST/DB_PORT, where anything may listen while the configured server is down.
  DbEndpoint ep = o.endpoint;
  ep.name = "postgres";
  ep.host = sock;
  ep.port = port;
  ep.sslmode = "";
  if (!o.scratch) ep.password.clear();
  if (ep.user.empty()) ep.user = o.os_user;
  // Wait for promotion: connections are refused until the server is consistent.
  double t0 = Now();
  std::unique_ptr<PgConnection> conn;
  ReplayState state;
  std::string last_error;
  for (;;) {
    if (::kill(*pid, 0) != 0 && errno == ESRCH) {
      std::string why = FatalLines(log, 5);
      std::string wal_error = stager.FirstError();
      return fail("the server stopped during recovery: " + (why.empty() ? Tail(log, 5) : why) +
                  (wal_error.empty() ? "" : " (WAL: " + wal_error + ")"));
    }
    if (o.timeout_seconds > 0 && Now() - t0 > o.timeout_seconds) {
      return fail("recovery did not finish within DB_RECOVERY_TIMEOUT (" + std::to_string(int(o.timeout_seconds)) +
                  " s); the server is still running (log: " + log + ")");
    }
    if (!conn) {
      auto c = PgConnection::Connect(ep);
      if (c.ok())
        conn = std::move(*c);
      else
        last_error = c.status().message();
    }
    if (conn) {
      auto s = QueryReplay(*conn);
      if (s.ok()) {
        state = *s;
        if (!state.in_recovery) break;
      } else {
        conn.reset();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  double promoted = Now();
  if (o.started_unix > 0) r["rto_seconds"] = promoted - o.started_unix;
  r["recovery_seconds"] = promoted - t0;
  r["wal_segments_served"] = stager.segments_served();
  auto lsn = ParseLsn(state.lsn);
  json rec = {{"lsn", state.lsn}, {"timeline", lsn.ok() ? plan.wal.TimelineAt(*lsn) : 0}};
  if (state.xact_time) {
    rec["time"] = PgTimestampUtc(*state.xact_time);
    rec["time_unix"] = *state.xact_time;
  }
  r["recovered_to"] = rec;
  // Where recovery ended, against what was asked.
  if (plan.wal.gap) return fail(*plan.wal.gap + "; the server is running, recovered to " + state.lsn);
  if (!lsn.ok()) return fail("the server reported replay position '" + state.lsn + "'");
  if (plan.target.kind == RecoveryTarget::kLsn && *lsn < plan.target.lsn) {
    return fail("recovery ended at " + state.lsn + ", before the target " + FormatLsn(plan.target.lsn));
  }
  if (plan.target.kind == RecoveryTarget::kTime && state.xact_time && *state.xact_time > plan.target.time_unix + 1e-6) {
    return fail("recovery replayed a transaction of " + PgTimestampUtc(*state.xact_time) + ", after the target");
  }
  if (plan.target.kind == RecoveryTarget::kLatest && *lsn + plan.wal.seg_size < plan.wal.wal_end_lsn) {
    return fail("recovery ended at " + state.lsn + ", short of the WAL in the repository (" +
                FormatLsn(plan.wal.wal_end_lsn) + ")");
  }
  double v0 = Now();
  if (o.amcheck) {
    std::string out = run + "/pg_amcheck.out";
    std::vector<std::string> argv = {plan.bin.pg_amcheck,
                                     "--all",
                                     "--install-missing",
                                     "--jobs",
                                     std::to_string(std::max(1, o.workers)),
                                     "-h",
                                     ep.host,
                                     "-p",
                                     std::to_string(ep.port),
                                     "-U",
                                     ep.user};
    std::vector<std::string> env;
    if (!ep.password.empty()) env.push_back("PGPASSWORD=" + ep.password);
    auto rc = RunAs(argv, std::nullopt, out, env);
    if (!rc.ok() || *rc != 0) {
      return fail("pg_amcheck found problems (exit " + (rc.ok() ? std::to_string(*rc) : rc.status().message()) +
                  "): " + Tail(out, 5));
    }
    r["amcheck"] = "ok";
  } else {
    r["amcheck"] = "skipped (DB_VERIFY=none)";
  }
  r["verify_seconds"] = Now() - v0;
  if (!o.scratch) {
    Status st = HandOver(plan, o, *as, log, r);
    if (!st.ok()) return fail(st.message());
  } else if (o.stop_after) {
    auto rc = RunAs({plan.bin.pg_ctl, "-D", o.data_dir, "-m", "fast", "-w", "stop"}, *as, log + ".start");
    if (!rc.ok() || *rc != 0) return fail("pg_ctl stop failed: " + Tail(log + ".start", 3));
    r["stopped"] = true;
  }
  r["success"] = true;
  return r;
}

}  // namespace stb
