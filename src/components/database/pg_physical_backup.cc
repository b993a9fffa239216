// PostgreSQL physical base backups (doc/design.md, "postgresql-physical"): BASE_BACKUP over a
// walsender connection, its tar archives parsed as they arrive into one files tree (root pgdata
// and one per tablespace), the server's manifest checked against the bytes stored, and the WAL
// either included or waited for in the WAL store.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "components/database/backup_manifest.h"
#include "components/database/engines.h"
#include "components/database/pg_chunk_saver.h"
#include "components/database/pg_replication.h"
#include "components/database/pg_tar_stream.h"
#include "core/log.h"
#include "core/parse.h"
#include "repository/tree.h"
#include "repository/wal_store.h"

namespace stb {

using json = nlohmann::json;

namespace {

struct PendingMessage {
  char type = 0;
  std::string archive, tablespace;
};

// One root of the tree: the data directory or a tablespace.
struct ArchiveRoot {
  std::string name;          // "pgdata", "tblspc-<oid>"
  std::string manifest_dir;  // prefix of its files' manifest paths: "", "pg_tblspc/<oid>/"
  uint32_t oid = 0;
};

StatusOr<ArchiveRoot> RootOfArchive(const std::string& archive) {
  if (archive == "base.tar") return ArchiveRoot{"pgdata", "", 0};
  if (archive.size() > 4 && archive.ends_with(".tar")) {
    auto oid = ParseUint(archive.substr(0, archive.size() - 4), UINT32_MAX, "tablespace oid");
    if (oid.ok() && *oid > 0) {
      std::string o = std::to_string(*oid);
      return ArchiveRoot{"tblspc-" + o, "pg_tblspc/" + o + "/", static_cast<uint32_t>(*oid)};
    }
  }
  return Corrupt("base backup stream: unexpected archive '" + archive + "' (the server must be PostgreSQL 15+)");
}

// Relation files change in scattered 8 KiB pages: the dump chunks store less again per change.
bool IsRelationFile(const ArchiveRoot& r, const std::string& path) {
  return r.oid != 0 || path.starts_with("base/") || path.starts_with("global/");
}

// Byte-wise, component by component: parents before children, siblings in order.
bool WalkOrder(const FileNode& a, const FileNode& b) {
  size_t n = std::min(a.path.size(), b.path.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a.path[i] == '/' ? 0 : static_cast<unsigned char>(a.path[i]);
    unsigned char y = b.path[i] == '/' ? 0 : static_cast<unsigned char>(b.path[i]);
    if (x != y) return x < y;
  }
  return a.path.size() < b.path.size();
}

class PhysicalBackup {
 public:
  PhysicalBackup(Repository& repo, BlobSaver& saver, PgReplicationConn& rc, int workers, Progress& progress)
      : repo_(repo),
        rc_(rc),
        pool_(saver, workers, progress),
        dump_chunker_(repo.MakeChunker(kDumpChunks)),
        progress_(progress) {}

  // Reads the whole COPY stream: the archives, then the manifest.
  Status ReadStream() {
    ASSIGN_OR_RETURN(PendingMessage m, NextNonProgress());
    for (;;) {
      if (m.type == 0) break;
      if (m.type == 'n') {
        ASSIGN_OR_RETURN(m, ReadArchive(m));
      } else if (m.type == 'm') {
        if (manifest_seen_) return Corrupt("base backup stream: a second manifest");
        manifest_seen_ = true;
        ASSIGN_OR_RETURN(m, ReadManifest());
      } else {
        return Corrupt("base backup stream: data before any archive");
      }
    }
    if (!manifest_seen_) return Corrupt("base backup stream ended without the manifest");
    RETURN_IF_ERROR(pool_.Close());
    for (size_t i = 0; i < tree_.nodes.size(); ++i) tree_.nodes[i].content.resize(chunks_[i]);
    for (const auto& r : pool_.results()) tree_.nodes[r.node].content[r.slot] = r.id;
    std::sort(tree_.nodes.begin(), tree_.nodes.end(), WalkOrder);
    std::sort(tree_.roots.begin(), tree_.roots.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return Status::Ok();
  }

  Tree& tree() { return tree_; }
  const std::string& manifest() const { return manifest_; }
  const std::map<std::string, StoredFileSum>& sums() const { return sums_; }
  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }
  json tablespaces = json::array();
  std::string data_directory;

