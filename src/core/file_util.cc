#include "core/file_util.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#include <openssl/rand.h>

namespace stb {

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}
Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

std::string RandomHex(size_t bytes) {
  Bytes b(bytes);
  if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1) {
    std::random_device rd;  // only if OpenSSL's generator failed; names need not be secret
    for (auto& x : b) x = static_cast<uint8_t>(rd());
  }
  return ToHex(b);
}

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string Basename(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto pos = p.rfind('/');
  return pos == std::string::npos ? p : p.substr(pos + 1);
}

std::string Dirname(const std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

StatusOr<size_t> PreadFull(int fd, uint8_t* buf, size_t n, uint64_t offset, const std::string& what) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("reading " + what, errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return done;
}

Status WriteFull(int fd, const uint8_t* buf, size_t n, const std::string& what) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::write(fd, buf + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing " + what, errno);
    }
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

StatusOr<Bytes> ReadWholeFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("opening " + path, errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
  Bytes out(static_cast<size_t>(st.st_size));
  ASSIGN_OR_RETURN(size_t n, PreadFull(fd.get(), out.data(), out.size(), 0, path));
  out.resize(n);
  return out;
}

namespace {
std::atomic<void (*)(const std::string&)> g_fsync_dir_observer{nullptr};
}  // namespace

void SetFsyncDirObserverForTest(void (*observer)(const std::string& dir)) { g_fsync_dir_observer = observer; }

Status FsyncDir(const std::string& dir) {
  if (auto* observe = g_fsync_dir_observer.load()) observe(dir);
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("opening directory " + dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + dir, errno);
  return Status::Ok();
}

Status ReplaceFileDurably(const std::string& path, const std::string& text) {
  std::string tmp = Dirname(path) + "/." + Basename(path) + ".tmp-" + RandomHex(6);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoStatus("creating " + tmp, errno);
  Status st = WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(text.data()), text.size(), tmp);
  if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus("fsync " + tmp, errno);
  if (st.ok() && ::close(fd.release()) != 0) st = ErrnoStatus("closing " + tmp, errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoStatus("renaming " + tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(Dirname(path));
}

Status MakeDirs(const std::string& path, int mode) {
  if (path.empty()) return Status::Ok();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::Ok() : AlreadyExists(path + " exists and is not a directory");
  }
  if (std::string parent = Dirname(path); parent != path && parent != "." && parent != "/") {
    RETURN_IF_ERROR(MakeDirs(parent, mode));
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus("creating directory " + path, errno);
  return Status::Ok();
}

Status MakeDirsDurable(const std::string& path, int mode) {
  if (path.empty()) return Status::Ok();
  const std::string parent = Dirname(path);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return AlreadyExists(path + " exists and is not a directory");
    // A crash between an earlier mkdir and its parent's fsync leaves an entry that may not
    // survive the next one: the parent is fsynced here too (callers cache made directories).
    // A parent this process may not open (above a repository's root) was not made by it: skipped.
    Status synced = FsyncDir(parent.empty() ? "." : parent);
    return synced.code() == Code::kPermission ? Status::Ok() : synced;
  }
  if (parent != path && parent != "." && parent != "/") RETURN_IF_ERROR(MakeDirsDurable(parent, mode));
  // EEXIST: another writer made it just now; its entry is fsynced here too, not trusted to it.
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) return ErrnoStatus("creating directory " + path, errno);
  return FsyncDir(parent.empty() ? "." : parent);
}

namespace {

std::atomic<bool> g_no_openat2{false};  // set once the kernel (or a seccomp filter) lacks it

// One element at a time, so the failing element can be named.
StatusOr<Fd> OpenDirByElements(int dir, const std::string& rel) {
  Fd cur(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return ErrnoStatus("dup", errno);
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    Fd next(::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) {
      int err = errno;
      std::string prefix = rel.substr(0, end);
      struct stat st;
      // O_NOFOLLOW|O_DIRECTORY reports a symlink as ELOOP or ENOTDIR depending on the kernel.
      if ((err == ELOOP || err == ENOTDIR) && ::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) return IoError(prefix + ": is a symlink, not a directory");
        if (!S_ISDIR(st.st_mode)) return IoError(prefix + ": is not a directory");
      }
      return ErrnoStatus(prefix, err);
    }
    cur = std::move(next);
    start = end + 1;
  }
  return cur;
}

}  // namespace

StatusOr<Fd> OpenDirBeneath(int dir, const std::string& rel) {
  if (!rel.empty() && !g_no_openat2.load(std::memory_order_relaxed)) {
    struct open_how how;
    std::memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
    long fd = ::syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how);
    if (fd >= 0) return Fd(static_cast<int>(fd));
    if (errno == ENOSYS) {
      g_no_openat2 = true;
    } else if (errno != ELOOP && errno != ENOTDIR && errno != ENOENT && errno != EXDEV) {
      return ErrnoStatus(rel, errno);
    }
    // Otherwise the element-wise walk below names the element at fault.
  }
  return OpenDirByElements(dir, rel);
}

}  // namespace stb
