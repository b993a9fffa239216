// Small POSIX file helpers with Status results: whole-file read, directory creation and fsync,
// random names, an owning file descriptor, opening a directory beneath another without symlinks.
#pragma once

#include <string>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

StatusOr<Bytes> ReadWholeFile(const std::string& path);
Status MakeDirs(const std::string& path, int mode = 0700);
// MakeDirs, and each directory it creates is made durable in its parent (the parent fsynced):
// a file fsynced into a new directory is lost in a crash unless the directory's entry is too.
// An existing directory's parent is fsynced as well (it may be left from a crash before that).
Status MakeDirsDurable(const std::string& path, int mode = 0700);
Status FsyncDir(const std::string& dir);
// Tests: told of every FsyncDir (nullptr: none). Not for production use.
void SetFsyncDirObserverForTest(void (*observer)(const std::string& dir));
// Replaces path with text durably: a new temporary beside it (O_EXCL), fsync, rename, fsync of
// the directory. A crash leaves the old content or the new, never an empty or partial file.
Status ReplaceFileDurably(const std::string& path, const std::string& text);
std::string RandomHex(size_t bytes);
std::string Hostname();
std::string Basename(const std::string& path);
std::string Dirname(const std::string& path);

// RAII owner of a file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;
  ~Fd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Reads exactly n bytes at offset (fewer only at end of file); returns the count read.
StatusOr<size_t> PreadFull(int fd, uint8_t* buf, size_t n, uint64_t offset, const std::string& what);
Status WriteFull(int fd, const uint8_t* buf, size_t n, const std::string& what);

// Opens directory `rel` ("a/b", or "" for `dir` itself) beneath `dir` without following any
// symlink: openat2(RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH), or an O_NOFOLLOW|O_DIRECTORY walk where
// openat2 is missing. On failure the message starts with the prefix of rel that is missing, a
// symlink or not a directory ("a: is a symlink, not a directory"); the code is kNotFound when
// that element does not exist.
StatusOr<Fd> OpenDirBeneath(int dir, const std::string& rel);

}  // namespace stb
