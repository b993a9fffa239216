#include "wal/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "core/file_util.h"
#include "core/log.h"

namespace stb {

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::vector<std::string> ListNames(const std::string& dir, bool* exists = nullptr) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (exists) *exists = d != nullptr;
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// tmp + rename: an answer is whole or absent. No fsync: a lost ack only makes wal-push store the
// file again, which is idempotent; the object itself was made durable before.
Status WriteAnswer(const std::string& path, const std::string& text) {
  std::string tmp = Dirname(path) + "/.tmp-" + RandomHex(6);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("creating " + tmp, errno);
  Status st = WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(text.data()), text.size(), tmp);
  if (st.ok() && ::close(fd.release()) != 0) st = ErrnoStatus("closing " + tmp, errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoStatus("renaming " + tmp, errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

std::string ReadText(const std::string& path) {
  auto b = ReadWholeFile(path);
  return b.ok() ? std::string(b->begin(), b->end()) : std::string();
}

// The daemon's lock: held for the daemon's life, released by the kernel when it dies.
class SpoolLock {
 public:
  ~SpoolLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  // false: another process holds it.
  StatusOr<bool> TryAcquire(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return ErrnoStatus("opening " + path, errno);
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return true;
    if (errno == EWOULDBLOCK) return false;
    return ErrnoStatus("locking " + path, errno);
  }

 private:
  int fd_ = -1;
};

// The work queue of the daemon's pushers: names waiting, and names being pushed.
struct Queue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> waiting;
  std::set<std::string> busy;  // waiting or being pushed
  bool stop = false;
};

void Pusher(const Repository& repo, Storage& local, const std::vector<WalOffsite>& offsite,
            const WalSpoolDaemonOptions& o, Queue& q) {
  for (;;) {
    std::string name;
    {
      std::unique_lock<std::mutex> g(q.mu);
      q.cv.wait(g, [&] { return q.stop || !q.waiting.empty(); });
      if (q.waiting.empty()) return;
      name = q.waiting.front();
      q.waiting.pop_front();
    }
    std::string path = o.pg_wal + "/" + name;
    auto stamp = WalFileStamp(path);
    WalPushOptions p = o.push;
    p.path = path;
    p.outbox_drain_seconds = 0;  // the main loop drains it, not every push
    StatusOr<WalPushResult> res =
        stamp.ok() ? PushWal(repo, local, offsite, p) : StatusOr<WalPushResult>(stamp.status());
    // Only now, after PushWal made it durable (locally and in WAL_PUSH_OFFSITE), is it acknowledged.
    Status answered = res.ok() ? WriteAnswer(o.spool.AckPath(name), *stamp)
                               : WriteAnswer(o.spool.ErrorPath(name), res.status().message());
    if (!answered.ok()) LogError("wal-push daemon: answering for " + name + ": " + answered.message());
    if (o.on_pushed) o.on_pushed(name, res);
    std::lock_guard<std::mutex> g(q.mu);
    q.busy.erase(name);
  }
}

// Acks nobody will take (the file is gone and no longer .ready): PostgreSQL crashed between our ack
// and its call, or the segment was archived by someone else.
void RemoveStaleAnswers(const WalSpool& spool, const std::string& pg_wal, const std::set<std::string>& ready) {
  for (const auto& f : ListNames(spool.dir + "/ack")) {
    std::string name = EndsWith(f, ".ok")      ? f.substr(0, f.size() - 3)
                       : EndsWith(f, ".error") ? f.substr(0, f.size() - 6)
                                               : "";
    if (name.empty() || ready.count(name) || Exists(pg_wal + "/" + name)) continue;
    ::unlink((spool.dir + "/ack/" + f).c_str());
  }
}

}  // namespace

bool WalFileIsReady(const std::string& path) {
  return Exists(Dirname(path) + "/archive_status/" + Basename(path) + ".ready");
}

StatusOr<std::string> WalFileStamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus("wal-push: stat " + path, errno);
  int64_t mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return std::to_string(st.st_ino) + " " + std::to_string(st.st_size) + " " + std::to_string(mtime_ns);
}

AckState TakeWalAck(const WalSpool& spool, const std::string& path, std::string* error) {
  std::string name = Basename(path);
  std::string ack = spool.AckPath(name);
  if (Exists(ack)) {
    std::string text = ReadText(ack);
    auto stamp = WalFileStamp(path);
    ::unlink(ack.c_str());
    // An ack for another file of the same name (an older one) does not answer for this one.
    if (stamp.ok() && text == *stamp) return AckState::kOk;
    LogWarn("wal-push: ignoring the spool's ack of " + name + ": written for another file of that name");
    return AckState::kNone;
  }
  std::string err = spool.ErrorPath(name);
  if (Exists(err)) {
    *error = ReadText(err);
    ::unlink(err.c_str());
    if (error->empty()) *error = "the wal-push daemon failed to store " + name;
    return AckState::kError;
  }
  return AckState::kNone;
}