 private:
  StatusOr<PendingMessage> NextNonProgress() {
    for (;;) {
      ASSIGN_OR_RETURN(BackupCopyMessage m, rc_.NextBackupMessage());
      if (m.type == 'p') continue;
      last_data_ = m.data;
      return PendingMessage{m.type, std::string(m.archive), std::string(m.tablespace)};
    }
  }

  StatusOr<PendingMessage> ReadArchive(const PendingMessage& start) {
    ASSIGN_OR_RETURN(ArchiveRoot root, RootOfArchive(start.archive));
    for (const auto& r : tree_.roots) {
      if (r.name == root.name) return Corrupt("base backup stream: archive " + start.archive + " sent twice");
    }
    tree_.roots.push_back({root.name, root.oid ? start.tablespace : data_directory});
    if (root.oid) tablespaces.push_back({{"oid", root.oid}, {"location", start.tablespace}});
    size_t root_node = AddNode(FileNode{root.name, FileNode::Type::kDir, 0700});
    PendingMessage next;
    bool done = false;
    TarStreamReader tar([&]() -> StatusOr<std::span<const uint8_t>> {
      if (done) return std::span<const uint8_t>();
      ASSIGN_OR_RETURN(next, NextNonProgress());
      if (next.type == 'd') return last_data_;
      done = true;
      return std::span<const uint8_t>();
    });
    bool first = true;
    for (;;) {
      ASSIGN_OR_RETURN(auto member, tar.Next());
      if (!member) break;
      if (first) {
        tree_.nodes[root_node].uid = member->uid;
        tree_.nodes[root_node].gid = member->gid;
        tree_.nodes[root_node].mtime_ns = member->mtime_ns;
        first = false;
      }
      RETURN_IF_ERROR(AddMember(root, *member, tar));
    }
    return next;
  }

  Status AddMember(const ArchiveRoot& root, const TarMember& m, TarStreamReader& tar) {
    FileNode n;
    n.path = root.name + "/" + m.path;
    n.type = m.type == TarMember::Type::kDir       ? FileNode::Type::kDir
             : m.type == TarMember::Type::kSymlink ? FileNode::Type::kSymlink
                                                   : FileNode::Type::kFile;
    n.mode = m.mode;
    n.uid = m.uid;
    n.gid = m.gid;
    n.mtime_ns = m.mtime_ns;
    n.size = m.size;
    n.target = m.link;
    size_t idx = AddNode(std::move(n));
    if (m.type != TarMember::Type::kFile) return Status::Ok();
    ReadFn read = [&](uint8_t* buf, size_t len) { return tar.Read(buf, len); };
    ASSIGN_OR_RETURN(
        auto cut, pool_.CutMember(IsRelationFile(root, m.path) ? dump_chunker_ : repo_.chunker(), idx, m.size, read));
    chunks_[idx] = cut.chunks;
    if (cut.bytes != m.size) {
      return Corrupt("base backup tar: " + m.path + " has " + std::to_string(cut.bytes) + " bytes, its header says " +
                     std::to_string(m.size));
    }
    std::string mpath = root.manifest_dir + m.path;
    if (!sums_.emplace(mpath, StoredFileSum{m.size, cut.crc}).second) {
      return Corrupt("base backup tar: " + mpath + " appears twice");
    }
    ++files_;
    bytes_ += m.size;
    ++progress_.files_done;
    return Status::Ok();
  }

  size_t AddNode(FileNode n) {
    tree_.nodes.push_back(std::move(n));
    chunks_.push_back(0);
    return tree_.nodes.size() - 1;
  }

  StatusOr<PendingMessage> ReadManifest() {
    for (;;) {
      ASSIGN_OR_RETURN(PendingMessage m, NextNonProgress());
      if (m.type != 'd') {
        if (m.type != 0) return Corrupt("base backup stream: a message after the manifest");
        return m;
      }
      if (manifest_.size() + last_data_.size() > (size_t{1} << 30)) return Corrupt("backup manifest over 1 GiB");
      manifest_.append(reinterpret_cast<const char*>(last_data_.data()), last_data_.size());
    }
  }

