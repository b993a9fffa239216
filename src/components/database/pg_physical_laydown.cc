#include "components/database/pg_physical_laydown.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "core/file_util.h"
#include "core/parse.h"
#include "core/subprocess.h"
#include "filetree/file_restore.h"
#include "repository/repository.h"
#include "repository/tree.h"

namespace stb {

using json = nlohmann::json;

namespace {

// Missing or an empty directory.
Status RequireEmpty(const std::string& dir, const char* what) {
  DIR* d = opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus(std::string("opening the ") + what + " " + dir, errno);
  }
  bool empty = true;
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") empty = false;
  }
  closedir(d);
  if (!empty) return AlreadyExists(std::string("the ") + what + " " + dir + " is not empty: move it aside first");
  return Status::Ok();
}

// The default home of tablespaces, <target>.tblspc, is entered by the server's account: made here
// (file restore would leave it root's, and the server could not open its tablespaces), like
// the data directory owned by that account and closed to others.
Status MakeServerDir(const std::string& dir, std::optional<std::pair<uid_t, gid_t>> owner) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("creating " + dir, errno);
  Fd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("opening " + dir, errno);
  if (fchmod(fd.get(), 0700) != 0) return ErrnoStatus("chmod " + dir, errno);
  if (owner && geteuid() == 0 && fchown(fd.get(), owner->first, owner->second) != 0) {
    return ErrnoStatus("chown " + dir, errno);
  }
  return Status::Ok();
}

// Writes backup_manifest and returns its text, for the check of the files laid down.
StatusOr<std::string> WriteManifest(Repository& repo, const json& entry, const std::string& path,
                                    std::optional<std::pair<uid_t, gid_t>> owner) {
  if (!entry.contains("manifest") || !entry["manifest"].is_array()) return Corrupt("the backup has no manifest list");
  Fd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoStatus("creating " + path, errno);
  std::string text;
  for (const auto& h : entry["manifest"]) {
    auto id = h.is_string() ? Id::FromHex(h.get<std::string>()) : std::nullopt;
    if (!id) return Corrupt("the backup's manifest list names an invalid blob id");
    ASSIGN_OR_RETURN(Bytes data, repo.ReadBlob(*id));
    RETURN_IF_ERROR(WriteFull(fd.get(), data.data(), data.size(), path));
    text.append(data.begin(), data.end());
  }
  if (owner && geteuid() == 0 && fchown(fd.get(), owner->first, owner->second) != 0) {
    return ErrnoStatus("chown " + path, errno);
  }
  return text;
}

Status RunVerifyBackup(const json& entry, const std::string& bin_dir, const std::string& dir) {
  int major = entry.value("server_version", 0) / 10000;
  std::string tool =
      (bin_dir.empty() ? "/usr/lib/postgresql/" + std::to_string(major) + "/bin" : bin_dir) + "/pg_verifybackup";
  if (access(tool.c_str(), X_OK) != 0) {
    return NotFound(tool + " not found: install postgresql-" + std::to_string(major) + " or set DB_PG_BIN_DIR");
  }
  SubprocessSpec spec;
  // --no-parse-wal: the WAL comes from the repository during recovery (wal-fetch), not pg_wal/.
  spec.argv = {tool, "--no-parse-wal", "--quiet", dir};
  ASSIGN_OR_RETURN(auto p, Subprocess::Start(spec));
  int rc = p->Wait();
  if (rc != 0) return Corrupt("pg_verifybackup failed on " + dir + ": " + p->FirstErrorLine());
  return Status::Ok();
}

}  // namespace

std::map<std::string, StoredFileSum> LaidDownSums(const Tree& tree, const std::vector<uint32_t>& crc32c) {
  std::map<std::string, StoredFileSum> sums;
  for (size_t i = 0; i < tree.nodes.size() && i < crc32c.size(); ++i) {
    const FileNode& n = tree.nodes[i];
    if (n.type != FileNode::Type::kFile) continue;
    size_t slash = n.path.find('/');
    if (slash == std::string::npos) continue;
    std::string root = n.path.substr(0, slash), rel = n.path.substr(slash + 1);
    // The manifest's paths: the data directory's own, a tablespace's beneath pg_tblspc/<oid>/.
    if (root.starts_with("tblspc-")) rel = "pg_tblspc/" + root.substr(7) + "/" + rel;
    sums[rel] = StoredFileSum{n.size, crc32c[i]};
  }
  return sums;
}

