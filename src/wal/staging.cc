#include "wal/staging.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/file_util.h"
#include "core/log.h"
#include "wal/archive.h"

namespace stb {

namespace {

using Clock = std::chrono::steady_clock;

bool Exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

Status WriteSmallFile(const std::string& path, const std::string& text) {
  std::string tmp = path + ".stb-tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoStatus("creating " + tmp, errno);
  RETURN_IF_ERROR(WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(text.data()), text.size(), tmp));
  fd = Fd();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("renaming " + tmp, errno);
  return Status::Ok();
}

// rename, or a copy when the stage and the data directory are on different file systems.
Status MoveFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) return Status::Ok();
  if (errno != EXDEV) return ErrnoStatus("moving " + from + " to " + to, errno);
  ASSIGN_OR_RETURN(Bytes b, ReadWholeFile(from));
  std::string tmp = to + ".stb-tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("creating " + tmp, errno);
  RETURN_IF_ERROR(WriteFull(fd.get(), b.data(), b.size(), tmp));
  fd = Fd();
  if (::rename(tmp.c_str(), to.c_str()) != 0) return ErrnoStatus("renaming " + tmp, errno);
  ::unlink(from.c_str());
  return Status::Ok();
}

}  // namespace

Status FetchStaged(const std::string& dir, const std::string& file, const std::string& dest, double timeout_seconds) {
  if (file.empty() || file.find('/') != std::string::npos || file[0] == '.') {
    return InvalidArgument("wal-fetch --staging: '" + file + "' is not a WAL file name");
  }
  std::string base = dir + "/" + file;
  auto start = Clock::now();
  bool wanted = false;
  for (;;) {
    if (Exists(base)) return MoveFile(base, dest);
    if (Exists(base + ".missing")) return NotFound(file + " is not in the repository");
    if (Exists(base + ".error")) {
      auto msg = ReadWholeFile(base + ".error");
      return Unavailable(file + ": " +
                         (msg.ok() ? std::string(msg->begin(), msg->end()) : "the restore could not fetch it"));
    }
    double waited = std::chrono::duration<double>(Clock::now() - start).count();
    if (waited >= timeout_seconds) {
      return Unavailable("no answer for " + file + " in " + dir + " after " + std::to_string(int(timeout_seconds)) +
                         " s: is the restore still running?");
    }
    // A prefetched file is there at once, or a worker is finishing it: ask only after a moment.
    // (A name the stager did not foresee, such as the segment where a target stops and that the
    // server reads again to start its new timeline, waits this long.)
    if (!wanted && waited >= 0.1) {
      wanted = true;
      Status st = WriteSmallFile(base + ".want", "");
      if (!st.ok()) return st;
    }
    ::usleep(20000);
  }
}

WalStager::WalStager(const Repository& repo, Storage& from, StagerOptions o)
    : repo_(repo), from_(from), o_(std::move(o)) {}

WalStager::~WalStager() { Stop(); }

void WalStager::Start() {
  ::mkdir((o_.dir + "/.tmp").c_str(), 0700);
  // The history files of the path, and the probe for the timeline after the newest, are asked
  // for first: answering them now saves the client's wait before it asks.
  for (uint32_t tli : o_.plan.Timelines()) Enqueue(WalName{.kind = WalName::kHistory, .tli = tli}.FileName());
  Enqueue(WalName{.kind = WalName::kHistory, .tli = o_.plan.path.back().tli + 1}.FileName());
  threads_.emplace_back([this] { Control(); });
  for (int i = 0; i < std::max(1, o_.jobs); ++i) threads_.emplace_back([this] { Work(); });
}

void WalStager::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::string WalStager::FirstError() const {
  std::lock_guard<std::mutex> l(mu_);
  return first_error_;
}

void WalStager::Enqueue(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (!scheduled_.insert(name).second) return;
  queue_.push_back(name);
}