  Repository& repo_;
  PgReplicationConn& rc_;
  ChunkSaver pool_;
  Chunker dump_chunker_;
  Progress& progress_;
  Tree tree_;
  std::vector<size_t> chunks_;  // per node: how many chunks it was cut into
  std::span<const uint8_t> last_data_;
  std::map<std::string, StoredFileSum> sums_;
  std::string manifest_;
  bool manifest_seen_ = false;
  uint64_t files_ = 0, bytes_ = 0;
};

StatusOr<std::vector<Id>> SaveManifest(Repository& repo, BlobSaver& saver, const std::string& text) {
  Chunker chunker = repo.MakeChunker(kDumpChunks);
  size_t pos = 0;
  ReadFn read = [&](uint8_t* buf, size_t n) -> StatusOr<size_t> {
    size_t k = std::min(n, text.size() - pos);
    std::copy_n(text.data() + pos, k, buf);
    pos += k;
    return k;
  };
  ChunkStream stream(chunker, read, text.size());
  std::vector<Id> ids;
  for (;;) {
    std::span<const uint8_t> chunk;
    RETURN_IF_ERROR(stream.Next(chunk));
    if (chunk.empty()) return ids;
    ASSIGN_OR_RETURN(Id id, saver.Save(BlobType::kData, chunk.data(), chunk.size()));
    ids.push_back(id);
  }
}

// Whether every segment from start to end (on either timeline) is in the WAL store.
StatusOr<bool> WalCovered(const WalStore& store, Storage& storage, uint32_t seg_size, uint32_t start_tli,
                          uint64_t start, uint32_t end_tli, uint64_t end) {
  ASSIGN_OR_RETURN(WalListing l, store.List(storage, seg_size));
  for (uint64_t seg = start / seg_size; seg <= (end - 1) / seg_size; ++seg) {
    // wal-receive's parts count as far as they reach from offset 0: on a quiet server the segment
    // holding the backup's end may not complete for a long time.
    uint64_t needed = std::min<uint64_t>(seg_size, end - seg * seg_size);
    bool have = false;
    for (uint32_t tli : {start_tli, end_tli}) {
      auto t = l.timelines.find(tli);
      if (t == l.timelines.end()) continue;
      if (t->second.segments.count(seg)) have = true;
      auto p = t->second.parts.find(seg);
      if (p == t->second.parts.end()) continue;
      uint64_t reached = 0;
      auto ranges = p->second;
      std::sort(ranges.begin(), ranges.end());
      for (const auto& [b, e] : ranges) {
        if (b <= reached) reached = std::max<uint64_t>(reached, e);
      }
      if (reached >= needed) have = true;
    }
    if (!have) return false;
  }
  return true;
}

Status WaitForWal(Repository& repo, const std::string& cluster, uint32_t seg_size, uint32_t start_tli, uint64_t start,
                  uint32_t end_tli, uint64_t end, int wait_seconds) {
  WalStore store(repo, cluster);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds);
  for (;;) {
    ASSIGN_OR_RETURN(bool covered, WalCovered(store, repo.storage(), seg_size, start_tli, start, end_tli, end));
    if (covered) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline) {
      return Unavailable("WAL " + FormatLsn(start) + ".." + FormatLsn(end) + " did not reach the repository within " +
                         std::to_string(wait_seconds) + " s (is archive_command running?)");
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// Cancels BASE_BACKUP when its WAIT (for the archiver) runs past the limit.
class CancelAfter {
 public:
  CancelAfter(PgReplicationConn& rc, int seconds)
      : t_([this, &rc, seconds] {
          std::unique_lock lk(mu_);
          if (!cv_.wait_for(lk, std::chrono::seconds(seconds), [&] { return done_; })) {
            fired_ = true;
            rc.Cancel();
          }
        }) {}
  ~CancelAfter() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    t_.join();
  }
  bool fired() {
    std::lock_guard lk(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false, fired_ = false;
  std::thread t_;
};

std::string NowLabel() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return std::string("spacetime-backup ") + buf;
}

}  // namespace

DatabaseBackupResult BackupPostgresPhysical(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt,
                                            PgConnection& sql, Progress& progress) {
  DatabaseBackupResult res;
  json warnings = json::array();
  auto fail = [&](const Status& st) {
    res.report["success"] = false;
    res.report["error"] = st.message();
    if (!warnings.empty()) res.report["warnings"] = warnings;
    return res;
  };
  auto rc = PgReplicationConn::Connect(opt.endpoint, "spacetime_backup");
  if (!rc.ok()) return fail(rc.status());
  auto sys = (*rc)->IdentifySystem();
  if (!sys.ok()) return fail(sys.status());
  auto sysid = ParseUint(sys->system_id, UINT64_MAX, "system identifier");
  auto seg = OneSetting(sql, "wal_segment_size");
  auto seg_size = seg.ok() ? ParseUint(*seg, kWalMaxSegmentSize, "wal_segment_size") : StatusOr<uint64_t>(seg.status());
  if (!seg_size.ok() || !ValidSegmentSize(*seg_size))
    return fail(Corrupt("the server's wal_segment_size is unreadable"));
  auto datadir = OneSetting(sql, "data_directory");
  std::string wal_source = ChooseWalSource(sql, opt.wal_source, opt.wal_slot, warnings);

  std::string label = NowLabel();
  std::string cmd = "BASE_BACKUP ( LABEL " + sql.QuoteLiteral(label) + ", PROGRESS false, CHECKPOINT 'fast', WAL " +
                    (wal_source == "included" ? "true" : "false") + ", WAIT " +
                    (wal_source == "archive" ? "true" : "false") +
                    ", MANIFEST 'yes', MANIFEST_CHECKSUMS 'CRC32C', TABLESPACE_MAP false, VERIFY_CHECKSUMS true";
  if (opt.max_rate_kb > 0) cmd += ", MAX_RATE " + std::to_string(std::max(32, opt.max_rate_kb));
  cmd += " )";
  progress.phase = "base backup";
  auto start = (*rc)->StartBaseBackup(cmd);
  if (!start.ok()) return fail(start.status());

  PhysicalBackup pb(repo, saver, **rc, opt.workers, progress);
  pb.data_directory = datadir.ok() ? *datadir : "";
  Status st = pb.ReadStream();
  if (!st.ok()) {
    (*rc)->Cancel();
    return fail(st);
  }
  StatusOr<std::pair<uint64_t, uint32_t>> end = Internal("not finished");
  {
    CancelAfter guard(**rc, opt.wal_wait_seconds);
    end = (*rc)->FinishBaseBackup();
    if (!end.ok() && guard.fired()) {
      return fail(Unavailable("the server's archiver did not archive the backup's WAL within " +
                              std::to_string(opt.wal_wait_seconds) + " s (is archive_command running?)"));
    }
  }
  if (!end.ok()) return fail(end.status());
  double end_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const auto& w : (*rc)->warnings()) warnings.push_back("server: " + w);

