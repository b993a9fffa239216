// Local-directory location: each object is a file; writes go to a temporary file in the same
// directory, are fsynced and then renamed (or linked, for create-only) into place.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <mutex>
#include <set>

#include "core/file_util.h"
#include "storage/storage.h"

namespace stb {
namespace {

// A file in the repository directory under a temporary name, renamed into place on commit.
// Appends are gathered in a buffer and written in large pieces: a pack of small files is tens of
// thousands of blobs, and a write() each was most of a backup's system time. A failed write makes
// the object unusable: every later Append and Commit returns that error.
class LocalPending final : public PendingObject {
 public:
  static constexpr size_t kBufferSize = 1 << 20;

  LocalPending(std::string root, std::string tmp, Fd fd, std::function<Status(const std::string&)> ensure_dir)
      : root_(std::move(root)), tmp_(std::move(tmp)), fd_(std::move(fd)), ensure_dir_(std::move(ensure_dir)) {}
  ~LocalPending() override {
    if (!committed_) ::unlink(tmp_.c_str());
  }
  Status Append(const uint8_t* data, size_t n) override {
    RETURN_IF_ERROR(error_);
    if (buf_.size() + n > kBufferSize) {
      RETURN_IF_ERROR(FlushBuffer());
      if (n >= kBufferSize) {  // too large to gather: straight through
        error_ = WriteFull(fd_.get(), data, n, tmp_);
        RETURN_IF_ERROR(error_);
        size_ += n;
        return Status::Ok();
      }
    }
    if (buf_.capacity() == 0) buf_.reserve(kBufferSize);
    buf_.insert(buf_.end(), data, data + n);
    size_ += n;
    return Status::Ok();
  }
  uint64_t size() const override { return size_; }
  Status Commit(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    RETURN_IF_ERROR(FlushBuffer());
    Bytes().swap(buf_);  // the buffer is not needed while the object waits for its fsync
    std::string path = root_ + "/" + name;
    if (::fsync(fd_.get()) != 0) return ErrnoStatus("fsync " + tmp_, errno);
    if (::close(fd_.release()) != 0) return ErrnoStatus("closing " + tmp_, errno);
    RETURN_IF_ERROR(ensure_dir_(Dirname(path)));
    if (::rename(tmp_.c_str(), path.c_str()) != 0) return ErrnoStatus("renaming " + tmp_ + " to " + path, errno);
    committed_ = true;
    return FsyncDir(Dirname(path));
  }

 private:
  Status FlushBuffer() {
    RETURN_IF_ERROR(error_);
    if (buf_.empty()) return Status::Ok();
    error_ = WriteFull(fd_.get(), buf_.data(), buf_.size(), tmp_);
    buf_.clear();
    return error_;
  }

  std::string root_, tmp_;
  Fd fd_;
  std::function<Status(const std::string&)> ensure_dir_;
  Bytes buf_;
  Status error_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

class LocalStorage final : public Storage {
 public:
  explicit LocalStorage(std::string root) : root_(std::move(root)) {}
  std::string Describe() const override { return "local " + root_; }
  StorageCaps Caps() const override { return {.atomic_create = true, .parallelism = 4}; }

  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    std::string path = root_ + "/" + name;
    std::string dir = Dirname(path);
    RETURN_IF_ERROR(EnsureDir(dir));
    std::string tmp = dir + "/.tmp-" + RandomHex(8);
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoStatus("creating " + tmp, errno);
    Status st = WriteFull(fd.get(), data, n, tmp);
    if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus("fsync " + tmp, errno);
    if (st.ok() && ::close(fd.release()) != 0) st = ErrnoStatus("closing " + tmp, errno);
    if (st.ok()) {
      if (mode == PutMode::kCreateOnly) {
        // link() fails with EEXIST atomically, unlike rename(), which replaces.
        if (::link(tmp.c_str(), path.c_str()) != 0) {
          st = errno == EEXIST ? AlreadyExists(name + " already exists in " + Describe())
                               : ErrnoStatus("linking " + path, errno);
        }
        ::unlink(tmp.c_str());
      } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
        st = ErrnoStatus("renaming " + tmp + " to " + path, errno);
      }
    }
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
    return FsyncDir(dir);
  }

  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    std::string path = root_ + "/" + name;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(name + " in " + Describe(), errno);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size) return InvalidArgument("read past the end of " + name);
    uint64_t n = std::min<uint64_t>(length, size - offset);
    Bytes out(static_cast<size_t>(n));
    ASSIGN_OR_RETURN(size_t got, PreadFull(fd.get(), out.data(), out.size(), offset, path));
    out.resize(got);
    return out;
  }

  StatusOr<uint64_t> Stat(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    struct stat st;
    if (::stat((root_ + "/" + name).c_str(), &st) != 0) return ErrnoStatus(name + " in " + Describe(), errno);
    return static_cast<uint64_t>(st.st_size);
  }

  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    // The walk starts at the deepest directory the prefix names; a prefix that ends inside a
    // name ("<segment>.r") starts at that name's directory.
    std::string dir = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    RETURN_IF_ERROR(Walk(dir, prefix, out));
    return out;
  }

  StatusOr<std::unique_ptr<PendingObject>> CreatePending() override {
    std::string tmp = root_ + "/.tmp-" + RandomHex(8);
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return ErrnoStatus("creating " + tmp, errno);
    return std::unique_ptr<PendingObject>(
        new LocalPending(root_, tmp, std::move(fd), [this](const std::string& d) { return EnsureDir(d); }));
  }

  Status Remove(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    if (::unlink((root_ + "/" + name).c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus("removing " + name + " from " + Describe(), errno);
    }
    return Status::Ok();
  }

 private:
  Status EnsureDir(const std::string& dir) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (made_.count(dir)) return Status::Ok();
    }
    // Durable: a new segment folder's entry must survive a crash with the object in it.
    RETURN_IF_ERROR(MakeDirsDurable(dir, 0700));
    std::lock_guard<std::mutex> g(mu_);
    made_.insert(dir);
    return Status::Ok();
  }

  // Lists rel (a folder under root, "" for root) recursively, keeping names starting with prefix.
  Status Walk(const std::string& rel, const std::string& prefix, std::vector<ObjectInfo>& out) {
    std::string path = rel.empty() ? root_ : root_ + "/" + rel;
    DIR* d = ::opendir(path.c_str());
    if (!d) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
      return ErrnoStatus("listing " + path, errno);
    }
    Status st;
    while (struct dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == ".." || n.rfind(".tmp-", 0) == 0) continue;
      std::string child = rel.empty() ? n : rel + "/" + n;
      struct stat sb;
      if (::fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(sb.st_mode)) {
        st = Walk(child, prefix, out);
        if (!st.ok()) break;
      } else if (S_ISREG(sb.st_mode) && child.rfind(prefix, 0) == 0) {
        out.push_back({child, static_cast<uint64_t>(sb.st_size)});
      }
    }
    ::closedir(d);
    return st;
  }

  std::string root_;
  std::mutex mu_;
  std::set<std::string> made_;
};

}  // namespace

StatusOr<std::unique_ptr<Storage>> OpenLocalStorage(const std::string& root, bool create) {
  if (root.empty()) return InvalidArgument("BACKUP_ROOT is empty");
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    if (!create) return ErrnoStatus("local repository " + root + " (BACKUP_ROOT)", errno);
    RETURN_IF_ERROR(MakeDirs(root, 0700).Context("creating the local repository (BACKUP_ROOT)"));
  } else if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument("BACKUP_ROOT " + root + " is not a directory");
  }
  return std::unique_ptr<Storage>(new LocalStorage(root));
}

}  // namespace stb