std::vector<std::string> PendingWalFiles(const std::string& pg_wal, const WalSpool& spool) {
  std::vector<std::string> out;
  for (const auto& f : ListNames(pg_wal + "/archive_status")) {
    if (!EndsWith(f, ".ready")) continue;
    std::string name = f.substr(0, f.size() - 6);
    if (!ParsePgWalFileName(name).ok()) continue;
    if (Exists(spool.AckPath(name)) || Exists(spool.ErrorPath(name))) continue;
    out.push_back(name);
  }
  // PostgreSQL's archiver takes history files first (a new timeline must be found by recovery
  // before its segments are), then the oldest segment.
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    bool ha = EndsWith(a, ".history"), hb = EndsWith(b, ".history");
    return ha != hb ? ha : a < b;
  });
  return out;
}

void WriteWalSpoolErrors(const WalSpool& spool, const std::string& pg_wal, const std::string& error) {
  if (!MakeDirs(spool.dir + "/ack").ok()) return;
  for (const auto& name : PendingWalFiles(pg_wal, spool)) WriteAnswer(spool.ErrorPath(name), error).IgnoreError();
}

bool WalSpoolDaemonRunning(const WalSpool& spool) {
  Fd fd(::open(spool.LockPath().c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;  // nobody holds it exclusively
  return errno == EWOULDBLOCK;
}

Status RunWalSpoolDaemon(const Repository& repo, Storage& local, const std::vector<WalOffsite>& offsite,
                         const WalSpoolDaemonOptions& o) {
  RETURN_IF_ERROR(MakeDirs(o.spool.dir + "/ack"));
  SpoolLock lock;
  ASSIGN_OR_RETURN(bool mine, lock.TryAcquire(o.spool.LockPath()));
  if (!mine) return Status::Ok();
  LogInfo("wal-push daemon started for " + o.pg_wal + " (" + std::to_string(o.jobs) + " jobs)");
  Queue q;
  std::vector<std::thread> pushers;
  for (int i = 0; i < std::max(1, o.jobs); ++i) {
    pushers.emplace_back([&] { Pusher(repo, local, offsite, o, q); });
  }
  auto last_work = Clock::now();
  auto last_drain = Clock::now();
  for (;;) {
    bool status_dir = false;
    auto names = ListNames(o.pg_wal + "/archive_status", &status_dir);
    if (!status_dir) break;  // the data directory went away
    auto pending = PendingWalFiles(o.pg_wal, o.spool);
    bool busy;
    {
      std::lock_guard<std::mutex> g(q.mu);
      for (const auto& n : pending) {
        if (q.busy.insert(n).second) q.waiting.push_back(n);
      }
      busy = !q.busy.empty();
    }
    q.cv.notify_all();
    if (busy) last_work = Clock::now();
    if (Since(last_work) > o.idle_exit_seconds) break;
    if (!busy && Since(last_drain) > 1) {
      std::set<std::string> ready;
      for (const auto& f : names) {
        if (EndsWith(f, ".ready")) ready.insert(f.substr(0, f.size() - 6));
      }
      RemoveStaleAnswers(o.spool, o.pg_wal, ready);
      if (!o.push.outbox_dir.empty()) DrainWalOutbox(repo, local, offsite, o.push.outbox_dir, 1);
      last_drain = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
  }
  {
    std::lock_guard<std::mutex> g(q.mu);
    q.stop = true;
  }
  q.cv.notify_all();
  for (auto& t : pushers) t.join();
  LogInfo("wal-push daemon for " + o.pg_wal + " idle, exiting");
  return Status::Ok();
}

Status WaitForWalAck(const WalSpoolWaitOptions& o) {
  auto start = Clock::now();
  auto checked = Clock::now() - std::chrono::hours(1);
  std::string name = Basename(o.path);
  for (;;) {
    std::string error;
    switch (TakeWalAck(o.spool, o.path, &error)) {
      case AckState::kOk:
        return Status::Ok();
      case AckState::kError:
        return IoError(error);
      case AckState::kNone:
        break;
    }
    if (Since(start) > o.timeout_seconds) {
      return Unavailable("wal-push: the spool daemon did not store " + name + " within " +
                         std::to_string(static_cast<int>(o.timeout_seconds)) + " s (see wal.log)");
    }
    // A daemon that died (or went idle) is started again; at most once a second.
    if (Since(checked) >= 1) {
      checked = Clock::now();
      if (!WalSpoolDaemonRunning(o.spool) && o.start_daemon) RETURN_IF_ERROR(o.start_daemon());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.poll_ms));
  }
}

}  // namespace stb
