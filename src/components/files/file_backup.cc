#include "components/files/file_backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "components/files/walker.h"
#include "core/file_util.h"

namespace stb {

using json = nlohmann::json;

StatusOr<std::vector<Id>> SaveTree(Repository& repo, BlobSaver& saver, const Tree& tree) {
  Bytes data = SerializeTree(tree);
  std::vector<Id> ids;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t cut = repo.chunker().FindBoundary(data.data() + pos, data.size() - pos, true);
    ASSIGN_OR_RETURN(Id id, saver.Save(BlobType::kTree, data.data() + pos, cut));
    ids.push_back(id);
    pos += cut;
  }
  return ids;
}

StatusOr<Tree> LoadTree(Repository& repo, const json& entry) {
  Bytes data;
  try {
    for (const auto& h : entry.at("tree")) {
      auto id = Id::FromHex(h.get<std::string>());
      if (!id) return Corrupt("snapshot has a bad tree blob id");
      ASSIGN_OR_RETURN(Bytes part, repo.ReadBlob(*id));
      data.insert(data.end(), part.begin(), part.end());
    }
  } catch (const std::exception& e) {
    return Corrupt(std::string("snapshot component entry: ") + e.what());
  }
  return ParseTree(data);
}

namespace {

// Reads one file into blobs. The size recorded is what was read (the file may change meanwhile).
Status ArchiveFile(Repository& repo, BlobSaver& saver, const std::string& abs, FileNode& node, Progress& progress) {
  int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  Fd fd(::open(abs.c_str(), flags | O_NOATIME));
  if (!fd.valid() && errno == EPERM) fd = Fd(::open(abs.c_str(), flags));  // O_NOATIME needs ownership
  if (!fd.valid()) return ErrnoStatus(abs, errno);
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

}  // namespace

std::string FileBackupResult::FirstError() const {
  if (report.contains("error")) return report["error"].get<std::string>();
  if (report.contains("errors") && !report["errors"].empty()) return report["errors"][0].get<std::string>();
  return "failed";
}

FileBackupResult BackupFiles(Repository& repo, BlobSaver& saver, const std::string& component,
                             const FileBackupOptions& opt, Progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  FileBackupResult res;
  res.report = {{"type", component}};
  std::vector<std::string> problems;
  auto walked = WalkRoots(opt.roots, opt.excludes, problems);
  if (!walked.ok()) {
    res.report["success"] = false;
    res.report["error"] = walked.status().message();
    return res;
  }
  Tree tree = std::move(*walked);

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
      for (const auto& id : it->second->content) all_present &= repo.index().count(id) > 0;
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

  // Root i's nodes start with its name; map back to the absolute source path.
  std::unordered_map<std::string, std::string> root_path;
  for (const auto& r : tree.roots) root_path[r.name] = r.path;
  auto abs_path = [&](const std::string& rel) {
    size_t slash = rel.find('/');
    return root_path[rel.substr(0, slash)] + rel.substr(slash);
  };

  std::atomic<size_t> next{0};
  std::mutex err_mu;
  std::vector<std::string> errors;
  std::vector<uint8_t> failed(tree.nodes.size(), 0);
  auto worker = [&] {
    for (;;) {
      size_t k = next++;
      if (k >= to_read.size()) return;
      FileNode& n = tree.nodes[to_read[k]];
      std::string abs = abs_path(n.path);
      Status st = ArchiveFile(repo, saver, abs, n, progress);
      progress.files_done++;
      if (!st.ok()) {
        std::lock_guard<std::mutex> g(err_mu);
        failed[to_read[k]] = 1;
        // A file removed since the walk is not an error: it is simply not in this backup.
        if (st.code() == Code::kNotFound) {
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
