#include "filetree/walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "core/file_util.h"

namespace stb {

bool IsExcluded(const std::vector<std::string>& patterns, const std::string& name, const std::string& rel_path) {
  for (const auto& p : patterns) {
    if (p.find('/') != std::string::npos) {
      if (fnmatch(p.c_str(), rel_path.c_str(), FNM_PATHNAME) == 0) return true;
    } else if (fnmatch(p.c_str(), name.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

std::vector<TreeRoot> NameRoots(const std::vector<std::string>& paths) {
  std::vector<TreeRoot> out;
  std::set<std::string> used;
  for (const auto& p : paths) {
    std::string base = Basename(p);
    if (base.empty() || base == "/" || base == "." || base == "..") base = "root";
    std::string name = base;
    for (int i = 2; used.count(name); ++i) name = base + "-" + std::to_string(i);
    used.insert(name);
    out.push_back({name, p});
  }
  return out;
}

namespace {

FileNode FromStat(const std::string& path, const struct stat& st) {
  FileNode n;
  n.path = path;
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  n.inode = st.st_ino;
  n.dev = st.st_dev;
  if (S_ISDIR(st.st_mode)) {
    n.type = FileNode::Type::kDir;
  } else if (S_ISLNK(st.st_mode)) {
    n.type = FileNode::Type::kSymlink;
  } else {
    n.type = FileNode::Type::kFile;
    n.size = static_cast<uint64_t>(st.st_size);
  }
  return n;
}

const char* TypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// The names in a directory, sorted by byte value; listed through a duplicate of its descriptor
// so the directory's own stays open for the reads.
StatusOr<std::vector<std::string>> ListNames(int fd) {
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoStatus("dup", errno);
  DIR* d = ::fdopendir(dup);
  if (!d) {
    int err = errno;
    ::close(dup);
    return ErrnoStatus("opendir", err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoStatus("readdir", err);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

// Runs lstat over a chunk of names on every thread of the pool, the caller's included. Threads
// claim names one at a time, so a slow name (a cold inode) holds up only one thread. The caller
// waits for the names to be done, never for a helper to wake: on a busy machine a helper may get a
// core only after the caller has done the whole chunk, and then it finds nothing left to claim.
class StatPool {
 public:
  explicit StatPool(size_t helpers) {
    for (size_t i = 0; i < helpers; ++i) threads_.emplace_back([this] { Help(); });
  }
  ~StatPool() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  // Starts lstat over n names on the helpers and returns at once; Finish() completes it. One batch
  // is in flight at a time: Start finishes the previous one first.
  void Start(int dfd, const std::string* names, FsWalkPre* out, size_t n) {
    Finish();
    // Waking a helper costs more than a few lstats: small chunks stay on this thread.
    if (threads_.empty() || n < kMinParallel) {
      for (size_t i = 0; i < n; ++i) StatOne(dfd, names[i], out[i]);
      return;
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      job_ = Job{dfd, names, out, static_cast<uint32_t>(n)};
      running_ = ++generation_;
      done_.store(0, std::memory_order_relaxed);
      cursor_.store(uint64_t{running_} << 32, std::memory_order_release);
    }
    cv_.notify_all();
  }
  // Claims what the helpers have not, then waits for the batch in flight (if any) to be done.
  void Finish() {
    if (running_ == 0) return;
    Claim(running_, job_);
    std::unique_lock<std::mutex> lk(mu_);
    done_cv_.wait(lk, [&] { return done_.load(std::memory_order_acquire) == job_.n; });
    running_ = 0;
  }
  void Run(int dfd, const std::string* names, FsWalkPre* out, size_t n) {
    Start(dfd, names, out, n);
    Finish();
  }

 private:
  struct Job {
    int dfd = -1;
    const std::string* names = nullptr;
    FsWalkPre* out = nullptr;
    uint32_t n = 0;
  };
  static constexpr size_t kMinParallel = 32;
  static void StatOne(int dfd, const std::string& name, FsWalkPre& p) {
    if (p.excluded) return;
    p.err = ::fstatat(dfd, name.c_str(), &p.st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
  }
  // The cursor is generation << 32 | next index: a helper still holding an older chunk's job
  // fails the generation check and touches nothing, and while a claimed name is not done the
  // caller does not return, so the job's buffers outlive every claim on them.
  void Claim(uint32_t gen, const Job& job) {
    uint64_t v = cursor_.load(std::memory_order_acquire);
    for (;;) {
      if (static_cast<uint32_t>(v >> 32) != gen || static_cast<uint32_t>(v) >= job.n) return;
      if (!cursor_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) continue;
      uint32_t i = static_cast<uint32_t>(v);
      StatOne(job.dfd, job.names[i], job.out[i]);
      if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == job.n) {
        { std::lock_guard<std::mutex> g(mu_); }  // the caller is asleep or has yet to check
        done_cv_.notify_one();
      }
      v = cursor_.load(std::memory_order_acquire);
    }
  }
  void Help() {
    uint32_t seen = 0;
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        job = job_;
      }
      Claim(seen, job);
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  uint32_t generation_ = 0;
  uint32_t running_ = 0;  // the generation in flight, 0 for none (the caller's thread only)
  bool stop_ = false;
  Job job_;
  std::atomic<uint64_t> cursor_{0};
  std::atomic<uint32_t> done_{0};
  std::vector<std::thread> threads_;
};

FsWalk::FsWalk(std::vector<TreeRoot> roots, std::vector<std::string> excludes, std::vector<std::string>& problems)
    : roots_(std::move(roots)), excludes_(std::move(excludes)), problems_(problems) {
  // The walk's own thread plus helpers, up to four in all: statx scales with cores until the
  // directory's dentries are shared by all of them.
  size_t threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  stat_pool_ = std::make_unique<StatPool>(threads - 1);
}

// A batch still in flight writes into a frame's buffers: it ends before they go.
FsWalk::~FsWalk() { stat_pool_->Finish(); }

StatusOr<std::unique_ptr<FsWalk>> FsWalk::Open(const std::vector<TreeRoot>& roots,
                                               const std::vector<std::string>& excludes,
                                               std::vector<std::string>& problems) {
  std::unique_ptr<FsWalk> w(new FsWalk(roots, excludes, problems));
  for (const auto& r : roots) {
    OpenRoot o;
    o.fd = Fd(::open(r.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat st;
    if (!o.fd.valid()) {
      int err = errno;
      if (::stat(r.path.c_str(), &st) != 0) return ErrnoStatus("source directory " + r.path, errno);
      if (!S_ISDIR(st.st_mode)) return InvalidArgument("source " + r.path + " is not a directory");
      problems.push_back(r.path + ": " + std::strerror(err));  // a directory we may not list: recorded empty
    } else if (::fstat(o.fd.get(), &st) != 0) {
      return ErrnoStatus("source directory " + r.path, errno);
    }
    o.top = FromStat(r.name, st);
    w->open_.push_back(std::move(o));
  }
  return w;
}

void FsWalk::Push(std::shared_ptr<WalkDir> dir, std::string rel, std::string rel_in_root) {
  auto names = ListNames(dir->fd.get());
  if (!names.ok()) {
    problems_.push_back(dir->abs + ": " + names.status().message());
    return;
  }
  stack_.push_back({std::move(dir), std::move(rel), std::move(rel_in_root), std::move(*names), 0});
}

void FsWalk::Prestat(Frame& f) {
  const size_t begin = f.pre_begin + f.pre.size();
  if (!f.ahead.empty() && f.ahead_begin == begin) {
    stat_pool_->Finish();  // the helpers may still be on it, or a subdirectory's chunk finished it
    f.pre.swap(f.ahead);
    f.ahead.clear();
  } else {
    FillChunk(f, begin, f.pre);
    stat_pool_->Run(f.dir->fd.get(), f.names.data() + begin, f.pre.data(), f.pre.size());
  }
  f.pre_begin = begin;
  // The next chunk is statted on the helpers while this thread turns this one into nodes (and
  // lists subdirectories): otherwise the helpers sat idle for all but the lstats themselves.
  const size_t after = begin + f.pre.size();
  if (after < f.names.size()) {
    FillChunk(f, after, f.ahead);
    f.ahead_begin = after;
    stat_pool_->Start(f.dir->fd.get(), f.names.data() + after, f.ahead.data(), f.ahead.size());
  }
}

void FsWalk::FillChunk(const Frame& f, size_t begin, std::vector<FsWalkPre>& out) const {
  // A chunk, not the whole listing: a directory of a million names would otherwise hold 150 MB of
  // stat results, and every level of the walk keeps its chunks while a subdirectory is walked.
  constexpr size_t kChunk = 256;
  const size_t n = std::min(kChunk, f.names.size() - begin);
  out.assign(n, FsWalkPre{});
  if (!excludes_.empty()) {
    for (size_t i = 0; i < n; ++i) {
      const std::string& name = f.names[begin + i];
      out[i].excluded = IsExcluded(excludes_, name, f.rel_in_root.empty() ? name : f.rel_in_root + "/" + name);
    }
  }
}

StatusOr<bool> FsWalk::Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) {
  for (;;) {
    if (stack_.empty()) {
      if (next_root_ == roots_.size()) return false;
      size_t i = next_root_++;
      node = std::move(open_[i].top);
      dir.reset();
      if (open_[i].fd.valid()) {
        auto d = std::make_shared<WalkDir>();
        d->fd = std::move(open_[i].fd);
        d->abs = roots_[i].path;
        Push(std::move(d), roots_[i].name, "");
      }
      return true;
    }
    Frame& f = stack_.back();
    if (f.next == f.names.size()) {
      stack_.pop_back();
      continue;
    }
    if (f.next == f.pre_begin + f.pre.size()) Prestat(f);  // also starts the chunk after it
    const FsWalkPre& p = f.pre[f.next - f.pre_begin];
    const std::string& name = f.names[f.next++];
    if (p.excluded) continue;
    int dfd = f.dir->fd.get();
    if (p.err != 0) {
      if (p.err != ENOENT) problems_.push_back(f.dir->abs + "/" + name + ": " + std::strerror(p.err));
      continue;  // ENOENT: removed while we walked
    }
    const struct stat& st = p.st;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      problems_.push_back(f.dir->abs + "/" + name + ": skipped (not a file, directory or symlink)");
      continue;
    }
    FileNode n = FromStat(f.rel + "/" + name, st);
    if (n.type == FileNode::Type::kSymlink) {
      std::string target(static_cast<size_t>(st.st_size) + 256, '\0');
      ssize_t len = ::readlinkat(dfd, name.c_str(), target.data(), target.size());
      if (len < 0) {
        problems_.push_back(f.dir->abs + "/" + name + ": " + std::strerror(errno));
        continue;
      }
      target.resize(static_cast<size_t>(len));
      n.target = std::move(target);
    }
    if (n.type == FileNode::Type::kDir) {
      // Never through a symlink: one swapped in since the fstatat is skipped, not entered.
      Fd sub(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      std::string abs = f.dir->abs + "/" + name;
      if (!sub.valid()) {
        int err = errno;
        if (err == ENOENT || err == ELOOP || err == ENOTDIR) {  // no longer the directory that was listed
          problems_.push_back(abs + (err == ENOENT
                                         ? ": removed during the backup"
                                         : ": changed during the backup (no longer a directory); skipped, not read"));
          continue;
        }
        problems_.push_back(abs + ": " + std::strerror(err));  // kept as an empty directory
      } else {
        dir = f.dir;
        auto d = std::make_shared<WalkDir>();
        d->fd = std::move(sub);
        d->abs = std::move(abs);
        std::string rel = n.path;
        std::string rel_in_root = f.rel_in_root.empty() ? name : f.rel_in_root + "/" + name;
        Push(std::move(d), std::move(rel), std::move(rel_in_root));  // f is invalid from here
        node = std::move(n);
        return true;
      }
    }
    dir = f.dir;
    node = std::move(n);
    return true;
  }
}

StatusOr<ReadFn> FsWalk::OpenFile(const WalkDir* dir, FileNode& node, std::string& changed) {
  std::string abs = AbsPath(dir, node);
  if (!dir) return Internal(abs + ": no directory to read it from");
  std::string name = node.path.substr(node.path.rfind('/') + 1);
  int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;  // O_NONBLOCK: a FIFO's open never waits
  auto fd = std::make_shared<Fd>(::openat(dir->fd.get(), name.c_str(), flags | O_NOATIME));
  if (!fd->valid() && errno == EPERM)
    *fd = Fd(::openat(dir->fd.get(), name.c_str(), flags));  // O_NOATIME needs ownership
  if (!fd->valid()) {
    if (errno == ELOOP) {
      changed = "now a symlink";
      return ReadFn();
    }
    return ErrnoStatus(abs, errno);
  }
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ErrnoStatus("stat " + abs, errno);
  if (!S_ISREG(st.st_mode)) {
    changed = std::string("now ") + TypeName(st.st_mode);
    return ReadFn();
  }
  if (st.st_dev != node.dev) {
    changed = "now on another file system";
    return ReadFn();
  }
  if (st.st_ino != node.inode) {  // a save rewritten by rename: read it, with its own metadata
    node = FromStat(node.path, st);
  }
#ifdef POSIX_FADV_SEQUENTIAL
  if (node.size > (1u << 20)) ::posix_fadvise(fd->get(), 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  return ReadFn([fd, abs = std::move(abs)](uint8_t* buf, size_t n) -> StatusOr<size_t> {
    for (;;) {
      ssize_t r = ::read(fd->get(), buf, n);
      if (r >= 0) return static_cast<size_t>(r);
      if (errno != EINTR) return ErrnoStatus("reading " + abs, errno);
    }
  });
}

std::string FsWalk::AbsPath(const WalkDir* dir, const FileNode& node) const {
  size_t slash = node.path.rfind('/');
  if (dir) return dir->abs + "/" + node.path.substr(slash + 1);
  for (const auto& r : roots_) {
    if (node.path.compare(0, r.name.size(), r.name) == 0 &&
        (node.path.size() == r.name.size() || node.path[r.name.size()] == '/'))
      return r.path + node.path.substr(r.name.size());
  }
  return node.path;
}

PrefetchWalk::PrefetchWalk(WalkSource& inner, size_t max_entries, size_t max_dirs)
    : inner_(inner), max_entries_(max_entries), max_dirs_(max_dirs) {
  thread_ = std::thread([this] { Run(); });
}

PrefetchWalk::~PrefetchWalk() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

// Entries cross in batches: one lock and at most one wake-up per batch, not per entry (a walk of
// a million files otherwise spends more time handing entries over than finding them).
void PrefetchWalk::Run() {
  const WalkDir* last = nullptr;
  Batch batch;
  for (;;) {
    Entry e;
    auto more = inner_.Next(e.node, e.dir);
    bool end = !more.ok() || !*more;
    if (!end) {
      e.new_dir = e.dir && e.dir.get() != last;
      if (e.dir) last = e.dir.get();
      batch.dirs += e.new_dir;
      batch.entries.push_back(std::move(e));
      if (batch.entries.size() < kBatchEntries && batch.dirs < kBatchDirs) continue;
    }
    std::unique_lock<std::mutex> lk(mu_);
    if (!batch.entries.empty()) {
      producer_waiting_ = true;
      cv_.wait(lk, [&] { return stop_ || (queued_entries_ < max_entries_ && queued_dirs_ < max_dirs_); });
      producer_waiting_ = false;
      if (stop_) return;
      queued_entries_ += batch.entries.size();
      queued_dirs_ += batch.dirs;
      queue_.push_back(std::move(batch));
      batch = Batch();
    }
    if (end) {
      if (!more.ok()) status_ = more.status();
      done_ = true;
    }
    if (consumer_waiting_) cv_.notify_all();
    if (end) return;
  }
}

StatusOr<bool> PrefetchWalk::Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) {
  if (pos_ == current_.entries.size()) {
    current_ = Batch();  // releases the directories of the batch handed out
    pos_ = 0;
    std::unique_lock<std::mutex> lk(mu_);
    consumer_waiting_ = true;
    cv_.wait(lk, [&] { return done_ || !queue_.empty(); });
    consumer_waiting_ = false;
    if (queue_.empty()) {
      if (!status_.ok()) return status_;
      return false;
    }
    current_ = std::move(queue_.front());
    queue_.pop_front();
    queued_entries_ -= current_.entries.size();
    queued_dirs_ -= current_.dirs;
    if (producer_waiting_) cv_.notify_all();
  }
  Entry& e = current_.entries[pos_++];
  node = std::move(e.node);
  dir = std::move(e.dir);
  return true;
}

}  // namespace stb
