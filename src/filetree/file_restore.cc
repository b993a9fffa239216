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
#include <memory>
#include <mutex>
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

struct Use {
  size_t node;
  uint64_t file_offset;
  size_t part;  // index in the file's content list
};
struct PlannedBlob {
  Id id;
  BlobLocation loc;
  std::vector<Use> uses;
};

struct timespec MtimeSpec(int64_t ns) {
  return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

// The soft limit on open descriptors, raised to the hard one: a restore keeps every directory it
// writes into open until its metadata is set.
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

// One directory the restore writes into, open from first use to the end.
struct DirState {
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

struct Restorer {
  Repository& repo;
  const Tree& tree;
  Progress& progress;
  // Directories by tree path ("saves", "saves/a"); pointers stay valid (deque).
  std::deque<DirState> dir_store;
  std::unordered_map<std::string, DirState*> dirs;
  std::vector<Fd> root_parents;                             // the directories holding the roots
  std::unordered_map<std::string, std::string> root_dests;  // root name -> its path, for messages
  std::vector<DirState*> parent_of;                         // by node: its directory
  std::vector<std::atomic<int64_t>> remaining;              // blobs not yet handled, per node
  std::vector<std::atomic<uint64_t>> written;               // bytes written, per node
  std::vector<std::atomic<bool>> failed;
  std::vector<std::atomic<bool>> created;  // the file (or its temporary) exists, made by us
  // Files of several blobs: the descriptor made by the first blob, kept for later ones (at most
  // kMaxHeldFiles), and the inode, so a reopen checks it still writes the file it created.
  struct Multi {
    std::shared_ptr<Fd> fd;
    ino_t ino = 0;
  };
  std::mutex multi_mu;
  std::unordered_map<size_t, Multi> multi;
  size_t held = 0;
  std::mutex err_mu;
  std::vector<std::string> errors;
  std::atomic<uint64_t> verified{0};
  // With FileRestoreOptions::crc32c: (CRC-32C, length) of each written blob per file, filled by
  // whichever worker writes it and combined in file order by the write that completes the file.
  const bool want_crc;
  bool start_writeback = false;
  std::vector<std::vector<std::pair<uint32_t, uint64_t>>> pieces;
  std::vector<uint32_t> file_crc;
  const bool as_root = geteuid() == 0;
  const uid_t euid = geteuid();
  // As root: the group new files in `d` get (its own in a setgid directory), so a file whose
  // owner and group already match needs no chown. One fstat per directory, not per file.
  void NoteGroup(DirState& d) {
    struct stat st;
    if (!as_root) return;
    d.file_gid = static_cast<gid_t>(-1);  // unknown: always chown
    if (d.fd.valid() && ::fstat(d.fd.get(), &st) == 0) d.file_gid = (st.st_mode & S_ISGID) ? st.st_gid : getegid();
  }
  // Directories beyond this many are closed after their creation and opened again beneath
  // their root (openat2, no symlinks) whenever used: more than the open-file limit allows.
  size_t max_kept = SIZE_MAX;
  size_t kept = 0;
  StatusOr<int> DirFd(const DirState& d, Fd& scratch) {
    if (d.fd.valid()) return d.fd.get();
    auto fd = OpenDirBeneath(d.root->fd.get(), d.rel);
    if (!fd.ok()) return Status(fd.status().code(), d.path + ": " + fd.status().message());
    scratch = std::move(*fd);
    return scratch.get();
  }
  // Temporary names are unique per run, so a file left by a killed restore never mixes with this one.
  const std::string run_id = RandomHex(4);
  std::string TempName(size_t node) const { return ".stb-restore-" + run_id + "-" + std::to_string(node) + ".tmp"; }
  size_t staged_no = 0;
  std::string StagedName() { return ".stb-restore-" + run_id + "-" + std::to_string(staged_no++) + ".d"; }

  Restorer(Repository& r, const Tree& t, Progress& p, bool crc)
      : repo(r),
        tree(t),
        progress(p),
        parent_of(t.nodes.size(), nullptr),
        remaining(t.nodes.size()),
        written(t.nodes.size()),
        failed(t.nodes.size()),
        created(t.nodes.size()),
        want_crc(crc) {
    if (want_crc) {
      pieces.resize(t.nodes.size());
      file_crc.resize(t.nodes.size());
    }
  }

  void Fail(size_t node, const std::string& msg) {
    std::lock_guard<std::mutex> g(err_mu);
    if (node != SIZE_MAX && failed[node].exchange(true)) return;
    errors.push_back(msg);
  }

