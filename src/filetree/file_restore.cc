#include "filetree/file_restore.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "core/crc32c.h"
#include "core/file_util.h"

namespace stb {

using json = nlohmann::json;

namespace {

constexpr uint64_t kMaxReadSpan = 4u << 20;  // one ranged read covers blobs up to this span
constexpr uint64_t kMaxGap = 1u << 20;       // read through gaps smaller than this
constexpr size_t kMaxHeldFiles = 256;        // files of several blobs kept open between blobs
constexpr size_t kSpareFds = 128;            // descriptors left for packs, files and the rest
constexpr size_t kMaxWindowBlobs = 65536;    // blob uses per window (besides window_files)
constexpr size_t kWindowsInFlight = 2;       // windows the workers write at once
constexpr size_t kShownErrors = 20;          // errors kept for the report; the rest are counted

struct timespec MtimeSpec(int64_t ns) {
  return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

// The soft limit on open descriptors, raised to the hard one: a restore keeps the directories it
// writes into open until their metadata is set.
size_t RaiseNoFileLimit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = old;
  }
  return rl.rlim_cur == RLIM_INFINITY ? SIZE_MAX : static_cast<size_t>(rl.rlim_cur);
}

// One directory the restore writes into, open from its node until the walk has left it and its
// last file is written.
struct DirState {
  std::string tree_path;  // its node's path ("saves/a"; the root name for a root)
  Fd fd;
  int parent = -1;           // the parent's descriptor (kept open longer than this one)
  std::string name;          // final name in the parent
  std::string staged;        // non-empty: created under this name, renamed to `name` when complete
  bool fresh = false;        // created by this restore (staged, or inside a staged or fresh one)
  std::string path;          // destination path, for messages
  DirState* up = nullptr;    // its directory (null for a root)
  DirState* root = nullptr;  // its root, always kept open
  std::string rel;           // its path beneath the root as it is now (staged names included)
  bool done = false;         // metadata set (and renamed into place when staged)
  gid_t file_gid = 0;        // the group a file created in it gets (root only)
  bool failed = false;       // could not be restored: everything beneath it fails with it
  bool counted = false;      // holds one of the descriptors kept open (Restorer::kept)
  int64_t last_window = -1;  // the last window holding a file beneath it (-1: none)
  // Its node's metadata, applied when it is finished.
  bool has_meta = false;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t mtime_ns = 0;
  void SetMeta(const FileNode& n) {
    has_meta = true;
    mode = n.mode;
    uid = n.uid;
    gid = n.gid;
    mtime_ns = n.mtime_ns;
  }
};

// Opens directory `name` beneath `parent`, creating it if missing, never following a symlink.
// Inside a directory this restore created, it is made under its final name, and an existing
// one there was planted: an error. Elsewhere a missing directory is staged: made (0700) under
// `staged_name` and renamed into place when complete, so a killed restore leaves no partial
// tree under a final name.
Status OpenOrCreateDir(DirState& d, int parent, bool parent_fresh, const std::string& staged_name) {
  d.parent = parent;
  if (parent_fresh) {
    if (::mkdirat(parent, d.name.c_str(), 0700) != 0) {
      if (errno == EEXIST) return IoError(d.path + ": appeared during the restore; nothing was restored into it");
      return ErrnoStatus("creating " + d.path, errno);
    }
    d.fresh = true;
  } else {
    Fd fd(::openat(parent, d.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.valid()) {
      d.fd = std::move(fd);
      return Status::Ok();
    }
    const int err = errno;
    struct stat st;
    if ((err == ELOOP || err == ENOTDIR) && ::fstatat(parent, d.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode)) return IoError(d.path + ": is a symlink, not a directory");
      if (!S_ISDIR(st.st_mode)) return IoError(d.path + ": is not a directory");
    }
    if (err != ENOENT) return ErrnoStatus("opening " + d.path, err);
    if (::mkdirat(parent, staged_name.c_str(), 0700) != 0) return ErrnoStatus("creating " + d.path, errno);
    d.staged = staged_name;
    d.fresh = true;
  }
  const std::string& made = d.staged.empty() ? d.name : d.staged;
  d.fd = Fd(::openat(parent, made.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!d.fd.valid()) return ErrnoStatus("opening " + d.path, errno);
  return Status::Ok();
}

// Opens the trusted part of the destination `path` of one root and creates the elements after it
// up to the root's parent; the anchor is opened as given, each element after it is created with
// mkdirat and opened without following a symlink, so one planted there (PLAYER_SAVES_DIR replaced
// by a symlink) fails the restore instead of redirecting it. Sets `last` to the root's own name
// in the returned directory ("" when the destination is the anchor itself).
StatusOr<Fd> OpenDestinationParent(const std::string& anchor_opt, std::string path, std::string& last) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  std::string anchor, rel;
  if (!anchor_opt.empty() && path.size() > anchor_opt.size() + 1 &&
      path.compare(0, anchor_opt.size() + 1, anchor_opt + "/") == 0) {
    anchor = anchor_opt;
    rel = path.substr(anchor_opt.size() + 1);
  } else {
    anchor = Dirname(path);
    rel = Basename(path);
    if (rel == "/" || rel == "." || rel == "..") {  // "/" or ".": nothing below an anchor
      anchor = path;
      rel.clear();
    }
  }
  RETURN_IF_ERROR(MakeDirs(anchor, 0700));
  Fd cur(::open(anchor.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cur.valid()) return ErrnoStatus("opening restore target " + anchor, errno);
  std::vector<std::string> parts;
  for (size_t start = 0; start < rel.size();) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    start = end + 1;
    if (!part.empty() && part != ".") parts.push_back(part);
  }
  last = parts.empty() ? "" : parts.back();
  if (!parts.empty()) parts.pop_back();
  std::string done = anchor;
  for (const auto& part : parts) {
    done += "/" + part;
    if (::mkdirat(cur.get(), part.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoStatus("creating restore target " + done, errno);
    }
    auto next = OpenDirBeneath(cur.get(), part);
    if (!next.ok()) {
      return Status(next.status().code(), "restore target " + Dirname(done) + "/" + next.status().message() +
                                              "; refusing to restore through it, nothing was written");
    }
    cur = std::move(*next);
  }
  return cur;
}

// One file of a window, from its node until it is written.
struct Item {
  FileNode node;
  size_t index = 0;                   // its position in the source (temporary names, FileRestoreResult::crc32c)
  DirState* dir = nullptr;            // its directory, alive until the window is done
  std::atomic<int64_t> remaining{0};  // blobs not yet handled
  std::atomic<uint64_t> written{0};   // bytes written
  std::atomic<bool> failed{false};
  std::atomic<bool> created{false};  // the file (or its temporary) exists, made by us
  // With FileRestoreOptions::crc32c: (CRC-32C, length) of each written blob, filled by whichever
  // worker writes it and combined in file order by the write that completes the file.
  std::vector<std::pair<uint32_t, uint64_t>> pieces;
  uint32_t crc = 0;
};

struct Use {
  Item* item;
  uint64_t file_offset;
  size_t part;  // index in the file's content list
};
struct PlannedBlob {
  Id id;
  BlobLocation loc;
  std::vector<Use> uses;
};
// One ranged read: blobs [begin, end) of a pack's list (sorted by offset).
struct Span {
  size_t pack, begin, end;
};

// The files the workers write together. One window is written while the next is read from the
// tree; the directories the walk left while reading it are finished once it is written.
struct Window {
  int64_t seq = 0;
  std::deque<Item> items;  // deque: items stay put, the workers hold pointers to them
  size_t blob_uses = 0;
  std::vector<std::pair<Id, std::vector<PlannedBlob>>> packs;
  std::vector<Span> spans;
  std::vector<Item*> empty;  // files without content
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  std::vector<std::unique_ptr<DirState>> finish;  // in the order the walk left them (deepest first)
};

struct Restorer {
  Repository& repo;
  Progress& progress;
  const FileRestoreOptions& opt;
  std::vector<std::unique_ptr<DirState>> roots;  // open to the end
  std::unordered_map<std::string, DirState*> root_dirs;
  std::unordered_map<std::string, std::string> root_dests;  // root name -> its path, for messages
  std::vector<Fd> root_parents;                             // the directories holding the roots
  // The walk: the directories along the current path beneath the current root, and the last node.
  std::vector<std::unique_ptr<DirState>> stack;
  std::string cur_root, prev_path;
  std::set<std::string> roots_seen;
  std::unique_ptr<Window> cur = std::make_unique<Window>();  // being read from the tree
  std::deque<std::unique_ptr<Window>> inflight;              // being written, oldest first
  int64_t completed = 0;                                     // windows [0, completed) are written
  // Files of several blobs: the descriptor made by the first blob, kept for later ones (at most
  // kMaxHeldFiles), and the inode, so a reopen checks it still writes the file it created.
  struct Multi {
    std::shared_ptr<Fd> fd;
    ino_t ino = 0;
  };
  std::mutex multi_mu;
  std::unordered_map<Item*, Multi> multi;
  size_t held = 0;
  std::mutex err_mu;
  std::vector<std::string> errors;  // the first kShownErrors
  size_t error_count = 0;
  std::atomic<uint64_t> verified{0};
  uint64_t files = 0, total_bytes = 0;
  std::vector<uint32_t> crc;  // by node index, with opt.crc32c
  const bool as_root = geteuid() == 0;
  const uid_t euid = geteuid();
  // Directories beyond this many are closed after their creation and opened again beneath
  // their root (openat2, no symlinks) whenever used: more than the open-file limit allows.
  size_t max_kept = SIZE_MAX;
  size_t kept = 0;
  // Temporary names are unique per run, so a file left by a killed restore never mixes with this one.
  const std::string run_id = RandomHex(4);
  size_t staged_no = 0;

  Restorer(Repository& r, Progress& p, const FileRestoreOptions& o) : repo(r), progress(p), opt(o) {}

  std::string TempName(const Item& it) const {
    return ".stb-restore-" + run_id + "-" + std::to_string(it.index) + ".tmp";
  }
  std::string StagedName() { return ".stb-restore-" + run_id + "-" + std::to_string(staged_no++) + ".d"; }

  // As root: the group new files in `d` get (its own in a setgid directory), so a file whose
  // owner and group already match needs no chown. One fstat per directory, not per file.
  void NoteGroup(DirState& d) {
    struct stat st;
    if (!as_root) return;
    d.file_gid = static_cast<gid_t>(-1);  // unknown: always chown
    if (d.fd.valid() && ::fstat(d.fd.get(), &st) == 0) d.file_gid = (st.st_mode & S_ISGID) ? st.st_gid : getegid();
  }

  StatusOr<int> DirFd(const DirState& d, Fd& scratch) {
    if (d.fd.valid()) return d.fd.get();
    auto fd = OpenDirBeneath(d.root->fd.get(), d.rel);
    if (!fd.ok()) return Status(fd.status().code(), d.path + ": " + fd.status().message());
    scratch = std::move(*fd);
    return scratch.get();
  }

  void Error(const std::string& msg) {
    std::lock_guard<std::mutex> g(err_mu);
    if (errors.size() < kShownErrors) errors.push_back(msg);
    ++error_count;
  }
  void Fail(Item& it, const std::string& msg) {
    if (it.failed.exchange(true)) return;
    Error(msg);
  }

  static std::string ParentPath(const std::string& path) {
    size_t last = path.rfind('/');
    return last == std::string::npos ? "" : path.substr(0, last);
  }
  static std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }
  static bool IsBelow(const std::string& path, const std::string& dir) {
    return path.size() > dir.size() && path[dir.size()] == '/' && path.compare(0, dir.size(), dir) == 0;
  }
  // The name a file is written under: in place inside a directory this restore created,
  // otherwise a temporary renamed over the final name when complete.
  std::string WriteName(const Item& it) const { return it.dir->fresh ? BaseName(it.node.path) : TempName(it); }

  // Files are created with their final permission bits (the process umask is 0 during a restore),
  // plus owner write while they are written, so most need no chmod afterwards.
  static mode_t CreateMode(const Item& it) { return static_cast<mode_t>((it.node.mode & 0777) | 0200); }

  StatusOr<Fd> Create(Item& it) {
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    Fd scratch;
    ASSIGN_OR_RETURN(int dir, DirFd(*it.dir, scratch));
    Fd fd(::openat(dir, WriteName(it).c_str(), flags, CreateMode(it)));
    if (!fd.valid()) return ErrnoStatus("creating " + it.node.path, errno);
    it.created = true;
    return fd;
  }

  // A file of several blobs: its descriptor from the first blob, or (when more than
  // kMaxHeldFiles are open) reopened and checked to be the file created, not one swapped in.
  StatusOr<std::shared_ptr<Fd>> OpenMulti(Item& item) {
    std::lock_guard<std::mutex> g(multi_mu);
    auto it = multi.find(&item);
    const std::string& path = item.node.path;
    if (it == multi.end()) {
      ASSIGN_OR_RETURN(Fd fd, Create(item));
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
      auto sp = std::make_shared<Fd>(std::move(fd));
      Multi& m = multi[&item];
      m.ino = st.st_ino;
      if (held < kMaxHeldFiles) {
        m.fd = sp;
        ++held;
      }
      return sp;
    }
    if (it->second.fd) return it->second.fd;
    Fd scratch;
    ASSIGN_OR_RETURN(int dir, DirFd(*item.dir, scratch));
    Fd fd(::openat(dir, WriteName(item).c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!fd.valid()) return ErrnoStatus("reopening " + path, errno);
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    if (st.st_ino != it->second.ino || !S_ISREG(st.st_mode)) {
      return IoError(path + ": its file was replaced during the restore; nothing more was written to it");
    }
    return std::make_shared<Fd>(std::move(fd));
  }

  // Writes one blob of a file; `fd` is the descriptor written through.
  Status WriteAt(Item& it, const uint8_t* data, size_t n, uint64_t offset, std::shared_ptr<Fd>& fd) {
    if (it.node.content.size() <= 1) {
      ASSIGN_OR_RETURN(Fd one, Create(it));
      fd = std::make_shared<Fd>(std::move(one));
    } else {
      ASSIGN_OR_RETURN(fd, OpenMulti(it));
    }
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(fd->get(), data + done, n - done, static_cast<off_t>(offset + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writing " + it.node.path, errno);
      }
      done += static_cast<size_t>(w);
    }
    it.written += n;
    return Status::Ok();
  }

  // One blob of a file handled (written through `fd`, or skipped because the file failed). The
  // last one finishes the file (every other write is done by then); a failed file is removed,
  // so no partial file stays under its name.
  void Handled(Item& it, const std::shared_ptr<Fd>& fd) {
    if (--it.remaining != 0) return;
    if (it.node.content.size() > 1) {
      std::lock_guard<std::mutex> g(multi_mu);
      auto m = multi.find(&it);
      if (m != multi.end()) {
        if (m->second.fd) --held;
        multi.erase(m);
      }
    }
    if (!it.failed && fd) {
      Status st = Finalize(it, fd->get());
      if (!st.ok()) Fail(it, st.message());
    }
    if (it.failed && it.created) Remove(it);
  }

  // Sets metadata on the complete file and, for a temporary, renames it into place. Its size is
  // the bytes written: each file was created empty (O_EXCL) and each blob decoded to its length.
  // A small file in a new directory costs openat, write, futimens and close; fchmod and fchown
  // only when creation could not already give the right mode and owner.
  Status Finalize(Item& it, int fd) {
    const FileNode& n = it.node;
    if (it.written != n.size) {
      return Corrupt(n.path + ": restored " + std::to_string(it.written.load()) + " bytes, the backup has " +
                     std::to_string(n.size));
    }
    DirState& d = *it.dir;
    if (as_root && (n.uid != euid || n.gid != d.file_gid)) (void)::fchown(fd, n.uid, n.gid);
    if (CreateMode(it) != n.mode && ::fchmod(fd, n.mode) != 0) return ErrnoStatus("chmod " + n.path, errno);
    struct timespec ts[2] = {MtimeSpec(n.mtime_ns), MtimeSpec(n.mtime_ns)};
    if (::futimens(fd, ts) != 0) return ErrnoStatus("setting the time of " + n.path, errno);
    if (!d.fresh) {
      Fd scratch;
      ASSIGN_OR_RETURN(int dir, DirFd(d, scratch));
      if (::renameat(dir, TempName(it).c_str(), dir, BaseName(n.path).c_str()) != 0) {
        return ErrnoStatus("renaming into " + n.path, errno);
      }
    }
    if (opt.start_writeback) (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (opt.crc32c) {
      uint32_t c = 0;
      for (const auto& [piece_crc, len] : it.pieces) c = Crc32cCombine(c, piece_crc, len);
      it.crc = c;
    }
    verified++;
    progress.files_done++;
    return Status::Ok();
  }

  void Remove(Item& it) {
    Fd scratch;
    auto dir = DirFd(*it.dir, scratch);
    if (dir.ok()) ::unlinkat(*dir, WriteName(it).c_str(), 0);
  }

  void CreateEmpty(Item& it) {
    auto fd = Create(it);
    Status st = fd.ok() ? Finalize(it, fd->get()) : fd.status();
    if (st.ok()) return;
    Fail(it, st.message());
    if (it.created) Remove(it);
  }

  void CreateSymlink(const FileNode& n, DirState& parent) {
    Fd scratch;
    auto dirfd = DirFd(parent, scratch);
    if (!dirfd.ok()) return Error(dirfd.status().message());
    const int dir = *dirfd;
    const std::string name = BaseName(n.path);
    Status st;
    struct stat sb;
    if (!parent.fresh && ::fstatat(dir, name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode)) {
      ::unlinkat(dir, name.c_str(), 0);
    }
    if (::symlinkat(n.target.c_str(), dir, name.c_str()) != 0) st = ErrnoStatus("creating symlink " + n.path, errno);
    if (st.ok()) {
      // Owner and times through a descriptor of the link just made, checked to be a symlink, so
      // a file swapped in under its name meanwhile is not chowned.
      Fd link(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!link.valid() || ::fstat(link.get(), &sb) != 0 || !S_ISLNK(sb.st_mode)) {
        st = IoError("symlink " + n.path + " was replaced during the restore");
      } else {
        if (as_root) (void)::fchownat(link.get(), "", n.uid, n.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
        struct timespec ts[2] = {MtimeSpec(n.mtime_ns), MtimeSpec(n.mtime_ns)};
        if (::utimensat(link.get(), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 && errno == EINVAL) {
          ::utimensat(dir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);  // older kernels: times by name
        }
      }
    }
    if (!st.ok()) Error(st.message());
  }

  // The destination path of tree path "<root>/a/b", for messages.
  std::string DestPath(const std::string& path) const {
    size_t slash = path.find('/');
    const std::string& root = root_dests.at(path.substr(0, slash));
    return slash == std::string::npos ? root : root + path.substr(slash);
  }

  // Takes one node from the source. A node that is unsafe or out of tree order is returned as an
  // error (the restore stops); one that cannot be restored is counted among the errors.
  Status Accept(FileNode& n, size_t index) {
    if (!IsSafeRelativePath(n.path)) {
      return InvalidArgument("refusing to restore: the backup holds an unsafe path '" + n.path + "'");
    }
    const size_t slash = n.path.find('/');
    const std::string root = n.path.substr(0, slash);
    auto rit = root_dirs.find(root);
    if (rit == root_dirs.end()) {
      return InvalidArgument("refusing to restore: the backup holds an unsafe path '" + n.path +
                             "' (not beneath one of its roots)");
    }
    if (root != cur_root) {
      if (!roots_seen.insert(root).second) {
        return Corrupt("refusing to restore further: the backup's tree is out of order at '" + n.path +
                       "' (its root came before)");
      }
      while (!stack.empty()) Leave();
      cur_root = root;
    } else if (CompareTreePaths(prev_path, n.path) >= 0) {
      return Corrupt("refusing to restore further: the backup's tree is out of order at '" + n.path + "' (after '" +
                     prev_path + "')");
    }
    prev_path = n.path;
    DirState* root_dir = rit->second;
    if (n.type == FileNode::Type::kFile) {
      ++files;
      total_bytes += n.size;
      progress.files_total++;
      progress.bytes_total += n.size;
    }
    if (slash == std::string::npos) {  // the root itself
      if (n.type == FileNode::Type::kDir) {
        root_dir->SetMeta(n);
      } else {
        Error(n.path + ": not restored, a root must be a directory");
      }
      return Status::Ok();
    }
    while (!stack.empty() && !IsBelow(n.path, stack.back()->tree_path)) Leave();
    DirState* parent = stack.empty() ? root_dir : stack.back().get();
    if (parent->tree_path != ParentPath(n.path)) {
      Error(n.path + ": not restored, the backup lists no directory for it");
      return Status::Ok();
    }
    if (parent->failed) {  // its directory's error names the path at fault
      Error(n.path + ": not restored, its directory could not be restored");
      return Status::Ok();
    }
    switch (n.type) {
      case FileNode::Type::kDir:
        OpenDir(n, *parent);
        break;
      case FileNode::Type::kSymlink:
        CreateSymlink(n, *parent);
        break;
      case FileNode::Type::kFile:
        return AddFile(n, index, *parent);
    }
    return Status::Ok();
  }

  // Opens or creates a directory of the tree and makes it the current one.
  void OpenDir(const FileNode& n, DirState& parent) {
    auto d = std::make_unique<DirState>();
    d->tree_path = n.path;
    d->name = BaseName(n.path);
    d->path = DestPath(n.path);
    d->up = &parent;
    d->root = parent.root;
    d->SetMeta(n);
    Fd scratch;
    auto pfd = DirFd(parent, scratch);
    Status st = pfd.ok() ? OpenOrCreateDir(*d, *pfd, parent.fresh, StagedName()) : pfd.status();
    if (!st.ok()) {
      Error(st.message() + "; nothing was restored through it");
      d->failed = true;
      d->fd = Fd();
    } else {
      NoteGroup(*d);
      d->rel = (parent.rel.empty() ? "" : parent.rel + "/") + (d->staged.empty() ? d->name : d->staged);
      if (kept < max_kept) {
        ++kept;
        d->counted = true;
      } else {
        d->fd = Fd();
      }
    }
    stack.push_back(std::move(d));
  }

  Status AddFile(FileNode& n, size_t index, DirState& parent) {
    if (!cur->items.empty() &&
        (cur->items.size() >= opt.window_files || cur->blob_uses + n.content.size() > kMaxWindowBlobs)) {
      Dispatch();
    }
    Item& it = cur->items.emplace_back();
    it.node = std::move(n);
    it.index = index;
    it.dir = &parent;
    cur->blob_uses += it.node.content.size();
    parent.last_window = cur->seq;
    return Status::Ok();
  }

  // The walk leaves the deepest open directory: it is finished now if nothing beneath it is still
  // to be written, else once the window holding its last file is.
  void Leave() {
    std::unique_ptr<DirState> d = std::move(stack.back());
    stack.pop_back();
    if (d->failed) return;
    d->up->last_window = std::max(d->up->last_window, d->last_window);
    if (d->last_window < completed) return FinishDir(*d);
    Window* w = cur.get();
    for (auto& f : inflight) {
      if (f->seq == d->last_window) w = f.get();
    }
    w->finish.push_back(std::move(d));
  }

  // Owner, mode and times of a directory through its descriptor, after everything in it is
  // done; then a staged directory is renamed into place, never over a name that appeared
  // meanwhile.
  void FinishDir(DirState& d) {
    Fd scratch;
    auto fd = DirFd(d, scratch);
    Status st = fd.status();
    if (st.ok() && d.has_meta) {
      if (as_root) (void)::fchown(*fd, d.uid, d.gid);
      if (::fchmod(*fd, d.mode) != 0) st = ErrnoStatus("chmod " + d.path, errno);
      struct timespec ts[2] = {MtimeSpec(d.mtime_ns), MtimeSpec(d.mtime_ns)};
      if (st.ok() && ::futimens(*fd, ts) != 0) st = ErrnoStatus("setting the time of " + d.path, errno);
    }
    scratch = Fd();
    if (d.up != nullptr) {  // a root stays open: others are reopened beneath it
      d.fd = Fd();
      if (d.counted) --kept;
      d.counted = false;
    }
    if (st.ok() && !d.staged.empty()) st = RenameStaged(d);
    if (!st.ok()) Error(st.message());
  }

  Status RenameStaged(const DirState& d) {
    int parent = d.parent;
    Fd scratch;
    if (d.up != nullptr) {
      auto up = DirFd(*d.up, scratch);
      if (!up.ok()) return up.status();
      parent = *up;
    }
    const char* from = d.staged.c_str();
    const char* to = d.name.c_str();
    if (::renameat2(parent, from, parent, to, RENAME_NOREPLACE) == 0) return Status::Ok();
    int err = errno;
    if (err == EINVAL || err == ENOSYS) {  // file systems without RENAME_NOREPLACE
      struct stat st;
      if (::fstatat(parent, to, &st, AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT) {
        if (::renameat(parent, from, parent, to) == 0) return Status::Ok();
        err = errno;
      } else {
        err = EEXIST;
      }
    }
    const std::string left = Dirname(d.path) + "/" + d.staged;
    if (err == EEXIST || err == ENOTEMPTY) {
      return IoError(d.path + ": appeared during the restore; the restored directory was left at " + left);
    }
    return ErrnoStatus("renaming " + left + " to " + d.path, err);
  }

  // Which blob goes where, grouped by pack and cut into ranged reads (the work of the pool).
  void Plan(Window& w) {
    std::unordered_map<Id, std::unordered_map<Id, PlannedBlob, IdHash>, IdHash> plan;
    for (Item& it : w.items) {
      const FileNode& n = it.node;
      if (n.content.empty()) {
        w.empty.push_back(&it);
        continue;
      }
      bool missing = false;
      for (const auto& id : n.content) {
        if (!repo.index().contains(id)) {
          Fail(it, n.path + ": blob " + id.Hex() + " is missing from the index");
          missing = true;
          break;
        }
      }
      if (missing) continue;
      it.remaining = static_cast<int64_t>(n.content.size());
      if (opt.crc32c) it.pieces.resize(n.content.size());
      uint64_t off = 0;
      for (size_t part = 0; part < n.content.size(); ++part) {
        const Id& id = n.content[part];
        const BlobLocation loc = repo.index().at(id);
        PlannedBlob& pb = plan[loc.pack][id];
        pb.id = id;
        pb.loc = loc;
        pb.uses.push_back({&it, off, part});
        off += loc.raw_length;
      }
    }
    for (auto& [pack, blobs] : plan) {
      std::vector<PlannedBlob> v;
      v.reserve(blobs.size());
      for (auto& [id, pb] : blobs) v.push_back(std::move(pb));
      std::sort(v.begin(), v.end(),
                [](const PlannedBlob& a, const PlannedBlob& b) { return a.loc.offset < b.loc.offset; });
      const size_t p = w.packs.size();
      for (size_t i = 0; i < v.size();) {
        size_t j = i + 1;
        uint64_t start = v[i].loc.offset, end = start + v[i].loc.length;
        while (j < v.size() && v[j].loc.offset <= end + kMaxGap &&
               v[j].loc.offset + v[j].loc.length - start <= kMaxReadSpan) {
          end = std::max<uint64_t>(end, v[j].loc.offset + v[j].loc.length);
          ++j;
        }
        w.spans.push_back({p, i, j});
        i = j;
      }
      w.packs.emplace_back(pack, std::move(v));
    }
  }

  // Reads the blobs of one span in one ranged read, decodes and writes them.
  void RestoreSpan(Window& w, const Span& s) {
    const Id& pack = w.packs[s.pack].first;
    std::vector<PlannedBlob>& blobs = w.packs[s.pack].second;
    uint64_t start = blobs[s.begin].loc.offset, end = start;
    for (size_t k = s.begin; k < s.end; ++k) end = std::max<uint64_t>(end, blobs[k].loc.offset + blobs[k].loc.length);
    auto data = repo.storage().Get(PackName(pack), start, end - start);
    Status st = data.status();
    if (st.ok() && data->size() != end - start) st = Corrupt(PackName(pack) + " is shorter than the index says");
    Bytes plain, scratch;
    for (size_t k = s.begin; k < s.end; ++k) {
      PlannedBlob& b = blobs[k];
      Status bs = st.ok() ? repo.DecodeBlob(b.id, b.loc, data->data() + (b.loc.offset - start), plain, scratch) : st;
      // Of the decoded bytes, once per blob however many files share it.
      const uint32_t c = bs.ok() && opt.crc32c ? Crc32c(0, plain.data(), plain.size()) : 0;
      for (const Use& u : b.uses) {
        Item& it = *u.item;
        progress.bytes_done += b.loc.raw_length;
        std::shared_ptr<Fd> fd;
        if (!it.failed) {
          if (opt.crc32c && bs.ok()) it.pieces[u.part] = {c, plain.size()};
          Status ws = bs.ok() ? WriteAt(it, plain.data(), plain.size(), u.file_offset, fd) : bs;
          if (!ws.ok()) Fail(it, bs.ok() ? ws.message() : it.node.path + ": " + bs.message());
        }
        Handled(it, fd);
      }
    }
  }

  // Hands the window read so far to the workers. Two windows may be written at once, so the
  // workers of one start while the last reads of the one before finish: no pause between them.
  void Dispatch() {
    while (inflight.size() >= kWindowsInFlight) Join(false);
    Window& w = *cur;
    Plan(w);
    const size_t work = w.spans.size() + w.empty.size();
    const size_t threads = std::min<size_t>(static_cast<size_t>(std::max(1, opt.workers)), work);
    for (size_t t = 0; t < threads; ++t) {
      w.pool.emplace_back([this, &w, work] {
        for (size_t k; (k = w.next++) < work;) {
          if (k < w.spans.size()) {
            RestoreSpan(w, w.spans[k]);
          } else {
            CreateEmpty(*w.empty[k - w.spans.size()]);
          }
        }
      });
    }
    const int64_t seq = cur->seq;
    inflight.push_back(std::move(cur));
    cur = std::make_unique<Window>();
    cur->seq = seq + 1;
  }

  // Waits for the oldest window being written, then finishes the directories waiting for it.
  void Join(bool last) {
    std::unique_ptr<Window> done = std::move(inflight.front());
    inflight.pop_front();
    for (auto& t : done->pool) t.join();
    completed = done->seq + 1;
    if (opt.crc32c) {
      for (const Item& it : done->items) {
        if (crc.size() <= it.index) crc.resize(it.index + 1);
        crc[it.index] = it.crc;
      }
    }
    if (last && opt.before_finish) opt.before_finish();
    if (last && opt.sync) {
      for (const auto& r : roots) (void)::syncfs(r->fd.get());
    }
    for (auto& d : done->finish) FinishDir(*d);
  }

  // The walk is over: the last window written, every directory finished, roots last.
  void End() {
    while (!stack.empty()) Leave();
    Dispatch();
    while (!inflight.empty()) Join(inflight.size() == 1);
    for (auto& r : roots) FinishDir(*r);
  }

  // The restore stops (unsafe or out-of-order tree, unreadable tree): the windows being written
  // are completed and the directories they finish are finished; files not yet handed to the
  // workers are not written, and the directories still open are not renamed into place (a
  // staged one still empty is removed).
  void Abort() {
    while (!inflight.empty()) Join(false);
    auto drop = [&](DirState& d) {
      if (d.staged.empty()) return;
      Fd scratch;
      int parent = d.parent;
      if (d.up != nullptr) {
        auto up = DirFd(*d.up, scratch);
        if (!up.ok()) return;
        parent = *up;
      }
      ::unlinkat(parent, d.staged.c_str(), AT_REMOVEDIR);
    };
    for (auto& d : cur->finish) drop(*d);
    for (size_t i = stack.size(); i-- > 0;) drop(*stack[i]);
    for (auto& r : roots) drop(*r);
  }
};

}  // namespace

FileRestoreResult RestoreFiles(Repository& repo, const std::vector<TreeRoot>& tree_roots, const NodeSource& next,
                               const FileRestoreOptions& opt, Progress& progress) {
  FileRestoreResult res;
  Restorer r(repo, progress, opt);
  struct UmaskGuard {
    mode_t old = ::umask(0);
    ~UmaskGuard() { ::umask(old); }
  } umask_guard;
  auto fail_all = [&](const std::string& msg) {
    for (auto& d : r.roots) {  // staged roots, still empty
      if (!d->staged.empty()) ::unlinkat(d->parent, d->staged.c_str(), AT_REMOVEDIR);
    }
    res.report = {{"success", false}, {"error", msg}};
    return res;
  };

  // 1. The roots: validated before anything is written.
  std::map<std::string, std::string> dest;
  for (const auto& root : tree_roots) {
    if (!IsSafeRelativePath(root.name) || root.name.find('/') != std::string::npos) {
      return fail_all("refusing to restore: the backup has an unsafe root name '" + root.name + "'");
    }
    auto it = opt.destinations.find(root.name);
    dest[root.name] = it != opt.destinations.end() ? it->second : root.path;
  }
  const size_t fd_limit = RaiseNoFileLimit();
  r.max_kept = fd_limit > kSpareFds + dest.size() ? fd_limit - kSpareFds : dest.size();
  if (opt.max_open_dirs != 0) r.max_kept = std::min(r.max_kept, opt.max_open_dirs);

  // 2. Destination roots: each opened, or staged when missing.
  for (const auto& [name, path] : dest) {
    std::string last;
    auto parent = OpenDestinationParent(opt.anchor, path, last);
    if (!parent.ok()) return fail_all(parent.status().message());
    auto d = std::make_unique<DirState>();
    d->tree_path = name;
    d->path = path;
    while (d->path.size() > 1 && d->path.back() == '/') d->path.pop_back();
    if (last.empty()) {
      d->fd = std::move(*parent);
    } else {
      d->name = last;
      Status st = OpenOrCreateDir(*d, parent->get(), false, r.StagedName());
      r.root_parents.push_back(std::move(*parent));
      if (!st.ok()) {
        return fail_all("restore target " + st.message() + "; refusing to restore through it, nothing was written");
      }
    }
    d->root = d.get();
    r.NoteGroup(*d);
    ++r.kept;
    d->counted = true;
    r.root_dirs[name] = d.get();
    r.root_dests.emplace(name, d->path);
    r.roots.push_back(std::move(d));
  }

  // 3. The nodes as they come: directories opened or created, symlinks made, files gathered into
  // windows the workers write while the next is read.
  std::string fatal;
  for (size_t index = 0;; ++index) {
    FileNode n;
    auto more = next(n);
    Status st = more.ok() ? Status::Ok() : more.status();
    if (st.ok() && !*more) break;
    if (st.ok()) st = r.Accept(n, index);
    if (!st.ok()) {
      fatal = st.message() + "; nothing more was restored";
      break;
    }
  }
  if (fatal.empty()) {
    r.End();
  } else {
    r.Abort();
  }
  if (opt.sync) {
    for (auto& fd : r.root_parents) (void)::syncfs(fd.get());
  }

  res.success = fatal.empty() && r.error_count == 0 && r.verified == r.files;
  if (opt.crc32c) res.crc32c = std::move(r.crc);
  res.report = {{"success", res.success},
                {"files", r.files},
                {"size_bytes", r.total_bytes},
                {"verified_files", r.verified.load()}};
  std::vector<std::string> shown;
  if (!fatal.empty()) shown.push_back(fatal);
  for (const auto& e : r.errors) {
    if (shown.size() < kShownErrors) shown.push_back(e);
  }
  if (!shown.empty()) {
    res.report["errors"] = shown;
    res.report["error_count"] = r.error_count + (fatal.empty() ? 0 : 1);
    res.report["error"] = shown.front();
  }
  return res;
}

FileRestoreResult RestoreFiles(Repository& repo, const Tree& tree, const FileRestoreOptions& opt, Progress& progress) {
  // A tree built in memory may list parents first in another order (a hand-made one, an old
  // backup's): it is restored in tree order, and the checksums reported by its own positions.
  std::vector<size_t> order(tree.nodes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto before = [&](size_t a, size_t b) { return CompareTreePaths(tree.nodes[a].path, tree.nodes[b].path) < 0; };
  if (!std::is_sorted(order.begin(), order.end(), before)) std::stable_sort(order.begin(), order.end(), before);
  size_t i = 0;
  NodeSource next = [&](FileNode& n) -> StatusOr<bool> {
    if (i >= order.size()) return false;
    n = tree.nodes[order[i++]];
    return true;
  };
  FileRestoreResult res = RestoreFiles(repo, tree.roots, next, opt, progress);
  if (opt.crc32c) {
    std::vector<uint32_t> by_node(tree.nodes.size());
    for (size_t k = 0; k < res.crc32c.size() && k < order.size(); ++k) by_node[order[k]] = res.crc32c[k];
    res.crc32c = std::move(by_node);
  }
  return res;
}

}  // namespace stb
