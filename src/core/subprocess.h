// Runs a helper program (pg_dump, pg_restore, a restart command) with piped stdin/stdout, extra
// environment (secrets go there, never into argv), and its stderr kept for the error message.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace stb {

struct SubprocessSpec {
  std::vector<std::string> argv;                         // argv[0] is the program path
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) our environment
  bool pipe_stdin = false;                               // else /dev/null
  bool pipe_stdout = false;                              // else our stderr
  // The child writes to our own stdout and stderr (a supervised run of this program); nothing of
  // its stderr is kept for StderrTail then.
  bool share_output = false;
};

class Subprocess {
 public:
  static StatusOr<std::unique_ptr<Subprocess>> Start(const SubprocessSpec& spec);
  ~Subprocess();  // a child still running is killed and reaped
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  int stdin_fd() const { return stdin_fd_; }
  int stdout_fd() const { return stdout_fd_; }
  void CloseStdin();
  void Kill(int sig);
  // Waits for the exit; returns the exit code (128 + signal for a signalled child).
  int Wait();
  // Like Wait, without blocking: true and *code once the child has exited.
  bool TryWait(int* code);
  // The last 16 KiB of what the child wrote to stderr (complete once Wait returned).
  std::string StderrTail() const;
  // The first line of StderrTail that reads like an error, for one-line messages.
  std::string FirstErrorLine() const;

 private:
  Subprocess() = default;
  void Reaped(int status);
  struct StderrReader;
  pid_t pid_ = -1;
  int stdin_fd_ = -1, stdout_fd_ = -1;
  int exit_code_ = -1;
  std::unique_ptr<StderrReader> err_;
};

}  // namespace stb
