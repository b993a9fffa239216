// `dr-test [--scenario NAME]`: a disaster-recovery drill. Restores the latest backup with the
// `restore` command itself (a child process) into scratch targets: a temporary directory, a scratch
// database (--target-db) and a scratch redis-server on a free loopback port that loads the restored
// RDB, so every component is verified as a real restore verifies it. Then removes every scratch
// target, records the drill in the catalog and prints the JSON report.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/run_alerts.h"
#include "components/database/pg_client.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/stop.h"
#include "core/subprocess.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

namespace {

sockaddr_in LoopbackAddress(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// A free port for the scratch Redis, below the kernel's ephemeral range: the restore makes
// connections (to PostgreSQL, ...) before Redis starts, and one of them could take a port from
// that range as its source port, so Redis could not listen on it.
StatusOr<int> FreeLoopbackPort() {
  int low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> low;
  if (low <= 2048) return Unavailable("no port range below the ephemeral ports (ip_local_port_range)");
  std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> pick(1024, low - 1);
  Status last = Unavailable("no free port on 127.0.0.1 below " + std::to_string(low));
  for (int attempt = 0; attempt < 64; ++attempt) {
    Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) return ErrnoStatus("socket", errno);
    sockaddr_in addr = LoopbackAddress(pick(rng));
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return ntohs(addr.sin_port);
    last = ErrnoStatus("finding a free port on 127.0.0.1", errno);
  }
  return last;
}

bool InPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : SplitList(path ? path : "/usr/bin:/bin", ':')) {
    if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A redis.conf argument in double quotes: a password or path may hold spaces, quotes or
// backslashes, which unquoted (or naively quoted) make redis-server refuse the whole file.
std::string RedisConfQuote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x" + ToHex(&c, 1);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The signal that interrupted the drill, 0 if none.
int Interrupted() { return ProcessStopToken().signal(); }

// SIGINT, SIGTERM and SIGHUP (a scheduler's timeout, Ctrl-C, a closed terminal) must not leave a
// scratch redis-server, database or directory behind: they only stop the restore, and the
// drill goes on to its cleanup. No SA_RESTART, so a blocked read returns and notices.
void CatchTerminatingSignals() { StopOnSignals({SIGINT, SIGTERM, SIGHUP}); }

// Reads a child's standard output (the restore's report); on a terminating signal, stops the
// child and reads what is left.
StatusOr<std::string> ReadAll(int fd, Subprocess& child) {
  std::string out;
  char buf[65536];
  bool stopped = false;
  for (;;) {
    if (Interrupted() != 0 && !stopped) {
      child.Kill(SIGTERM);
      stopped = true;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) return out;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("reading the output of a child process", errno);
    out.append(buf, static_cast<size_t>(n));
  }
}

// The major version of the redis-server in PATH ("Redis server v=7.0.15 ..."), 0 if unknown.
int RedisServerMajorVersion() {
  SubprocessSpec spec;
  spec.argv = {"redis-server", "--version"};
  spec.pipe_stdout = true;
  auto proc = Subprocess::Start(spec);
  if (!proc.ok()) return 0;
  auto out = ReadAll((*proc)->stdout_fd(), **proc);
  (*proc)->Wait();
  size_t v = out.ok() ? out->find("v=") : std::string::npos;
  return v == std::string::npos ? 0 : std::atoi(out->c_str() + v + 2);
}

// The scratch Redis accepts the configured credentials, so the restore's verification connects
// to it exactly as it would to the real server. The file is 0600: it may hold the password.
// DEBUG is allowed on loopback so a DEBUG DIGEST recorded by the backup is compared (Redis 7
// refuses DEBUG by default and older versions do not know the directive, but allow DEBUG).
Status WriteRedisConf(const Settings& s, const std::string& dir, int port) {
  std::string conf = "port " + std::to_string(port) +
                     "\nbind 127.0.0.1\nprotected-mode yes\ndaemonize yes\nsave \"\"\nappendonly no\n"
                     "dbfilename dump.rdb\ndir " +
                     RedisConfQuote(dir + "/redis") + "\npidfile " + RedisConfQuote(dir + "/redis-scratch.pid") +
                     "\nlogfile " + RedisConfQuote(dir + "/redis-scratch.log") + "\n";
  if (RedisServerMajorVersion() >= 7) conf += "enable-debug-command local\n";
  if (!s.redis_username.empty() && s.redis_username != "default") {
    conf += "user default off\nuser " + RedisConfQuote(s.redis_username) + " on " +
            RedisConfQuote(">" + s.redis_password) + " ~* &* +@all\n";
  } else if (!s.redis_password.empty()) {
    conf += "requirepass " + RedisConfQuote(s.redis_password) + "\n";
  }
  std::string path = dir + "/redis-scratch.conf";
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("writing " + path, errno);
  return WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(conf.data()), conf.size(), path);
}

