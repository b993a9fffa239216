#include "filetree/file_restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
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

// Opens (creating what is missing) the destination `path` of one root. The anchor is trusted and
// opened as given; each element after it is created with mkdirat and opened without following a
// symlink, so one planted there (PLAYER_SAVES_DIR replaced by a symlink, or a planted
// DIR/player_saves/<root>) fails the restore instead of redirecting it.
StatusOr<Fd> OpenDestination(const std::string& anchor_opt, std::string path) {
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
  std::string done = anchor;
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
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
  std::unordered_map<std::string, Fd> root_fds;             // root name -> destination directory
  std::unordered_map<std::string, std::string> root_dests;  // root name -> its path, for messages
  std::vector<std::atomic<int64_t>> remaining;              // blobs still to write, per node
  std::vector<std::atomic<bool>> failed;
  // Files of several blobs: the inode of their temporary once created, so a reopen for a later
  // blob can check it still writes the file it created (not one swapped in under that name).
  std::mutex temp_mu;
  std::unordered_map<size_t, ino_t> temp_inodes;
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
  // Temporary names are unique per run, so a file left by a killed restore never mixes with this one.
  const std::string run_id = RandomHex(4);
  std::string TempName(size_t node) const { return ".stb-restore-" + run_id + "-" + std::to_string(node) + ".tmp"; }

  Restorer(Repository& r, const Tree& t, Progress& p, bool crc)
      : repo(r), tree(t), progress(p), remaining(t.nodes.size()), failed(t.nodes.size()), want_crc(crc) {
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

  // The last parent directory opened by a worker: files of one pack mostly share directories.
  struct DirCache {
    std::string key;
    Fd fd;
  };

  // For "<root>/a/b/c": the fd of "<root>/a/b" (opened beneath the root, no symlinks) and name "c".
  StatusOr<int> ParentFd(const std::string& path, std::string& name, DirCache& cache) {
    size_t first = path.find('/');
    size_t last = path.rfind('/');
    name = path.substr(last + 1);
    std::string key = path.substr(0, last);
    if (cache.fd.valid() && cache.key == key) return cache.fd.get();
    auto it = root_fds.find(path.substr(0, first));
    if (it == root_fds.end()) return Internal("no destination for " + path);
    ASSIGN_OR_RETURN(Fd dir, OpenBeneathRoot(it->first, first == last ? "" : path.substr(first + 1, last - first - 1)));
    cache.key = key;
    cache.fd = std::move(dir);
    return cache.fd.get();
  }

  // Directory `rel` of root `root` (no symlinks); the error names the destination path at fault.
  StatusOr<Fd> OpenBeneathRoot(const std::string& root, const std::string& rel) {
    auto fd = OpenDirBeneath(root_fds.at(root).get(), rel);
    if (fd.ok() || rel.empty()) return fd;
    return Status(fd.status().code(),
                  root_dests.at(root) + "/" + fd.status().message() + "; nothing was restored through it");
  }

  // The temporary of a file: created with O_EXCL|O_NOFOLLOW by its first write; a later write
  // reopens it and checks it is still the file created.
  StatusOr<Fd> OpenTemp(size_t node, int dir) {
    const std::string tmp = TempName(node);
    const int create = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    const std::string& path = tree.nodes[node].path;
    if (tree.nodes[node].content.size() <= 1) {
      Fd fd(::openat(dir, tmp.c_str(), create, CreateMode(node)));
      if (!fd.valid()) return ErrnoStatus("creating " + path, errno);
      return fd;
    }
    std::lock_guard<std::mutex> g(temp_mu);
    auto it = temp_inodes.find(node);
    Fd fd(it == temp_inodes.end() ? ::openat(dir, tmp.c_str(), create, CreateMode(node))
                                  : ::openat(dir, tmp.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus((it == temp_inodes.end() ? "creating " : "reopening ") + path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + path, errno);
    if (it == temp_inodes.end()) {
      temp_inodes.emplace(node, st.st_ino);
    } else if (st.st_ino != it->second || !S_ISREG(st.st_mode)) {
      return IoError(path + ": its temporary file was replaced during the restore; nothing more was written to it");
    }
    return fd;
  }

  // Writes one blob into the file's temporary; the write that completes the file finalizes it.
  Status WriteAt(size_t node, const uint8_t* data, size_t n, uint64_t offset, DirCache& cache) {
    std::string name;
    ASSIGN_OR_RETURN(int dir, ParentFd(tree.nodes[node].path, name, cache));
    ASSIGN_OR_RETURN(Fd fd, OpenTemp(node, dir));
    size_t done = 0;
    while (done < n) {
      ssize_t w = ::pwrite(fd.get(), data + done, n - done, static_cast<off_t>(offset + done));
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus("writing " + tree.nodes[node].path, errno);
      }
      done += static_cast<size_t>(w);
    }
    if (--remaining[node] == 0) return Finalize(node, dir, fd.get(), name);
    return Status::Ok();
  }

  // Files are created with their final permission bits (the process umask is 0 during a restore),
  // plus owner write while they are written, so most need no chmod afterwards.
  mode_t CreateMode(size_t node) const { return static_cast<mode_t>((tree.nodes[node].mode & 0777) | 0200); }

  // Sets metadata on the complete temporary file, checks its size and renames it into place.
  Status Finalize(size_t node, int dir, int fd, const std::string& name) {
    const FileNode& n = tree.nodes[node];
    std::string tmp = TempName(node);
    struct stat st;
    if (fstat(fd, &st) != 0) return ErrnoStatus("stat " + n.path, errno);
    if (static_cast<uint64_t>(st.st_size) != n.size) {
      return Corrupt(n.path + ": restored " + std::to_string(st.st_size) + " bytes, the backup has " +
                     std::to_string(n.size));
    }
    if (as_root && (st.st_uid != n.uid || st.st_gid != n.gid)) (void)::fchown(fd, n.uid, n.gid);
    if ((st.st_mode & 07777) != n.mode && ::fchmod(fd, n.mode) != 0) return ErrnoStatus("chmod " + n.path, errno);
    struct timespec ts[2] = {MtimeSpec(n.mtime_ns), MtimeSpec(n.mtime_ns)};
    if (::futimens(fd, ts) != 0) return ErrnoStatus("setting the time of " + n.path, errno);
    if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) return ErrnoStatus("renaming into " + n.path, errno);
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

  Status CreateEmpty(size_t node, DirCache& cache) {
    std::string name;
    ASSIGN_OR_RETURN(int dir, ParentFd(tree.nodes[node].path, name, cache));
    ASSIGN_OR_RETURN(Fd fd, OpenTemp(node, dir));
    return Finalize(node, dir, fd.get(), name);
  }

  // Reads the planned blobs of one pack in a few ranged reads, decodes and writes them.
  void RestorePack(const Id& pack, std::vector<PlannedBlob>& blobs, DirCache& cache) {
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
          if (failed[u.node]) continue;
          if (!bs.ok()) {
            Fail(u.node, tree.nodes[u.node].path + ": " + bs.message());
            continue;
          }
          if (want_crc) pieces[u.node][u.part] = {crc, plain.size()};
          Status ws = WriteAt(u.node, plain.data(), plain.size(), u.file_offset, cache);
          if (!ws.ok()) Fail(u.node, ws.message());
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
        if (!repo.index().count(id)) return fail_all(n.path + ": blob " + id.Hex() + " is missing from the index");
      }
    }
  }
  progress.files_total += files;
  progress.bytes_total += total_bytes;

  // 2. Destination roots and directories (parents come before children in the tree).
  Restorer::DirCache cache;
  for (const auto& [name, path] : dest) {
    auto fd = OpenDestination(opt.anchor, path);
    if (!fd.ok()) return fail_all(fd.status().message());
    r.root_fds.emplace(name, std::move(*fd));
    r.root_dests.emplace(name, path);
  }
  // Directories one depth at a time (parents first), each depth by several workers: mkdir is
  // slow on journaling file systems, and independent directories need not wait for each other.
  std::vector<std::vector<size_t>> by_depth;
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const FileNode& n = tree.nodes[i];
    if (n.type != FileNode::Type::kDir) continue;
    size_t depth = static_cast<size_t>(std::count(n.path.begin(), n.path.end(), '/'));
    if (depth == 0) continue;  // a root: created above
    if (by_depth.size() < depth) by_depth.resize(depth);
    by_depth[depth - 1].push_back(i);
  }
  for (const auto& level : by_depth) {
    std::atomic<size_t> next_dir{0};
    auto mkdirs = [&] {
      Restorer::DirCache dcache;
      for (size_t k; (k = next_dir++) < level.size();) {
        const FileNode& n = tree.nodes[level[k]];
        std::string name;
        auto dir = r.ParentFd(n.path, name, dcache);
        Status st = dir.status();
        if (st.ok() && ::mkdirat(*dir, name.c_str(), 0700) != 0 && errno != EEXIST)
          st = ErrnoStatus("creating " + n.path, errno);
        if (!st.ok()) r.Fail(level[k], st.message());
      }
    };
    std::vector<std::thread> dpool;
    for (int w = 0; w < std::max(1, std::min<int>(opt.workers, static_cast<int>(level.size() / 64) + 1)); ++w)
      dpool.emplace_back(mkdirs);
    for (auto& t : dpool) t.join();
  }

  // 3. Plan: which blob goes where, grouped by pack.
  std::unordered_map<Id, std::unordered_map<Id, PlannedBlob, IdHash>, IdHash> plan;
  std::vector<size_t> empty_files;
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const FileNode& n = tree.nodes[i];
    if (n.type != FileNode::Type::kFile) continue;
    if (n.content.empty()) {
      empty_files.push_back(i);
      continue;
    }
    r.remaining[i] = static_cast<int64_t>(n.content.size());
    if (opt.crc32c) r.pieces[i].resize(n.content.size());
    uint64_t off = 0;
    for (size_t part = 0; part < n.content.size(); ++part) {
      const Id& id = n.content[part];
      const BlobLocation& loc = repo.index().at(id);
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

  // 4. Packs in parallel.
  std::atomic<size_t> next{0};
  auto worker = [&] {
    Restorer::DirCache cache;
    for (size_t k; (k = next++) < packs.size();) r.RestorePack(packs[k].first, packs[k].second, cache);
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, opt.workers); ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  for (size_t i : empty_files) {
    Status st = r.CreateEmpty(i, cache);
    if (!st.ok()) r.Fail(i, st.message());
  }

  // 5. Symlinks, then directory metadata deepest first (writing into a directory changes its mtime).
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    const FileNode& n = tree.nodes[i];
    if (n.type != FileNode::Type::kSymlink) continue;
    std::string name;
    auto dir = r.ParentFd(n.path, name, cache);
    Status st = dir.status();
    if (st.ok()) {
      struct stat sb;
      if (::fstatat(*dir, name.c_str(), &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode)) {
        ::unlinkat(*dir, name.c_str(), 0);
      }
      if (::symlinkat(n.target.c_str(), *dir, name.c_str()) != 0) st = ErrnoStatus("creating symlink " + n.path, errno);
    }
    if (st.ok()) {
      // Owner and times through a descriptor of the link just made, checked to be a symlink, so
      // a file swapped in under its name meanwhile is not chowned.
      Fd link(::openat(*dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      struct stat sb;
      if (!link.valid() || ::fstat(link.get(), &sb) != 0 || !S_ISLNK(sb.st_mode)) {
        st = IoError("symlink " + n.path + " was replaced during the restore");
      } else {
        if (r.as_root) (void)::fchownat(link.get(), "", n.uid, n.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
        struct timespec ts[2] = {MtimeSpec(n.mtime_ns), MtimeSpec(n.mtime_ns)};
        if (::utimensat(link.get(), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0 && errno == EINVAL) {
          ::utimensat(*dir, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);  // older kernels: times by name
        }
      }
    }
    if (!st.ok()) r.Fail(i, st.message());
  }
  for (size_t i = tree.nodes.size(); i-- > 0;) {
    const FileNode& n = tree.nodes[i];
    if (n.type != FileNode::Type::kDir || r.failed[i]) continue;
    size_t slash = n.path.find('/');
    Status st;
    Fd fd;
    if (slash == std::string::npos) {
      fd = Fd(::dup(r.root_fds.at(n.path).get()));
    } else {
      auto d = r.OpenBeneathRoot(n.path.substr(0, slash), n.path.substr(slash + 1));
      if (!d.ok()) {
        r.Fail(i, d.status().message());
        continue;
      }
      fd = std::move(*d);
    }
    if (r.as_root) (void)::fchown(fd.get(), n.uid, n.gid);
    if (::fchmod(fd.get(), n.mode) != 0) st = ErrnoStatus("chmod " + n.path, errno);
    struct timespec ts[2] = {MtimeSpec(n.mtime_ns), MtimeSpec(n.mtime_ns)};
    if (st.ok() && ::futimens(fd.get(), ts) != 0) st = ErrnoStatus("setting the time of " + n.path, errno);
    if (!st.ok()) r.Fail(i, st.message());
  }
  for (size_t i = 0; i < tree.nodes.size(); ++i) {  // leave no partial file behind
    if (!r.failed[i] || tree.nodes[i].type != FileNode::Type::kFile) continue;
    std::string name;
    auto dir = r.ParentFd(tree.nodes[i].path, name, cache);
    if (dir.ok()) ::unlinkat(*dir, r.TempName(i).c_str(), 0);
  }
  if (opt.sync) {
    for (auto& [name, fd] : r.root_fds) ::syncfs(fd.get());
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
