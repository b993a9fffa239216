// Runs a helper program (pg_dump, pg_restore, pg_ctl, a restart command) with piped stdin/stdout, extra
// environment (secrets go there, never into argv), and its stderr kept for the error message.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace stb {

// An account a child runs as (we are root). Resolved in the parent: between fork and exec the
// child may call only async-signal-safe functions, since another of our threads may have held
// malloc's or NSS's lock at the fork (initgroups there deadlocked an ASan build).
struct RunAsAccount {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, as initgroups would set them
  std::string name, home;
};
StatusOr<RunAsAccount> LookUpAccount(const std::string& user);

struct SubprocessSpec {
  std::vector<std::string> argv;                         // argv[0] is the program path
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing) our environment
  bool pipe_stdin = false;                               // else /dev/null
  bool pipe_stdout = false;                              // else our stderr
  // The child writes to our own stdout and stderr (a supervised run of this program); nothing of
  // its stderr is kept for StderrTail then.
  bool share_output = false;
  // stdout and stderr appended to this file (created 0600) instead; nothing kept for StderrTail.
  std::string output_path;
  // Start from an empty environment (PATH, LANG, HOME, TZ only) rather than ours: nothing of ours
  // (passwords, key paths) reaches a server we start. env is added either way.
  bool clean_env = false;
  std::optional<RunAsAccount> run_as;  // setgroups/setgid/setuid in the child before exec
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

// Starts argv in a new session that outlives us, reaped by init, with /dev/null for stdio and
// none of our descriptors (a server's pipes and sockets stay with the server).
Status SpawnDetached(const std::vector<std::string>& argv);

}  // namespace stb
