#include "drill/scratch.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "components/database/pg_client.h"
#include "core/bytes.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/subprocess.h"

namespace stb {

namespace {

sockaddr_in LoopbackAddress(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

bool Listening(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = LoopbackAddress(port);
  return fd.valid() && ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
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

// The major version of the redis-server in PATH ("Redis server v=7.0.15 ..."), 0 if unknown.
int RedisServerMajorVersion() {
  SubprocessSpec spec;
  spec.argv = {"redis-server", "--version"};
  spec.pipe_stdout = true;
  auto proc = Subprocess::Start(spec);
  if (!proc.ok()) return 0;
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read((*proc)->stdout_fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  (*proc)->Wait();
  size_t v = out.find("v=");
  return v == std::string::npos ? 0 : std::atoi(out.c_str() + v + 2);
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

// Logs what a destructor's cleanup could not do (the drill reports it when it gets that far).
void LogCleanup(const std::string& what, const Status& st) {
  if (!st.ok()) LogError("dr-test: cleanup: " + what + ": " + st.message());
}

}  // namespace

// Below the ephemeral range: the restore makes connections (to PostgreSQL, ...) before Redis
// starts, and one of them could take a port from that range as its source port, so Redis could
// not listen on it.
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

// Spaces, quotes or backslashes unquoted (or naively quoted) make redis-server refuse the file.
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

StatusOr<bool> StopScratchPostgres(const std::string& data_dir, pid_t pid) {
  if (pid <= 1) return false;
  struct stat dir, proc;
  if (::stat(data_dir.c_str(), &dir) != 0) return ErrnoStatus("stat " + data_dir, errno);
  if (::stat(("/proc/" + std::to_string(pid)).c_str(), &proc) != 0) return false;  // gone
  // A pid reused by a process of another account (root's above all) is not ours to stop.
  if (proc.st_uid != dir.st_uid) {
    return Internal("pid " + std::to_string(pid) + " runs as uid " + std::to_string(proc.st_uid) + ", not as " +
                    data_dir + "'s owner: not stopped");
  }
  if (::kill(pid, SIGQUIT) != 0) return errno == ESRCH ? StatusOr<bool>(false) : ErrnoStatus("kill", errno);
  for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
  return true;
}

StatusOr<std::unique_ptr<ScratchDirectory>> ScratchDirectory::Create() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/stb-drill-XXXXXX";
  if (!::mkdtemp(templ.data())) return ErrnoStatus("creating the scratch directory " + templ + " (TMPDIR)", errno);
  return std::unique_ptr<ScratchDirectory>(new ScratchDirectory(templ));
}

ScratchDirectory::~ScratchDirectory() { LogCleanup("removing " + path_, Remove()); }

Status ScratchDirectory::Remove() {
  if (removed_) return Status::Ok();
  removed_ = true;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
  return ec ? Internal(ec.message()) : Status::Ok();
}

ScratchDatabase::ScratchDatabase(const Settings& s, std::string kind, std::string name)
    : settings_(s), kind_(std::move(kind)), name_(std::move(name)) {}

ScratchDatabase::~ScratchDatabase() { LogCleanup("dropping " + name_, Drop()); }

Status ScratchDatabase::Drop() {
  if (dropped_) return Status::Ok();
  dropped_ = true;
  const Settings& s = settings_;
  DbEndpoint ep{s.db_host, s.db_port, s.db_name, s.db_user, s.db_password, s.db_sslmode};
  auto conn = PgConnection::Connect(ep);
  if (!conn.ok()) conn = PgConnection::Connect(ep, kind_ == "cockroachdb" ? "defaultdb" : "postgres");
  if (!conn.ok()) return conn.status();
  // A restore cut short may leave pg_restore's session open for a moment; FORCE (PostgreSQL 13+)
  // ends it rather than leaving the scratch database behind.
  std::string options = " CASCADE";
  if (kind_ != "cockroachdb") {
    options = (*conn)->server_version() >= 130000 ? " WITH (FORCE)" : "";
  }
  RETURN_IF_ERROR((*conn)->Exec("DROP DATABASE IF EXISTS " + (*conn)->QuoteIdent(name_) + options));
  if (kind_ == "cockroachdb") {  // what an interrupted CockroachDB restore leaves
    RETURN_IF_ERROR((*conn)->Exec("DROP DATABASE IF EXISTS " + (*conn)->QuoteIdent(name_ + "_restoring") + options));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<ScratchRedis>> ScratchRedis::Prepare(const Settings& s, const std::string& dir) {
  auto port = FreeLoopbackPort();
  if (!InPath("redis-server")) {
    return NotFound("redis-server is not in PATH: the drill verifies the redis component in a scratch redis-server");
  }
  if (!port.ok()) return port.status();
  RETURN_IF_ERROR(WriteRedisConf(s, dir, *port));
  return std::unique_ptr<ScratchRedis>(new ScratchRedis(dir, *port));
}

ScratchRedis::~ScratchRedis() { LogCleanup("stopping the scratch redis", Stop()); }

// The restore writes dump.rdb, runs the restart command, waits for the scratch server to load it
// and compares its keys with the backup's.
Settings ScratchRedis::Apply(Settings s) const {
  s.redis_host = "127.0.0.1";
  s.redis_port = port_;
  s.redis_tls = false;
  s.redis_restart_command = ScratchRedisCommand(dir_);
  return s;
}

// By the pid in its pidfile (it daemonizes). Redis listens before it writes the pidfile: a
// restore stopped just after starting it leaves a moment without one.
Status ScratchRedis::Stop() {
  if (stopped_) return Status::Ok();
  stopped_ = true;
  std::string pidfile = dir_ + "/redis-scratch.pid";
  auto pid_bytes = ReadWholeFile(pidfile);
  for (int i = 0; !pid_bytes.ok() && Listening(port_) && i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pid_bytes = ReadWholeFile(pidfile);
  }
  if (!pid_bytes.ok()) return Status::Ok();  // it never started
  pid_t pid = static_cast<pid_t>(std::atoi(std::string(pid_bytes->begin(), pid_bytes->end()).c_str()));
  if (pid <= 1) return Internal("scratch redis: bad pid file " + pidfile);
  if (::kill(pid, SIGTERM) != 0)
    return errno == ESRCH ? Status::Ok() : ErrnoStatus("stopping the scratch redis", errno);
  for (int i = 0; i < 100; ++i) {
    if (::kill(pid, 0) != 0) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  return Status::Ok();
}

}  // namespace stb
