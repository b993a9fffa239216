#include "core/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
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

StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const SubprocessSpec& spec) {
  if (spec.argv.empty()) return InvalidArgument("no program to run");
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto fail = [&](const std::string& what, int e) {
    ClosePair(in);
    ClosePair(out);
    ClosePair(err);
    return ErrnoStatus(what, e);
  };
  if (!spec.share_output && pipe2(err, O_CLOEXEC) != 0) return fail("pipe", errno);
  if (spec.pipe_stdin && pipe2(in, O_CLOEXEC) != 0) return fail("pipe", errno);
  if (spec.pipe_stdout && pipe2(out, O_CLOEXEC) != 0) return fail("pipe", errno);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (spec.pipe_stdin) {
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  if (!spec.share_output) {
    posix_spawn_file_actions_adddup2(&fa, spec.pipe_stdout ? out[1] : 2, 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  } else if (spec.pipe_stdout) {
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  }

  // The environment: ours, minus the names the spec overrides, plus the spec's.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (const auto& [k, v] : spec.env) {
      if (kv.size() > k.size() && kv.substr(0, k.size()) == k && kv[k.size()] == '=') overridden = true;
    }
    if (!overridden) env_strings.emplace_back(kv);
  }
  for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  // A child that exits early must not kill us with SIGPIPE while we write its stdin.
  signal(SIGPIPE, SIG_IGN);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0].c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return fail("starting " + spec.argv[0], rc);

  std::unique_ptr<Subprocess> p(new Subprocess());
  p->pid_ = pid;
  p->err_ = std::make_unique<StderrReader>();
  if (!spec.share_output) {
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