StatusOr<LayDownResult> LayDownPhysical(Repository& repo, const json& entry, const LayDownOptions& opt,
                                        Progress& progress) {
  if (entry.value("kind", "") != "postgresql-physical") return InvalidArgument("not a physical PostgreSQL backup");
  if (opt.target_dir.empty() || opt.target_dir[0] != '/') {
    return InvalidArgument("the target directory must be an absolute path, not '" + opt.target_dir + "'");
  }
  RETURN_IF_ERROR(RequireEmpty(opt.target_dir, "target directory"));
  ASSIGN_OR_RETURN(Tree tree, LoadTree(repo, entry));
  LayDownResult res;
  res.data_directory = opt.target_dir;
  FileRestoreOptions fro;
  fro.workers = opt.workers;
  fro.crc32c = true;           // checked against backup_manifest below instead of reading every file back
  fro.start_writeback = true;  // PostgreSQL fsyncs the data directory when it starts
  for (const auto& root : tree.roots) {
    if (root.name == "pgdata") {
      fro.destinations[root.name] = opt.target_dir;
      continue;
    }
    if (!root.name.starts_with("tblspc-")) return Corrupt("the backup has an unknown root '" + root.name + "'");
    ASSIGN_OR_RETURN(uint64_t oid, ParseUint(root.name.substr(7), UINT32_MAX, "tablespace oid"));
    auto it = opt.tablespace_map.find(static_cast<uint32_t>(oid));
    std::string dir = it != opt.tablespace_map.end() ? it->second : opt.target_dir + ".tblspc/" + std::to_string(oid);
    RETURN_IF_ERROR(RequireEmpty(dir, "tablespace directory"));
    fro.destinations[root.name] = dir;
    res.tablespaces[static_cast<uint32_t>(oid)] = dir;
  }
  if (!fro.destinations.count("pgdata")) return Corrupt("the backup has no pgdata root");
  for (const auto& [oid, dir] : opt.tablespace_map) {
    if (!res.tablespaces.count(oid)) return InvalidArgument("the backup has no tablespace " + std::to_string(oid));
  }
  for (auto& n : tree.nodes) {
    // pg_tblspc/<oid> points where the tablespace is laid down now.
    if (n.type == FileNode::Type::kSymlink && n.path.starts_with("pgdata/pg_tblspc/")) {
      auto oid = ParseUint(n.path.substr(17), UINT32_MAX);
      if (oid.ok() && res.tablespaces.count(static_cast<uint32_t>(*oid))) n.target = res.tablespaces[*oid];
    }
    if (opt.owner) {
      n.uid = opt.owner->first;
      n.gid = opt.owner->second;
    }
    if (n.type == FileNode::Type::kFile) {
      ++res.files;
      res.size_bytes += n.size;
    }
  }
  std::optional<std::pair<uid_t, gid_t>> owner = opt.owner;
  for (const auto& n : tree.nodes) {
    if (!owner && n.path == "pgdata") owner = std::make_pair(static_cast<uid_t>(n.uid), static_cast<gid_t>(n.gid));
  }
  for (const auto& [oid, dir] : res.tablespaces) {
    if (!opt.tablespace_map.count(oid)) {
      RETURN_IF_ERROR(MakeServerDir(opt.target_dir + ".tblspc", owner));
      break;
    }
  }
  FileRestoreResult fr = RestoreFiles(repo, tree, fro, progress);
  res.report = fr.report;
  if (!fr.success) {
    std::string why = fr.report.value("error", "");
    if (why.empty() && fr.report.contains("errors") && !fr.report["errors"].empty()) why = fr.report["errors"][0];
    return Internal("laying down the base backup failed: " + why);
  }
  ASSIGN_OR_RETURN(std::string manifest, WriteManifest(repo, entry, opt.target_dir + "/backup_manifest", owner));
  auto check = VerifyLaidDown(manifest, LaidDownSums(tree, fr.crc32c));
  if (!check.ok()) {
    return Status(check.status().code(),
                  "the base backup laid down in " + opt.target_dir + " is damaged: " + check.status().message());
  }
  res.report["manifest_check"] = {{"files", check->files}, {"crc32c_files", check->crc_checked}};
  // Files without a CRC-32C in the manifest were checked by size only: read them back.
  if (opt.read_back || check->crc_checked < check->files) {
    auto t0 = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(RunVerifyBackup(entry, opt.pg_bin_dir, opt.target_dir));
    res.report["pg_verifybackup"] = "ok";
    res.report["pg_verifybackup_seconds"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    res.report["pg_verifybackup"] = "not run: every file's CRC-32C was checked as it was written";
  }
  return res;
}

}  // namespace stb
