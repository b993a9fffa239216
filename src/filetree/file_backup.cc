#include "filetree/file_backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/file_util.h"
#include "filetree/walker.h"

namespace stb {

using json = nlohmann::json;

namespace {

const char* TypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// Reads one file into blobs, opened relative to its directory's descriptor and checked against
// what the walk saw before a byte is read. A file that is no longer a regular file of the same
// file system (a FIFO, a symlink...) sets `changed` and is not read: O_NONBLOCK keeps the open of
// a FIFO from waiting for a writer. A regular file with a new inode (a save rewritten by rename)
// is read, with its metadata taken from the file opened. The size recorded is what was read.
Status ArchiveFile(Repository& repo, BlobSaver& saver, int dir, const std::string& name, const std::string& abs,
                   FileNode& node, Progress& progress, std::string& changed) {
  int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  Fd fd(::openat(dir, name.c_str(), flags | O_NOATIME));
  if (!fd.valid() && errno == EPERM) fd = Fd(::openat(dir, name.c_str(), flags));  // O_NOATIME needs ownership
  if (!fd.valid()) {
    if (errno == ELOOP) {
      changed = "now a symlink";
      return Status::Ok();
    }
    return ErrnoStatus(abs, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat " + abs, errno);
  if (!S_ISREG(st.st_mode)) {
    changed = std::string("now ") + TypeName(st.st_mode);
    return Status::Ok();
  }
  if (st.st_dev != node.dev) {
    changed = "now on another file system";
    return Status::Ok();
  }
  if (st.st_ino != node.inode) {
    node.inode = st.st_ino;
    node.mode = st.st_mode & 07777;
    node.uid = st.st_uid;
    node.gid = st.st_gid;
    node.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    node.size = static_cast<uint64_t>(st.st_size);
  }
  ChunkStream stream(repo.chunker(), fd.get(), node.size, abs);
  node.content.clear();
  for (;;) {
    std::span<const uint8_t> chunk;
    RETURN_IF_ERROR(stream.Next(chunk));
    if (chunk.empty()) break;
    ASSIGN_OR_RETURN(Id id, saver.Save(BlobType::kData, chunk.data(), chunk.size()));
    node.content.push_back(id);
    progress.bytes_done += chunk.size();
  }
  node.size = stream.bytes_read();
  return Status::Ok();
}

// The directories the reads open files in: each root reopened and checked to be the directory
// walked, each directory below it opened from the root without following symlinks. A worker
// keeps its last directory open, as consecutive files mostly share one.
class ReadDirs {
 public:
  ReadDirs(const Tree& tree) {
    for (const auto& r : tree.roots) {
      Root& root = roots_[r.name];
      root.path = r.path;
      const FileNode* walked = nullptr;
      for (const auto& n : tree.nodes) {
        if (n.path == r.name) {
          walked = &n;
          break;
        }
      }
      root.fd = Fd(::open(r.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      struct stat st;
      if (!root.fd.valid()) {
        root.status = ErrnoStatus(r.path, errno);
      } else if (!walked || ::fstat(root.fd.get(), &st) != 0 || st.st_dev != walked->dev ||
                 st.st_ino != walked->inode) {
        root.status = IoError(r.path + ": is no longer the directory walked");
        root.fd = Fd();
      }
    }
  }

  struct Cache {
    std::string key;
    Fd fd;
  };

  // For "<root>/a/b/c": the descriptor of <root path>/a/b, and name "c".
  StatusOr<int> Parent(const std::string& path, std::string& name, Cache& cache) const {
    size_t first = path.find('/'), last = path.rfind('/');
    name = path.substr(last + 1);
    std::string key = path.substr(0, last);
    if (cache.fd.valid() && cache.key == key) return cache.fd.get();
    auto it = roots_.find(path.substr(0, first));
    if (it == roots_.end()) return Internal("no root for " + path);
    if (!it->second.status.ok()) return it->second.status;
    auto dir = OpenDirBeneath(it->second.fd.get(), first == last ? "" : path.substr(first + 1, last - first - 1));
    if (!dir.ok()) return Status(dir.status().code(), it->second.path + "/" + dir.status().message());
    cache.key = std::move(key);
    cache.fd = std::move(*dir);
    return cache.fd.get();
  }

 private:
  struct Root {
    std::string path;
    Fd fd;
    Status status;
  };
  std::unordered_map<std::string, Root> roots_;
};

}  // namespace

std::string FileBackupResult::FirstError() const {
  if (report.contains("error")) return report["error"].get<std::string>();
  if (report.contains("errors") && !report["errors"].empty()) return report["errors"][0].get<std::string>();
  return "failed";
}

FileBackupResult BackupFiles(Repository& repo, BlobSaver& saver, const std::string& component,
                             const FileBackupOptions& opt, Progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> problems;
  auto walked = WalkRoots(opt.roots, opt.excludes, problems);
  if (!walked.ok()) {
    FileBackupResult res;
    res.report = {{"type", component}, {"success", false}, {"error", walked.status().message()}};
    return res;
  }
  FileBackupResult res =
      BackupWalkedFiles(repo, saver, component, opt, std::move(*walked), std::move(problems), progress);
  res.report["duration_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

FileBackupResult BackupWalkedFiles(Repository& repo, BlobSaver& saver, const std::string& component,
                                   const FileBackupOptions& opt, Tree tree, std::vector<std::string> problems,
                                   Progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  FileBackupResult res;
  res.report = {{"type", component}};

  // Incremental: reuse the parent's content for files whose size, mtime and inode are unchanged.
  std::unordered_map<std::string, const FileNode*> parent;
  if (opt.parent) {
    for (const auto& n : opt.parent->nodes) {
      if (n.type == FileNode::Type::kFile) parent.emplace(n.path, &n);
    }
  }
  std::vector<size_t> to_read;
  uint64_t files = 0, unchanged = 0;
  for (size_t i = 0; i < tree.nodes.size(); ++i) {
    FileNode& n = tree.nodes[i];
    if (n.type != FileNode::Type::kFile) continue;
    ++files;
    auto it = parent.find(n.path);
    if (it != parent.end() && it->second->size == n.size && it->second->mtime_ns == n.mtime_ns &&
        it->second->inode == n.inode) {
      bool all_present = true;
      for (const auto& id : it->second->content) all_present &= repo.index().contains(id);
      if (all_present) {
        n.content = it->second->content;
        ++unchanged;
        continue;
      }
    }
    to_read.push_back(i);
  }
  progress.files_total += files;
  progress.files_done += unchanged;
  for (size_t i : to_read) progress.bytes_total += tree.nodes[i].size;

  // Root i's nodes start with its name; map back to the absolute source path (for messages).
  std::unordered_map<std::string, std::string> root_path;
  for (const auto& r : tree.roots) root_path[r.name] = r.path;
  auto abs_path = [&](const std::string& rel) {
    size_t slash = rel.find('/');
    return root_path[rel.substr(0, slash)] + rel.substr(slash);
  };
  ReadDirs dirs(tree);

  std::atomic<size_t> next{0};
  std::mutex err_mu;
  std::vector<std::string> errors;
  std::vector<uint8_t> failed(tree.nodes.size(), 0);
  auto worker = [&] {
    ReadDirs::Cache cache;
    for (;;) {
      size_t k = next++;
      if (k >= to_read.size()) return;
      FileNode& n = tree.nodes[to_read[k]];
      std::string abs = abs_path(n.path), name, changed;
      auto dir = dirs.Parent(n.path, name, cache);
      Status st = dir.status();
      if (st.ok()) {
        st = ArchiveFile(repo, saver, *dir, name, abs, n, progress, changed);
      } else if (st.code() != Code::kNotFound) {
        changed = st.message();  // a directory on its path is now a symlink or not a directory
        st = Status::Ok();
      }
      progress.files_done++;
      if (!st.ok() || !changed.empty()) {
        std::lock_guard<std::mutex> g(err_mu);
        failed[to_read[k]] = 1;
        // A file removed or changed since the walk is not an error: it is simply not in this backup.
        if (!changed.empty()) {
          problems.push_back(abs + ": changed during the backup (" + changed + "); skipped, not read");
        } else if (st.code() == Code::kNotFound) {
          problems.push_back(abs + ": removed during the backup");
        } else {
          errors.push_back(st.message());
        }
      }
    }
  };
  std::vector<std::thread> pool;
  int nworkers = std::max(1, std::min<int>(opt.workers, static_cast<int>(to_read.size())));
  for (int i = 0; i < nworkers; ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  if (!errors.empty() || std::count(failed.begin(), failed.end(), 1)) {
    Tree kept;
    kept.roots = tree.roots;
    for (size_t i = 0; i < tree.nodes.size(); ++i) {
      if (!failed[i]) kept.nodes.push_back(std::move(tree.nodes[i]));
    }
    tree = std::move(kept);
  }
  auto tree_ids = SaveTree(repo, saver, tree);
  if (!tree_ids.ok()) errors.push_back(tree_ids.status().message());

  uint64_t stored_files = 0, stored_bytes = 0;
  for (const auto& n : tree.nodes) {
    if (n.type == FileNode::Type::kFile) {
      ++stored_files;
      stored_bytes += n.size;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.success = errors.empty();
  res.report["size_bytes"] = stored_bytes;
  res.report["file_count"] = stored_files;
  res.report["files"] = stored_files;
  res.report["unchanged_files"] = unchanged;
  res.report["duration_seconds"] = secs;
  res.report["success"] = res.success;
  if (!errors.empty()) res.report["errors"] = errors;
  if (!problems.empty()) res.report["warnings"] = problems;
  json roots = json::array();
  for (const auto& r : tree.roots) roots.push_back({{"name", r.name}, {"path", r.path}});
  res.entry = {{"kind", "files"}, {"roots", roots}, {"files", stored_files}, {"size_bytes", stored_bytes}};
  json ids = json::array();
  if (tree_ids.ok()) {
    for (const auto& id : *tree_ids) ids.push_back(id.Hex());
  }
  res.entry["tree"] = ids;
  return res;
}

}  // namespace stb