bool Listening(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = LoopbackAddress(port);
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

// Starts the scratch redis-server and waits for its pidfile, which Redis writes once it listens:
// it daemonizes, so a failure to listen would otherwise show only as the restore waiting out
// its load timeout. A failure ends with the last line of its log.
std::string ScratchRedisCommand(const std::string& dir) {
  std::string pidfile = ShellQuote(dir + "/redis-scratch.pid"), log = ShellQuote(dir + "/redis-scratch.log");
  return "redis-server " + ShellQuote(dir + "/redis-scratch.conf") + " || exit 1; i=0; while [ ! -s " + pidfile +
         " ]; do i=$((i+1)); if [ $i -gt 200 ]; then echo \"error: the scratch redis-server did not start: $(tail -n "
         "1 " +
         log + " 2>/dev/null)\" >&2; exit 1; fi; sleep 0.05; done";
}

// Stops the scratch redis-server by the pid in its pidfile (it daemonizes). Redis listens before
// it writes the pidfile: a restore stopped just after starting it leaves a moment without one.
Status StopScratchRedis(const std::string& pidfile, int port) {
  auto pid_bytes = ReadWholeFile(pidfile);
  for (int i = 0; !pid_bytes.ok() && port > 0 && Listening(port) && i < 100; ++i) {
    Env::Default().SleepFor(0.02, NeverStop());  // cleanup runs after a stop too
    pid_bytes = ReadWholeFile(pidfile);
  }
  if (!pid_bytes.ok()) return Status::Ok();  // it never started
  pid_t pid = static_cast<pid_t>(std::atoi(std::string(pid_bytes->begin(), pid_bytes->end()).c_str()));
  if (pid <= 1) return Internal("scratch redis: bad pid file " + pidfile);
  if (::kill(pid, SIGTERM) != 0)
    return errno == ESRCH ? Status::Ok() : ErrnoStatus("stopping the scratch redis", errno);
  for (int i = 0; i < 100; ++i) {
    if (::kill(pid, 0) != 0) return Status::Ok();
    Env::Default().SleepFor(0.05, NeverStop());
  }
  ::kill(pid, SIGKILL);
  return Status::Ok();
}

Status DropScratchDatabase(const Settings& s, const std::string& kind, const std::string& name) {
  DbEndpoint ep{s.db_host, s.db_port, s.db_name, s.db_user, s.db_password, s.db_sslmode};
  auto conn = PgConnection::Connect(ep);
  if (!conn.ok()) conn = PgConnection::Connect(ep, kind == "cockroachdb" ? "defaultdb" : "postgres");
  if (!conn.ok()) return conn.status();
  // A restore cut short may leave pg_restore's session open for a moment; FORCE (PostgreSQL 13+)
  // ends it rather than leaving the scratch database behind.
  std::string options = " CASCADE";
  if (kind != "cockroachdb") {
    options = (*conn)->server_version() >= 130000 ? " WITH (FORCE)" : "";
  }
  RETURN_IF_ERROR((*conn)->Exec("DROP DATABASE IF EXISTS " + (*conn)->QuoteIdent(name) + options));
  if (kind == "cockroachdb") {  // what an interrupted CockroachDB restore leaves
    RETURN_IF_ERROR((*conn)->Exec("DROP DATABASE IF EXISTS " + (*conn)->QuoteIdent(name + "_restoring") + options));
  }
  return Status::Ok();
}

}  // namespace

