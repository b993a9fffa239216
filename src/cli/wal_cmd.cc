// `wal-push %p` and `wal-fetch %f %p`: PostgreSQL's archive_command and restore_command. The
// work is in wal/archive; this opens the locations and turns the outcome into exit codes.
#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/wal_locations.h"
#include "core/log.h"
#include "wal/archive.h"
#include "wal/staging.h"

namespace stb {

namespace {

// Exit code of restore_command when the answer is unknown: PostgreSQL treats codes above 125 as
// fatal, so recovery stops at the last good point instead of ending early and promoting.
constexpr int kCannotTell = 255;

// The same WAL file name with other content: PostgreSQL retries forever and nothing is
// overwritten, so someone must look (two clusters on one repository, or a damaged pg_wal).
void AlertConflict(const Settings& s, const std::string& message) { AlertWal(s, "wal_conflict", "critical", message); }

}  // namespace

int RunWalPush(const Settings& s, const WalPushArgs& a) {
  InitLog(s.log_dir, "wal.log");
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  std::vector<std::string> warnings;
  WalPushOptions o;
  o.path = a.path;
  o.pgdata = a.pgdata;
  o.compression = s.compression;
  o.required_offsite = s.wal_push_offsite;
  o.offsite_timeout_seconds = s.wal_push_offsite_timeout;
  o.outbox_dir = s.state_dir + "/wal-outbox";
  auto offsite = WalOffsiteLocations(s, warnings);
  auto res = PushWal(**repo, (*repo)->storage(), offsite, o);
  if (!res.ok()) {
    if (res.status().code() == Code::kAlreadyExists) AlertConflict(s, res.status().message());
    return Fail(res.status());
  }
  warnings.insert(warnings.end(), res->warnings.begin(), res->warnings.end());
  for (const auto& w : warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
    LogWarn("wal-push: " + w);
  }
  LogInfo("wal-push " + res->object + " stored");
  if (res->copies_running) {
    // A slow location is still being written by a thread that uses the repository: end here
    // (its outbox entry makes the next push or `replicate` finish the copy).
    std::fflush(nullptr);
    ::_exit(0);
  }
  return 0;
}

// restore_command of a restore's server: only moves the file the restore staged (wal/staging.h).
int RunWalFetchStaged(const WalFetchArgs& a) {
  Status st = FetchStaged(a.staging, a.file, a.dest);
  if (st.ok()) return 0;
  std::fprintf(stderr, "wal-fetch: %s\n", st.message().c_str());
  return st.code() == Code::kNotFound ? 1 : kCannotTell;
}

int RunWalFetch(const Settings& s, const WalFetchArgs& a) {
  if (!a.staging.empty()) return RunWalFetchStaged(a);
  InitLog(s.log_dir, "wal.log");
  auto repo = OpenRepository(s, a.location);
  if (!repo.ok()) {
    Fail(repo.status());
    return kCannotTell;
  }
  WalFetchOptions o;
  o.file = a.file;
  o.dest = a.dest;
  o.pgdata = a.pgdata;
  o.retry_seconds = s.wal_fetch_retry_seconds;
  Status st = FetchWal(**repo, (*repo)->storage(), o);
  if (st.ok()) {
    LogInfo("wal-fetch " + a.file + " served from " + a.location);
    return 0;
  }
  if (st.code() == Code::kNotFound) {
    LogInfo("wal-fetch: " + st.message());
    std::fprintf(stderr, "wal-fetch: %s\n", st.message().c_str());
    return 1;
  }
  Fail(st);
  return kCannotTell;
}

}  // namespace stb