  static std::string ParentPath(const std::string& path) {
    size_t last = path.rfind('/');
    return last == std::string::npos ? "" : path.substr(0, last);
  }
  static std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }
  // The name a file is written under: in place inside a directory this restore created,
  // otherwise a temporary renamed over the final name when complete.
  std::string WriteName(size_t node) const {
    return parent_of[node]->fresh ? BaseName(tree.nodes[node].path) : TempName(node);
  }

  // Files are created with their final permission bits (the process umask is 0 during a restore),
  // plus owner write while they are written, so most need no chmod afterwards.
  mode_t CreateMode(size_t node) const { return static_cast<mode_t>((tree.nodes[node].mode & 0777) | 0200); }

  StatusOr<Fd> Create(size_t node) {
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    Fd scratch;
    ASSIGN_OR_RETURN(int dir, DirFd(*parent_of[node], scratch));
    Fd fd(::openat(dir, WriteName(node).c_str(), flags, CreateMode(node)));
    if (!fd.valid()) return ErrnoStatus("creating " + tree.nodes[node].path, errno);
    created[node] = true;
    return fd;
  }

  // A file of several blobs: its descriptor from the first blob, or (when more than
  // kMaxHeldFiles are open) reopened and checked to be the file created, not one swapped in.
  StatusOr<std::shared_ptr<Fd>> OpenMulti(size_t node) {
    std::lock_guard<std::mutex> g(multi_mu);
    auto it = multi.find(node);
    const std::string& path = tree.nodes[node].path;
    if (it == multi.end()) {
      ASSIGN_OR_RETURN(Fd fd, Create(node));
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
      auto sp = std::make_shared<Fd>(std::move(fd));
      Multi& m = multi[node];
      m.ino = st.st_ino;
      if (held < kMaxHeldFiles) {
        m.fd = sp;
        ++held;
      }
      return sp;
    }
    if (it->second.fd) return it->second.fd;
    Fd scratch;
    ASSIGN_OR_RETURN(int dir, DirFd(*parent_of[node], scratch));
    Fd fd(::openat(dir, WriteName(node).c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st;
    if (!fd.valid()) return ErrnoStatus("reopening " + path, errno);
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    if (st.st_ino != it->second.ino || !S_ISREG(st.st_mode)) {
      return IoError(path + ": its file was replaced during the restore; nothing more was written to it");
    }
    return std::make_shared<Fd>(std::move(fd));
  }

  // Writes one blob of a file; `fd` is the descriptor written through.
  Status WriteAt(size_t node, const uint8_t* data, size_t n, uint64_t offset, std::shared_ptr<Fd>& fd) {
    if (tree.nodes[node].content.size() <= 1) {
      ASSIGN_OR_RETURN(Fd one, Create(node));
      fd = std::make_shared<Fd>(std::move(one));
    } else {
      ASSIGN_OR_RETURN(fd, OpenMulti(node));
    }
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(fd->get(), data + done, n - done, static_cast<off_t>(offset + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writing " + tree.nodes[node].path, errno);
      }
      done += static_cast<size_t>(w);
    }
    written[node] += n;
    return Status::Ok();
  }

  // One blob of a file handled (written through `fd`, or skipped because the file failed). The
  // last one finishes the file (every other write is done by then); a failed file is removed,
  // so no partial file stays under its name.
  void Handled(size_t node, const std::shared_ptr<Fd>& fd) {
    if (--remaining[node] != 0) return;
    if (tree.nodes[node].content.size() > 1) {
      std::lock_guard<std::mutex> g(multi_mu);
      auto it = multi.find(node);
      if (it != multi.end()) {
        if (it->second.fd) --held;
        multi.erase(it);
      }
    }
    if (!failed[node] && fd) {
      Status st = Finalize(node, fd->get());
      if (!st.ok()) Fail(node, st.message());
    }
    if (failed[node] && created[node]) Remove(node);
  }

  // Sets metadata on the complete file and, for a temporary, renames it into place. Its size is
  // the bytes written: each file was created empty (O_EXCL) and each blob decoded to its length.
  Status Finalize(size_t node, int fd) {
    const FileNode& n = tree.nodes[node];
    if (written[node] != n.size) {
      return Corrupt(n.path + ": restored " + std::to_string(written[node].load()) + " bytes, the backup has " +
                     std::to_string(n.size));
    }
    DirState& d = *parent_of[node];
    if (as_root && (n.uid != euid || n.gid != d.file_gid)) (void)::fchown(fd, n.uid, n.gid);
    if (CreateMode(node) != n.mode && ::fchmod(fd, n.mode) != 0) return ErrnoStatus("chmod " + n.path, errno);
    struct timespec ts[2] = {MtimeSpec(n.mtime_ns), MtimeSpec(n.mtime_ns)};
    if (::futimens(fd, ts) != 0) return ErrnoStatus("setting the time of " + n.path, errno);
    if (!d.fresh) {
      Fd scratch;
      ASSIGN_OR_RETURN(int dir, DirFd(d, scratch));
      if (::renameat(dir, TempName(node).c_str(), dir, BaseName(n.path).c_str()) != 0) {
        return ErrnoStatus("renaming into " + n.path, errno);
      }
    }
    if (start_writeback) (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    if (want_crc) {
      uint32_t crc = 0;
      for (const auto& [piece_crc, len] : pieces[node]) crc = Crc32cCombine(crc, piece_crc, len);
      file_crc[node] = crc;
    }
    verified++;
    progress.files_done++;
    return Status::Ok();
  }

  void Remove(size_t node) {
    Fd scratch;
    auto dir = DirFd(*parent_of[node], scratch);
    if (dir.ok()) ::unlinkat(*dir, WriteName(node).c_str(), 0);
  }

  void CreateEmpty(size_t node) {
    auto fd = Create(node);
    Status st = fd.ok() ? Finalize(node, fd->get()) : fd.status();
    if (st.ok()) return;
    Fail(node, st.message());
    if (created[node]) Remove(node);
  }

  void CreateSymlink(size_t i) {
    const FileNode& n = tree.nodes[i];
    Fd scratch;
    auto dirfd = DirFd(*parent_of[i], scratch);
    if (!dirfd.ok()) return Fail(i, dirfd.status().message());
    const int dir = *dirfd;
    const std::string name = BaseName(n.path);
    Status st;
    struct stat sb;
    if (!parent_of[i]->fresh && ::fstatat(dir, name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode)) {
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
    if (!st.ok()) Fail(i, st.message());
  }

  // The destination path of tree path "<root>/a/b", for messages.
  std::string DestPath(const std::string& path) const {
    size_t slash = path.find('/');
    const std::string& root = root_dests.at(path.substr(0, slash));
    return slash == std::string::npos ? root : root + path.substr(slash);
  }

  // Walks the tree in order (parents first): opens or creates each directory and keeps it open,
  // makes symlinks and empty files, and gives every file its directory. A node whose directory
  // failed fails with it (the directory's error names the path).
  void PrepareNodes(std::vector<size_t>& empty_files) {
    for (size_t i = 0; i < tree.nodes.size(); ++i) {
      const FileNode& n = tree.nodes[i];
      if (n.type == FileNode::Type::kDir && n.path.find('/') == std::string::npos) continue;  // a root
      auto pit = dirs.find(ParentPath(n.path));
      if (pit == dirs.end()) {  // its directory failed (that error names the path at fault)
        Fail(i, n.path + ": not restored, its directory could not be restored");
        continue;
      }
      DirState* parent = pit->second;
      parent_of[i] = parent;
      if (n.type == FileNode::Type::kDir) {
        DirState& d = dir_store.emplace_back();
        d.name = BaseName(n.path);
        d.path = DestPath(n.path);
        Fd scratch;
        auto pfd = DirFd(*parent, scratch);
        Status st = pfd.ok() ? OpenOrCreateDir(d, *pfd, parent->fresh, StagedName()) : pfd.status();
        if (!st.ok()) {
          Fail(i, st.message() + "; nothing was restored through it");
          dir_store.pop_back();
          continue;
        }
        NoteGroup(d);
        d.up = parent;
        d.root = parent->root;
        d.rel = (parent->rel.empty() ? "" : parent->rel + "/") + (d.staged.empty() ? d.name : d.staged);
        if (kept < max_kept) {
          ++kept;
        } else {
          d.fd = Fd();
        }
        dirs[n.path] = &d;
      } else if (n.type == FileNode::Type::kSymlink) {
        CreateSymlink(i);
      } else if (n.content.empty()) {
        empty_files.push_back(i);
      }
    }
  }

  // Owner, mode and times of a directory through its descriptor, after everything in it is
  // done; then a staged directory is renamed into place, never over a name that appeared
  // meanwhile.
  void FinishDir(DirState& d, const FileNode* n, size_t node) {
    d.done = true;
    Fd scratch;
    auto fd = DirFd(d, scratch);
    Status st = fd.status();
    if (st.ok() && n != nullptr) {
      if (as_root) (void)::fchown(*fd, n->uid, n->gid);
      if (::fchmod(*fd, n->mode) != 0) st = ErrnoStatus("chmod " + n->path, errno);
      struct timespec ts[2] = {MtimeSpec(n->mtime_ns), MtimeSpec(n->mtime_ns)};
      if (st.ok() && ::futimens(*fd, ts) != 0) st = ErrnoStatus("setting the time of " + n->path, errno);
    }
    scratch = Fd();
    if (d.up != nullptr) d.fd = Fd();  // a root stays open: others are reopened beneath it
    if (st.ok() && !d.staged.empty()) st = RenameStaged(d);
    if (!st.ok()) Fail(node, st.message());
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

  // Reads the planned blobs of one pack in a few ranged reads, decodes and writes them.
  void RestorePack(const Id& pack, std::vector<PlannedBlob>& blobs) {
    std::sort(blobs.begin(), blobs.end(),
              [](const PlannedBlob& a, const PlannedBlob& b) { return a.loc.offset < b.loc.offset; });
    Bytes plain, scratch;
    size_t i = 0;
    while (i < blobs.size()) {
      size_t j = i + 1;
      uint64_t start = blobs[i].loc.offset, end = start + blobs[i].loc.length;
      while (j < blobs.size() && blobs[j].loc.offset <= end + kMaxGap &&
             blobs[j].loc.offset + blobs[j].loc.length - start <= kMaxReadSpan) {
        end = std::max<uint64_t>(end, blobs[j].loc.offset + blobs[j].loc.length);
        ++j;
      }
      auto data = repo.storage().Get(PackName(pack), start, end - start);
      Status st = data.status();
      if (st.ok() && data->size() != end - start) st = Corrupt(PackName(pack) + " is shorter than the index says");
      for (size_t k = i; k < j; ++k) {
        PlannedBlob& b = blobs[k];
        Status bs = st.ok() ? repo.DecodeBlob(b.id, b.loc, data->data() + (b.loc.offset - start), plain, scratch) : st;
        // Of the decoded bytes, once per blob however many files share it.
        const uint32_t crc = bs.ok() && want_crc ? Crc32c(0, plain.data(), plain.size()) : 0;
        for (const Use& u : b.uses) {
          progress.bytes_done += b.loc.raw_length;
          std::shared_ptr<Fd> fd;
          if (!failed[u.node]) {
            if (want_crc && bs.ok()) pieces[u.node][u.part] = {crc, plain.size()};
            Status ws = bs.ok() ? WriteAt(u.node, plain.data(), plain.size(), u.file_offset, fd) : bs;
            if (!ws.ok()) Fail(u.node, bs.ok() ? ws.message() : tree.nodes[u.node].path + ": " + bs.message());
          }
          Handled(u.node, fd);
        }
      }
      i = j;
    }
  }
};

}  // namespace

FileRestoreResult RestoreFiles(Repository& repo, const Tree& tree, const FileRestoreOptions& opt, Progress& progress) {
  FileRestoreResult res;
  Restorer r(repo, tree, progress, opt.crc32c);
  r.start_writeback = opt.start_writeback;
  struct UmaskGuard {
    mode_t old = ::umask(0);
    ~UmaskGuard() { ::umask(old); }
  } umask_guard;
  auto fail_all = [&](const std::string& msg) {
    for (auto& d : r.dir_store) {  // staged roots, still empty
      if (!d.staged.empty()) ::unlinkat(d.parent, d.staged.c_str(), AT_REMOVEDIR);
    }
    res.report = {{"success", false}, {"error", msg}};
    return res;
  };

  // 1. Validate everything before writing anything.
  std::unordered_map<std::string, std::string> dest;
  for (const auto& root : tree.roots) {
    if (!IsSafeRelativePath(root.name) || root.name.find('/') != std::string::npos) {
      return fail_all("refusing to restore: the backup has an unsafe root name '" + root.name + "'");
    }
    auto it = opt.destinations.find(root.name);
    dest[root.name] = it != opt.destinations.end() ? it->second : root.path;
  }
  uint64_t total_bytes = 0, files = 0;
  for (const auto& n : tree.nodes) {
    size_t slash = n.path.find('/');
    if (!IsSafeRelativePath(n.path) || !dest.count(n.path.substr(0, slash))) {
      return fail_all("refusing to restore: the backup holds an unsafe path '" + n.path + "'; nothing was written");
    }
    if (n.type == FileNode::Type::kFile) {
      ++files;
      total_bytes += n.size;
      for (const auto& id : n.content) {
        if (!repo.index().contains(id)) return fail_all(n.path + ": blob " + id.Hex() + " is missing from the index");
      }
    }
  }
  const size_t fd_limit = RaiseNoFileLimit();
  r.max_kept = fd_limit > kSpareFds + dest.size() ? fd_limit - kSpareFds : dest.size();
  if (opt.max_open_dirs != 0) r.max_kept = std::min(r.max_kept, opt.max_open_dirs);
  progress.files_total += files;
  progress.bytes_total += total_bytes;

  // 2. Destination roots: each opened, or staged when missing.
  for (const auto& [name, path] : dest) {
    std::string last;
    auto parent = OpenDestinationParent(opt.anchor, path, last);
    if (!parent.ok()) return fail_all(parent.status().message());
    DirState& d = r.dir_store.emplace_back();
    d.path = path;
    while (d.path.size() > 1 && d.path.back() == '/') d.path.pop_back();
    if (last.empty()) {
      d.fd = std::move(*parent);
    } else {
      d.name = last;
      Status st = OpenOrCreateDir(d, parent->get(), false, r.StagedName());
      r.root_parents.push_back(std::move(*parent));
      if (!st.ok()) {
        r.dir_store.pop_back();
        return fail_all("restore target " + st.message() + "; refusing to restore through it, nothing was written");
      }
    }
    d.root = &d;
    r.NoteGroup(d);
    ++r.kept;
    r.dirs[name] = &d;
    r.root_dests.emplace(name, d.path);
  }

  // 3. Directories, symlinks and empty files, in tree order (parents first).
  std::vector<size_t> empty_files;
  r.PrepareNodes(empty_files);
  for (size_t i : empty_files) r.CreateEmpty(i);

  // 4. Plan: which blob goes where, grouped by pack.
  std::unordered_map<Id, std::unordered_map<Id, PlannedBlob, IdHash>, IdHash> plan;
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const FileNode& n = tree.nodes[i];
    if (n.type != FileNode::Type::kFile || n.content.empty() || r.parent_of[i] == nullptr) continue;
    r.remaining[i] = static_cast<int64_t>(n.content.size());
    if (opt.crc32c) r.pieces[i].resize(n.content.size());
    uint64_t off = 0;
    for (size_t part = 0; part < n.content.size(); ++part) {
      const Id& id = n.content[part];
      const BlobLocation loc = repo.index().at(id);
      PlannedBlob& pb = plan[loc.pack][id];
      pb.id = id;
      pb.loc = loc;
      pb.uses.push_back({i, off, part});
      off += loc.raw_length;
    }
  }
  std::vector<std::pair<Id, std::vector<PlannedBlob>>> packs;
  for (auto& [pack, blobs] : plan) {
    std::vector<PlannedBlob> v;
    for (auto& [id, pb] : blobs) v.push_back(std::move(pb));
    packs.emplace_back(pack, std::move(v));
  }
  plan.clear();

  // 5. Packs in parallel.
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t k; (k = next++) < packs.size();) r.RestorePack(packs[k].first, packs[k].second);
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, opt.workers); ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  if (opt.before_finish) opt.before_finish();
  // 6. Directory metadata deepest first (writing into a directory changes its mtime), then the
  // staged directories renamed into place.
  if (opt.sync) {
    for (const auto& [name, path] : dest) (void)::syncfs(r.dirs.at(name)->fd.get());
  }
  for (size_t i = tree.nodes.size(); i-- > 0;) {
    const FileNode& n = tree.nodes[i];
    auto it = n.type == FileNode::Type::kDir ? r.dirs.find(n.path) : r.dirs.end();
    if (it != r.dirs.end() && !it->second->done) r.FinishDir(*it->second, &n, i);
  }
  for (auto& d : r.dir_store) {  // roots the tree lists no directory for
    if (!d.done) r.FinishDir(d, nullptr, SIZE_MAX);
  }
  if (opt.sync) {
    for (auto& fd : r.root_parents) (void)::syncfs(fd.get());
  }

  res.success = r.errors.empty() && r.verified == files;
  if (opt.crc32c) res.crc32c = std::move(r.file_crc);
  res.report = {
      {"success", res.success}, {"files", files}, {"size_bytes", total_bytes}, {"verified_files", r.verified.load()}};
  if (!r.errors.empty()) {
    const size_t kShown = 20;
    std::vector<std::string> shown(r.errors.begin(),
                                   r.errors.begin() + static_cast<ptrdiff_t>(std::min(kShown, r.errors.size())));
    res.report["errors"] = shown;
    res.report["error_count"] = r.errors.size();
    res.report["error"] = r.errors.front();
  }
  return res;
}

}  // namespace stb