int RunDrTest(const Settings& s, const DrTestArgs& a) {
  double t0 = NowSeconds();
  CatchTerminatingSignals();
  InitLog(s.log_dir, "dr-test.log");
  LogInfo("dr-test " + a.scenario + " starting");
  json report = {{"scenario", a.scenario}, {"start_time", IsoTimestamp(t0)}};
  json errors = json::array();
  std::string backup_id;
  auto finish = [&]() -> int {
    if (int sig = Interrupted(); sig != 0) {
      errors.push_back("interrupted by signal " + std::to_string(sig) + " (" + strsignal(sig) +
                       "): the drill did not complete");
    }
    bool ok = errors.empty();
    double t1 = NowSeconds();
    report["end_time"] = IsoTimestamp(t1);
    report["duration_seconds"] = t1 - t0;
    if (!ok) report["errors"] = errors;
    report["status"] = ok ? "success" : "failed";
    report["overall_success"] = ok;
    UpdateCatalogBestEffort(s.state_dir, [&](Catalog& c) {
      return c.RecordDrill({a.scenario, ok ? "success" : "failed", backup_id, t0, t1 - t0});
    });
    for (const auto& e : errors) LogError("dr-test: " + e.get<std::string>());
    LogInfo("dr-test " + a.scenario + (ok ? " succeeded" : " failed"));
    PrintJson(report);
    AlertCommandOutcome(s, "drill", ok, errors.empty() ? "" : errors[0].get<std::string>(), backup_id,
                        {{"scenario", a.scenario}, {"duration_seconds", t1 - t0}});
    return ok ? 0 : 1;
  };

  // Which backup, and which scratch targets it needs.
  std::string db_kind;
  bool has_redis = false;
  {
    auto repo = OpenRepository(s, "local");
    if (!repo.ok()) {
      errors.push_back(repo.status().message());
      return finish();
    }
    auto snap = FindSnapshot(**repo, "latest");
    if (!snap.ok()) {
      errors.push_back(snap.status().message());
      return finish();
    }
    backup_id = snap->backup_id;
    if (snap->doc.contains("components") && snap->doc["components"].is_object()) {
      for (const auto& [comp, entry] : snap->doc["components"].items()) {
        std::string kind = entry.is_object() ? entry.value("kind", "") : "";
        if (kind == "postgresql" || kind == "cockroachdb") db_kind = kind;
        if (kind == "redis") has_redis = true;
      }
    }
  }
  report["backup_id"] = backup_id;

  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/stb-drill-XXXXXX";
  if (!::mkdtemp(templ.data())) {
    errors.push_back(ErrnoStatus("creating the scratch directory " + templ + " (TMPDIR)", errno).message());
    return finish();
  }
  const std::string dir = templ;
  json scratch = {{"directory", dir}};
  SubprocessSpec spec;
  spec.argv = {"/proc/self/exe"};
  if (!s.config_file.empty()) spec.argv.insert(spec.argv.end(), {"--config", s.config_file});
  spec.argv.insert(spec.argv.end(), {"restore", backup_id, "local", "--target", dir, "--no-progress"});
  spec.pipe_stdout = true;
  std::string scratch_db;
  if (!db_kind.empty()) {
    scratch_db = "stb_drill_" + backup_id + "_" + RandomHex(3);
    spec.argv.insert(spec.argv.end(), {"--target-db", scratch_db});
    scratch["database"] = scratch_db;
  }
  Status prep = Status::Ok();
  int redis_port = 0;
  if (has_redis) {
    auto port = FreeLoopbackPort();
    if (!InPath("redis-server")) {
      prep = NotFound("redis-server is not in PATH: the drill verifies the redis component in a scratch redis-server");
    } else if (!port.ok()) {
      prep = port.status();
    } else {
      prep = WriteRedisConf(s, dir, *port);
      // The restore writes dump.rdb, runs this "restart command", waits for the scratch server to
      // load it and compares its keys with the backup's; never the configured server.
      spec.env = {{"REDIS_HOST", "127.0.0.1"},
                  {"REDIS_PORT", std::to_string(*port)},
                  {"REDIS_TLS", "no"},
                  {"REDIS_RESTART_COMMAND", ScratchRedisCommand(dir)}};
      scratch["redis"] = "127.0.0.1:" + std::to_string(*port);
      redis_port = *port;
    }
  }
  report["scratch"] = scratch;

  if (prep.ok() && Interrupted() == 0) {
    auto child = Subprocess::Start(spec);
    if (!child.ok()) {
      errors.push_back("starting the restore: " + child.status().message());
    } else {
      auto out = ReadAll((*child)->stdout_fd(), **child);
      int rc = (*child)->Wait();
      json restore;
      if (out.ok()) restore = json::parse(*out, nullptr, false);
      if (!restore.is_object()) {
        errors.push_back("the restore printed no report (exit status " + std::to_string(rc) +
                         "): " + (*child)->FirstErrorLine());
      } else {
        report["rto_seconds"] = restore.value("rto_seconds", 0.0);
        report["components"] = restore.value("components", json::object());
        report["restore_order"] = restore.value("restore_order", json::array());
        for (const auto& [comp, r] : report["components"].items()) {
          if (!r.value("success", false)) errors.push_back(comp + ": " + r.value("error", std::string("failed")));
        }
        if (rc != 0 && errors.empty()) errors.push_back(restore.value("error", "the restore failed"));
      }
    }
  } else if (!prep.ok()) {
    errors.push_back(prep.message());
  }

  // Remove every scratch target, whatever happened.
  json cleanup = json::object();
  if (has_redis) {
    Status st = StopScratchRedis(dir + "/redis-scratch.pid", redis_port);
    cleanup["redis"] = st.ok() ? "stopped" : st.message();
    if (!st.ok()) errors.push_back("cleanup: " + st.message());
  }
  if (!scratch_db.empty()) {
    Status st = DropScratchDatabase(s, db_kind, scratch_db);
    cleanup["database"] = st.ok() ? "dropped" : st.message();
    if (!st.ok()) errors.push_back("cleanup: dropping " + scratch_db + ": " + st.message());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  cleanup["directory"] = ec ? ec.message() : "removed";
  if (ec) errors.push_back("cleanup: removing " + dir + ": " + ec.message());
  report["cleanup"] = cleanup;
  return finish();
}

}  // namespace stb