void WalStager::Control() {
  const auto& plan = o_.plan;
  uint64_t next = plan.path.front().begin_lsn / plan.seg_size;  // the next planned segment to queue
  uint64_t end = plan.last_segno + 1;                           // answered missing: the end of the WAL
  while (!stop_) {
    std::vector<std::string> wants;
    if (DIR* d = ::opendir(o_.dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 5 && n.compare(n.size() - 5, 5, ".want") == 0) wants.push_back(n.substr(0, n.size() - 5));
      }
      ::closedir(d);
    }
    for (const auto& w : wants) {
      ::unlink((o_.dir + "/" + w + ".want").c_str());
      std::lock_guard<std::mutex> l(mu_);
      if (scheduled_.count(w) && !serving_.count(w) && !Exists(o_.dir + "/" + w) &&
          !Exists(o_.dir + "/" + w + ".missing") && !Exists(o_.dir + "/" + w + ".error") &&
          std::find(queue_.begin(), queue_.end(), w) == queue_.end()) {
        scheduled_.erase(w);  // answered and taken, asked again (a restarted recovery)
      }
    }
    for (const auto& w : wants) Enqueue(w);
    size_t ahead;
    {
      std::lock_guard<std::mutex> l(mu_);
      std::string last = SegmentFileName(plan.TimelineFor(plan.last_segno), plan.last_segno, plan.seg_size);
      for (auto it = outstanding_.begin(); it != outstanding_.end();) {
        if (Exists(o_.dir + "/" + *it)) {
          ++it;
          continue;
        }
        // The server reads the last segment again when recovery ends (to start its new
        // timeline): have it ready once more rather than make it wait for a .want.
        if (*it == last && !restaged_last_) {
          restaged_last_ = true;
          scheduled_.erase(*it);
          queue_.push_back(*it);
          scheduled_.insert(*it);
        }
        it = outstanding_.erase(it);
      }
      ahead = outstanding_.size() + queue_.size();
    }
    while (next <= end && ahead < size_t(std::max(1, o_.prefetch))) {
      Enqueue(SegmentFileName(plan.TimelineFor(next), next, plan.seg_size));
      ++next;
      ++ahead;
    }
    ::usleep(20000);
  }
}

void WalStager::Work() {
  while (!stop_) {
    std::string name;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!queue_.empty()) {
        name = queue_.front();
        queue_.pop_front();
        serving_.insert(name);
      }
    }
    if (name.empty()) {
      ::usleep(10000);
      continue;
    }
    Serve(name);
    std::lock_guard<std::mutex> l(mu_);
    serving_.erase(name);
  }
}

void WalStager::Serve(const std::string& name) {
  std::string tmp = o_.dir + "/.tmp/" + name, dest = o_.dir + "/" + name;
  WalFetchOptions f;
  f.file = name;
  f.dest = tmp;
  f.system_id = o_.system_id;
  f.retry_seconds = o_.retry_seconds;
  Status st = FetchWal(repo_, from_, f);
  if (st.ok()) {
    if (o_.owner && ::chown(tmp.c_str(), o_.owner->first, o_.owner->second) != 0) {
      st = ErrnoStatus("chown " + tmp, errno);
    } else if (::rename(tmp.c_str(), dest.c_str()) != 0) {
      st = ErrnoStatus("renaming " + tmp, errno);
    } else {
      std::lock_guard<std::mutex> l(mu_);
      if (name.size() == 24) outstanding_.insert(name);
      ++served_;
      return;
    }
  }
  if (st.code() == Code::kNotFound) {
    st = WriteSmallFile(dest + ".missing", "");
    if (st.ok()) return;
  }
  std::string msg = st.message();
  LogError("restore: WAL " + name + ": " + msg);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (first_error_.empty()) first_error_ = name + ": " + msg;
  }
  Status w = WriteSmallFile(dest + ".error", msg + "\n");
  if (!w.ok()) LogError("restore: " + w.message());
}

}  // namespace stb
