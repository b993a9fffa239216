#include "filetree/walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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
    const std::string& name = f.names[f.next++];
    std::string rel_in_root = f.rel_in_root.empty() ? name : f.rel_in_root + "/" + name;
    if (IsExcluded(excludes_, name, rel_in_root)) continue;
    int dfd = f.dir->fd.get();
    struct stat st;
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) problems_.push_back(f.dir->abs + "/" + name + ": " + std::strerror(errno));
      continue;  // ENOENT: removed while we walked
    }
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

void PrefetchWalk::Run() {
  const WalkDir* last = nullptr;
  for (;;) {
    Entry e;
    auto more = inner_.Next(e.node, e.dir);
    std::unique_lock<std::mutex> lk(mu_);
    if (!more.ok() || !*more) {
      if (!more.ok()) status_ = more.status();
      done_ = true;
      cv_.notify_all();
      return;
    }
    e.new_dir = e.dir && e.dir.get() != last;
    if (e.dir) last = e.dir.get();
    cv_.wait(lk, [&] { return stop_ || (queue_.size() < max_entries_ && dirs_ < max_dirs_); });
    if (stop_) return;
    dirs_ += e.new_dir;
    queue_.push_back(std::move(e));
    if (queue_.size() == 1) cv_.notify_all();
  }
}

StatusOr<bool> PrefetchWalk::Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return done_ || !queue_.empty(); });
  if (queue_.empty()) {
    if (!status_.ok()) return status_;
    return false;
  }
  Entry& e = queue_.front();
  node = std::move(e.node);
  dir = std::move(e.dir);
  dirs_ -= e.new_dir;
  bool was_full = queue_.size() >= max_entries_ || dirs_ + e.new_dir >= max_dirs_;
  queue_.pop_front();
  if (was_full) cv_.notify_all();
  return true;
}

}  // namespace stb
