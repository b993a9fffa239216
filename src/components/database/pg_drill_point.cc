#include "components/database/pg_drill_point.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "components/database/pg_recovery.h"
#include "core/file_util.h"
#include "core/subprocess.h"

namespace stb {

using json = nlohmann::json;

// pg_waldump reads up to the end of the WAL it is given and then fails on the record that is not
// there ("error in WAL record at ...: invalid record length ..."): that exit is the expected one.
// Any other failure (it could not run, read the file or was killed) is not "no commit found".
Status WaldumpOutcome(int exit_code, const std::string& stderr_text) {
  if (exit_code == 0) return Status::Ok();
  if (exit_code == 1 && stderr_text.find("error in WAL record at") != std::string::npos) return Status::Ok();
  std::string first = stderr_text.substr(0, stderr_text.find('\n'));
  return IoError("pg_waldump exited " + std::to_string(exit_code) + (first.empty() ? "" : ": " + first));
}

namespace {

// Segments read back from the newest before giving up on finding a commit (an idle server that
// only switches segments): the window is then taken as empty, and the drill says so.
constexpr int kMaxSegmentsScanned = 32;

// A temporary directory removed with the object.
struct TempDir {
  std::string path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// The newest commit time among pg_waldump's Transaction records of one segment (padded to its
// size: a prefix from parts ends in zeros, where pg_waldump stops as at any end of WAL). Its output
// is read line by line: only the newest time is kept, however much it prints.
StatusOr<double> NewestCommitInSegment(const std::string& waldump, const std::string& dir, const std::string& name,
                                       const Bytes& data, uint32_t seg_size) {
  std::string path = dir + "/" + name;
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("writing " + path, errno);
  RETURN_IF_ERROR(WriteFull(fd.get(), data.data(), data.size(), path));
  if (data.size() < seg_size && ::ftruncate(fd.get(), seg_size) != 0) return ErrnoStatus("extending " + path, errno);
  fd = Fd();
  struct Unlink {
    std::string p;
    ~Unlink() { ::unlink(p.c_str()); }
  } unlink{path};
  ASSIGN_OR_RETURN(auto p, Subprocess::Start({.argv = {waldump, "--rmgr=Transaction", path},
                                              .env = {{"TZ", "UTC"}, {"LANG", "C"}, {"LC_ALL", "C"}},
                                              .pipe_stdout = true,
                                              .clean_env = true}));
  constexpr size_t kMaxLine = 64 * 1024;  // a commit line is ~200 bytes; longer ones are not read
  double newest = 0;
  std::string pending;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(p->stdout_fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("reading pg_waldump's output", errno);
    if (n == 0) break;
    pending.append(buf, size_t(n));
    size_t last = pending.rfind('\n');
    if (last != std::string::npos) {
      newest = std::max(newest, NewestCommitTime(pending.substr(0, last)));
      pending.erase(0, last + 1);
    }
    if (pending.size() > kMaxLine) pending.clear();
  }
  newest = std::max(newest, NewestCommitTime(pending));
  int code = p->Wait();
  RETURN_IF_ERROR(WaldumpOutcome(code, p->StderrTail()));
  return newest;
}

}  // namespace

json DrillPoint::ToJson() const {
  auto time = [](double t) { return t > 0 ? json(IsoTimestamp(t)) : json(nullptr); };
  json j = {{"target", target},
            {"window",
             {{"from_time", time(window_from_unix)},
              {"to_time", time(window_to_unix)},
              {"seconds", std::max(0.0, window_to_unix - window_from_unix)},
              {"wal_end_lsn", wal_end_lsn}}}};
  if (target == "time") {
    j["target_time"] = PgTimestampUtc(target_time_unix);
    j["target_time_unix"] = target_time_unix;
  }
  if (!note.empty()) j["note"] = note;
  return j;
}

double NewestCommitTime(const std::string& out) {
  double newest = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    for (const char* word : {"desc: COMMIT ", "desc: ABORT "}) {
      size_t at = line.find(word);
      if (at == std::string::npos) continue;
      std::string ts = line.substr(at + std::strlen(word), 30);  // "2026-11-28 17:50:31.123456 UTC"
      if (ts.size() < 30 || ts.compare(26, 4, " UTC") != 0) continue;
      auto t = ParseTargetTime(ts);
      if (t.ok()) newest = std::max(newest, *t);
    }
  }
  return newest;
}

StatusOr<StoredCommit> NewestStoredCommit(Repository& repo, const PgRecoveryPlan& plan, uint64_t from_lsn) {
  std::string waldump = plan.bin.postgres.substr(0, plan.bin.postgres.rfind('/')) + "/pg_waldump";
  if (::access(waldump.c_str(), X_OK) != 0) return NotFound(waldump + " not found");
  const char* tmp = std::getenv("TMPDIR");
  TempDir dir{std::string(tmp && *tmp ? tmp : "/tmp") + "/stb-waldump-XXXXXX"};
  if (!::mkdtemp(dir.path.data())) return ErrnoStatus("creating " + dir.path, errno);
  WalStore store(repo, plan.cluster);
  const uint32_t seg = plan.wal.seg_size;
  const uint64_t first = from_lsn / seg;
  StoredCommit c;
  for (uint64_t segno = plan.wal.last_segno; segno >= first && c.segments_scanned < kMaxSegmentsScanned;
       ++c.segments_scanned) {
    uint32_t tli = plan.wal.TimelineFor(segno);
    ASSIGN_OR_RETURN(auto data, store.ReadSegmentOrPrefix(repo.storage(), tli, segno, seg));
    if (!data) break;
    auto newest = NewestCommitInSegment(waldump, dir.path, SegmentFileName(tli, segno, seg), *data, seg);
    if (!newest.ok())
      return newest.status().Context("finding the newest commit in WAL segment " + std::to_string(segno));
    c.time_unix = *newest;
    if (c.time_unix > 0 || segno == 0) break;
    --segno;
  }
  return c;
}

StatusOr<DrillPoint> ChooseDrillPoint(Repository& repo, const json& entry, const std::string& pg_bin_dir,
                                      double random01) {
  DrillPoint p;
  auto end_lsn = ParseLsn(entry.value("end_lsn", ""));
  if (!end_lsn.ok()) return Corrupt("the physical backup entry has no end_lsn");
  p.window_from_unix = entry.value("end_time_unix", 0.0);
  RecoveryTarget latest;
  ASSIGN_OR_RETURN(PgRecoveryPlan plan, PlanEntryRecovery(repo, repo.storage(), entry, latest, pg_bin_dir));
  p.wal_end_lsn = FormatLsn(plan.wal.wal_end_lsn);
  if (plan.included_wal_only) {
    p.note = "the backup carries only its own WAL (no WAL archiving): recovered to the backup's end";
    return p;
  }
  auto newest = NewestStoredCommit(repo, plan, *end_lsn);
  if (newest.status().code() == Code::kNotFound) {  // the drill still runs, to the backup's end
    p.note = newest.status().message() + " (it finds the window's end): recovered to the backup's end";
    return p;
  }
  if (!newest.ok()) return newest.status();
  p.window_to_unix = newest->time_unix;
  int scanned = newest->segments_scanned;
  // A target must lie before the newest commit by more than the microseconds PostgreSQL keeps.
  if (p.window_to_unix > p.window_from_unix + 0.002) {
    p.target = "time";
    p.target_time_unix = p.window_from_unix + random01 * (p.window_to_unix - 0.001 - p.window_from_unix);
  } else {
    p.window_to_unix = std::max(p.window_to_unix, 0.0);
    p.note = scanned >= kMaxSegmentsScanned ? "no commit in the newest " + std::to_string(kMaxSegmentsScanned) +
                                                  " WAL segments: recovered to the backup's end"
                                            : "no commit after the backup's end: recovered to the backup's end";
  }
  return p;
}

}  // namespace stb
