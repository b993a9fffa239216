#include "core/subprocess.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

extern char** environ;

namespace stb {

namespace {

constexpr size_t kStderrKeep = 16 << 10;

void ClosePair(int p[2]) {
  for (int i = 0; i < 2; ++i)
    if (p[i] >= 0) close(p[i]);
}

}  // namespace

// Drains the child's stderr on its own thread, so a chatty child never blocks on a full pipe
// while we are busy with its stdout.
struct Subprocess::StderrReader {
  int fd = -1;
  mutable std::mutex mu;
  std::string text;
  std::thread thread;

  void Run() {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard<std::mutex> g(mu);
      text.append(buf, static_cast<size_t>(n));
      if (text.size() > 2 * kStderrKeep) text.erase(0, text.size() - kStderrKeep);
    }
    close(fd);
  }
};

StatusOr<RunAsAccount> LookUpAccount(const std::string& user) {
  struct passwd pw, *found = nullptr;
  std::vector<char> buf(16384);
  if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    return NotFound("'" + user + "' is not a user of this system");
  }
  RunAsAccount a{.uid = pw.pw_uid, .gid = pw.pw_gid, .name = user, .home = pw.pw_dir ? pw.pw_dir : "/"};
  int n = 64;
  for (;;) {
    a.groups.resize(size_t(n));
    int got = n;
    if (::getgrouplist(user.c_str(), a.gid, a.groups.data(), &got) >= 0) {
      a.groups.resize(size_t(got));
      return a;
    }
    if (got <= n || got > 65536) return IoError("cannot list the groups of '" + user + "'");
    n = got;
  }
}

namespace {

// The child's environment: ours or a minimal one, minus the names the spec sets, plus the spec's.
std::vector<std::string> ChildEnvironment(const SubprocessSpec& spec) {
  std::vector<std::string> base;
  if (spec.clean_env) {
    const char* home = std::getenv("HOME");
    base = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8",
            "HOME=" + (spec.run_as ? spec.run_as->home : std::string(home ? home : "/"))};
    if (const char* tz = std::getenv("TZ")) base.push_back(std::string("TZ=") + tz);
  } else {
    for (char** e = environ; *e; ++e) base.emplace_back(*e);
  }
  std::vector<std::string> out;
  for (auto& kv : base) {
    bool overridden = false;
    for (const auto& [k, v] : spec.env) {
      if (kv.size() > k.size() && kv.compare(0, k.size(), k) == 0 && kv[k.size()] == '=') overridden = true;
    }
    if (!overridden) out.push_back(std::move(kv));
  }
  for (const auto& [k, v] : spec.env) out.push_back(k + "=" + v);
  return out;
}

// The program's path: execve in a forked child cannot search PATH (that allocates).
std::string ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t pos = 0; pos <= dirs.size();) {
    size_t colon = dirs.find(':', pos);
    std::string dir = dirs.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    std::string full = dir + "/" + name;
    if (!dir.empty() && ::access(full.c_str(), X_OK) == 0) return full;  // never the working directory
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return name;
}

// The descriptors the child gets as 0, 1 and 2.
struct ChildFds {
  int in = -1, out = -1, err = -1;  // -1: leave that descriptor as it is
};

// Our ignored SIGPIPE and any signals a waiting thread keeps blocked are not the child's: a
// program started with SIGTERM blocked could not be stopped. (sigaction and sigprocmask are
// async-signal-safe.)
void ResetSignals() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// fork + (setgroups, setgid, setuid) + exec, with only async-signal-safe calls in the child.
int ForkExecAs(const RunAsAccount& as, const ChildFds& fds, const std::string& program, char* const argv[],
               char* const envp[], pid_t* pid) {
  pid_t p = ::fork();
  if (p < 0) return errno;
  if (p == 0) {
    int targets[3] = {fds.in, fds.out, fds.err};
    for (int t = 0; t < 3; ++t) {
      if (targets[t] >= 0 && ::dup2(targets[t], t) < 0) ::_exit(126);
    }
    if (::setgroups(as.groups.size(), as.groups.data()) != 0 || ::setgid(as.gid) != 0 || ::setuid(as.uid) != 0) {
      ::_exit(126);
    }
    ResetSignals();
    ::close_range(3, ~0u, 0);
    ::execve(program.c_str(), argv, envp);
    ::_exit(127);
  }
  *pid = p;
  return 0;
}

}  // namespace

StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const SubprocessSpec& spec) {
  if (spec.argv.empty()) return InvalidArgument("no program to run");
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, file = -1, null_in = -1;
  auto fail = [&](const std::string& what, int e) {
    ClosePair(in);
    ClosePair(out);
    ClosePair(err);
    if (file >= 0) close(file);
    if (null_in >= 0) close(null_in);
    return ErrnoStatus(what, e);
  };
  bool keep_stderr = !spec.share_output && spec.output_path.empty();
  if (keep_stderr && pipe2(err, O_CLOEXEC) != 0) return fail("pipe", errno);
  if (spec.pipe_stdin && pipe2(in, O_CLOEXEC) != 0) return fail("pipe", errno);
  if (spec.pipe_stdout && pipe2(out, O_CLOEXEC) != 0) return fail("pipe", errno);
  if (!spec.output_path.empty()) {
    // No symlink at the end: the file may sit in a directory the child's account owns.
    file = ::open(spec.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (file < 0) return fail("opening " + spec.output_path, errno);
  }
  if (!spec.pipe_stdin && (null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) return fail("/dev/null", errno);

  ChildFds fds{.in = spec.pipe_stdin ? in[0] : null_in};
  if (file >= 0) {
    fds.out = spec.pipe_stdout ? out[1] : file;
    fds.err = file;
  } else if (!spec.share_output) {
    fds.out = spec.pipe_stdout ? out[1] : 2;
    fds.err = err[1];
  } else if (spec.pipe_stdout) {
    fds.out = out[1];
  }

  std::vector<std::string> env_strings = ChildEnvironment(spec);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // A child that exits early must not kill us with SIGPIPE while we write its stdin.
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = -1;
  int rc = 0;
  if (spec.run_as) {
    rc = ForkExecAs(*spec.run_as, fds, ResolveProgram(args[0]), argv.data(), envp.data(), &pid);
  } else {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int targets[3] = {fds.in, fds.out, fds.err};
    for (int t = 0; t < 3; ++t) {
      if (targets[t] >= 0) posix_spawn_file_actions_adddup2(&fa, targets[t], t);
    }
    // Descriptors someone opened without O_CLOEXEC (libraries do) stay with us.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    // As ResetSignals: the default SIGPIPE and an empty signal mask.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, pipe;
    sigemptyset(&none);
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&pid, args[0].c_str(), &fa, &attr, argv.data(), envp.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
  }
  if (rc != 0) return fail("starting " + spec.argv[0], rc);
  if (file >= 0) close(file);
  if (null_in >= 0) close(null_in);

  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  p->err_ = std::make_unique<StderrReader>();
  if (keep_stderr) {
    close(err[1]);
    p->err_->fd = err[0];
    p->err_->thread = std::thread([r = p->err_.get()] { r->Run(); });
  }
  if (spec.pipe_stdin) {
    close(in[0]);
    p->stdin_fd_ = in[1];
  }
  if (spec.pipe_stdout) {
    close(out[1]);
    p->stdout_fd_ = out[0];
  }
  return p;
}

Status SpawnDetached(const std::vector<std::string>& argv) {
  if (argv.empty()) return InvalidArgument("no program to run");
  std::vector<std::string> args = argv;
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", errno);
  if (pid == 0) {
    // First child: a new session, then a grandchild that nobody waits for (init reaps it).
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
    }
    ::close_range(3, ~0u, 0);
    ResetSignals();
    ::execv(av[0], av.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return Status::Ok();
}

void Subprocess::CloseStdin() {
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
}

void Subprocess::Kill(int sig) {
  if (pid_ > 0 && exit_code_ < 0) kill(pid_, sig);
}

int Subprocess::Wait() {
  if (exit_code_ >= 0) return exit_code_;
  CloseStdin();
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  Reaped(status);
  return exit_code_;
}

bool Subprocess::TryWait(int* code) {
  if (exit_code_ < 0) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR)) return false;
    CloseStdin();
    Reaped(status);
  }
  *code = exit_code_;
  return true;
}

void Subprocess::Reaped(int status) {
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  if (err_->thread.joinable()) err_->thread.join();
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
}

Subprocess::~Subprocess() {
  if (exit_code_ < 0) {
    Kill(SIGKILL);
    Wait();
  }
}

std::string Subprocess::StderrTail() const {
  std::lock_guard<std::mutex> g(err_->mu);
  const std::string& t = err_->text;
  return t.size() > kStderrKeep ? t.substr(t.size() - kStderrKeep) : t;
}

std::string Subprocess::FirstErrorLine() const {
  std::string all = StderrTail(), first;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t nl = all.find('\n', pos);
    std::string line = all.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? all.size() : nl + 1;
    if (line.empty()) continue;
    if (first.empty()) first = line;
    if (line.find("error") != std::string::npos || line.find("FATAL") != std::string::npos) return line;
  }
  return first;
}

}  // namespace stb