  auto check = VerifyBackupManifest(pb.manifest(), pb.sums());
  if (!check.ok()) return fail(check.status());
  std::string cluster = WalStore::ClusterOf(repo, *sysid);
  if (wal_source == "archive") {
    st = WaitForWal(repo, cluster, static_cast<uint32_t>(*seg_size), start->tli, start->lsn, end->second, end->first,
                    opt.wal_wait_seconds);
    if (!st.ok()) return fail(st);
  }
  auto tree_ids = SaveTree(repo, saver, pb.tree());
  if (!tree_ids.ok()) return fail(tree_ids.status());
  auto manifest_ids = SaveManifest(repo, saver, pb.manifest());
  if (!manifest_ids.ok()) return fail(manifest_ids.status());

  json roots = json::array(), tree = json::array(), manifest = json::array();
  for (const auto& r : pb.tree().roots) roots.push_back({{"name", r.name}, {"path", r.path}});
  for (const auto& id : *tree_ids) tree.push_back(id.Hex());
  for (const auto& id : *manifest_ids) manifest.push_back(id.Hex());
  res.entry = {{"kind", "postgresql-physical"},
               {"system_identifier", sys->system_id},
               {"wal_cluster", cluster},
               {"server_version", sql.server_version()},
               {"wal_segment_size", *seg_size},
               {"label", label},
               {"start_lsn", FormatLsn(start->lsn)},
               {"start_tli", start->tli},
               {"end_lsn", FormatLsn(end->first)},
               {"end_tli", end->second},
               {"end_time_unix", end_time},
               {"wal_source", wal_source},
               {"roots", roots},
               {"tablespaces", pb.tablespaces},
               {"tree", tree},
               {"manifest", manifest},
               {"files", pb.files()},
               {"size_bytes", pb.bytes()},
               {"checksum_warnings", (*rc)->warnings().size()}};
  res.report["engine"] = "postgresql";
  res.report["method"] = "physical";
  res.report["start_lsn"] = FormatLsn(start->lsn);
  res.report["end_lsn"] = FormatLsn(end->first);
  res.report["wal_source"] = wal_source;
  res.report["tablespaces"] = pb.tablespaces;
  res.report["manifest_verified"] = true;
  res.report["manifest_files"] = check->files;
  res.report["files"] = pb.files();
  res.report["size_bytes"] = pb.bytes();
  if (!warnings.empty()) res.report["warnings"] = warnings;
  res.report["success"] = true;
  res.success = true;
  return res;
}

}  // namespace stb
