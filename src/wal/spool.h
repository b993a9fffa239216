// The asynchronous WAL spool (WAL_PUSH_ASYNC, in the style of pgBackRest's archive-async): one
// resident daemon per spool stores every .ready WAL file of pg_wal ahead of PostgreSQL's archiver,
// several at once, and writes an acknowledgement once a file is durable; wal-push only waits for it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "repository/repository.h"
#include "storage/storage.h"
#include "wal/archive.h"

namespace stb {

// $BACKUP_STATE_DIR/wal-spool: ack/<name>.ok (durable), ack/<name>.error (its text), daemon.lock.
struct WalSpool {
  std::string dir;
  std::string AckPath(const std::string& name) const { return dir + "/ack/" + name + ".ok"; }
  std::string ErrorPath(const std::string& name) const { return dir + "/ack/" + name + ".error"; }
  std::string LockPath() const { return dir + "/daemon.lock"; }
};

// True when pg_wal/archive_status/<name>.ready exists beside the file: PostgreSQL is archiving it
// and the daemon will find it (anything else is pushed synchronously).
bool WalFileIsReady(const std::string& path);

// What the file looks like on disk ("<inode> <size> <mtime ns>"), written into its ack so that an
// old ack never answers for a new file of the same name.
StatusOr<std::string> WalFileStamp(const std::string& path);

enum class AckState { kNone, kOk, kError };
// Consumes the daemon's answer for the file at path: kOk removes the ack, kError removes the error
// file and returns its text in *error. An ack written for another file of that name is removed and
// reads as kNone.
AckState TakeWalAck(const WalSpool& spool, const std::string& path, std::string* error);

// The .ready files of pg_wal in archiving order (history files first, then by name), without
// those already answered in the spool.
std::vector<std::string> PendingWalFiles(const std::string& pg_wal, const WalSpool& spool);

// Answers every pending file with an error (the daemon cannot work at all, e.g. no key).
void WriteWalSpoolErrors(const WalSpool& spool, const std::string& pg_wal, const std::string& error);

// True when a daemon holds the spool's lock.
bool WalSpoolDaemonRunning(const WalSpool& spool);

struct WalSpoolDaemonOptions {
  WalSpool spool;
  std::string pg_wal;  // the directory holding archive_status/
  int jobs = 2;        // WAL_PUSH_JOBS
  double idle_exit_seconds = 30;
  int poll_ms = 20;
  WalPushOptions push;  // path is set per file
  // Called after each push (result or error), from the pushing thread.
  std::function<void(const std::string& name, const StatusOr<WalPushResult>&)> on_pushed;
};

// Runs the daemon until it has been idle for idle_exit_seconds or pg_wal disappears. Returns Ok at
// once when another daemon holds the lock. Never writes an ack before PushWal returned success.
Status RunWalSpoolDaemon(const Repository& repo, Storage& local, const std::vector<WalOffsite>& offsite,
                         const WalSpoolDaemonOptions& o);

struct WalSpoolWaitOptions {
  WalSpool spool;
  std::string path;  // %p
  double timeout_seconds = 30;
  int poll_ms = 10;
  std::function<Status()> start_daemon;  // called when no daemon holds the lock
};

// wal-push's side: Ok once the daemon acknowledged the file; the daemon's error text, or a timeout,
// otherwise. (Re)starts the daemon whenever none runs.
Status WaitForWalAck(const WalSpoolWaitOptions& o);

}  // namespace stb
