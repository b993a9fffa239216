#include "filetree/file_backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "filetree/walker.h"

namespace stb {

using json = nlohmann::json;

namespace {

constexpr size_t kMaxHeldDirs = 256;  // directories the window may keep open for queued reads
// Files are handed to the workers in batches (a wake-up each was a context switch per small
// file); a batch is also handed over whenever this thread is about to wait, and at the end.
constexpr size_t kBatchJobs = 16;
constexpr uint64_t kBatchBytes = 1 << 20;
constexpr size_t kWaitAhead = 64;  // see drain

// One walked entry between the walk and the stored tree.
struct Item {
  enum State : uint8_t { kReady, kPending, kDropped };
  FileNode node;
  std::shared_ptr<const WalkDir> dir;  // pending reads only
  bool new_dir = false;                // the first pending read of its directory in the window
  std::atomic<uint8_t> state{kReady};
};

// The parent's tree, read alongside the walk: both come in tree order, so one cursor advancing
// with the walk finds each file's parent node. Roots rank in this backup's order; a parent root no
// longer backed up is skipped. Any misorder or damage only loses reuse, never correctness.
class ParentMatcher {
 public:
  ParentMatcher(Repository& repo, const json* entry, const std::vector<TreeRoot>& roots) : roots_(roots) {
    if (!entry) return;
    auto c = TreeCursor::Open(repo, *entry);
    if (!c.ok()) {
      Drop(c.status());
      return;
    }
    cursor_ = std::move(*c);
    Advance();
  }

  // The parent's node with the same path as n, or null.
  const FileNode* Find(const FileNode& n) {
    size_t rank = Rank(n.path);
    while (cursor_ && Before(cur_rank_, cur_.path, rank, n.path)) Advance();
    if (cursor_ && cur_rank_ == rank && cur_.path == n.path) return &cur_;
    return nullptr;
  }

 private:
  size_t Rank(const std::string& path) const {
    size_t slash = path.find('/');
    std::string_view root(path.data(), slash == std::string::npos ? path.size() : slash);
    for (size_t i = 0; i < roots_.size(); ++i) {
      if (roots_[i].name == root) return i;
    }
    return roots_.size();
  }
  static bool Before(size_t ra, const std::string& a, size_t rb, const std::string& b) {
    if (ra != rb) return ra < rb;
    return CompareTreePaths(a, b) < 0;
  }
  void Advance() {
    for (;;) {
      auto more = cursor_->Next(cur_);
      if (!more.ok()) return Drop(more.status());
      if (!*more) {
        cursor_.reset();
        return;
      }
      cur_rank_ = Rank(cur_.path);
      if (cur_rank_ < roots_.size()) return;
    }
  }
  void Drop(const Status& st) {
    LogWarn("parent tree unreadable, reading the remaining files: " + st.message());
    cursor_.reset();
  }

  const std::vector<TreeRoot>& roots_;
  std::unique_ptr<TreeCursor> cursor_;
  FileNode cur_;
  size_t cur_rank_ = 0;
};

bool SameFile(const FileNode& a, const FileNode& b) {
  return b.type == FileNode::Type::kFile && a.size == b.size && a.mtime_ns == b.mtime_ns && a.inode == b.inode;
}

}  // namespace

std::string FileBackupResult::FirstError() const {
  if (report.contains("error")) return report["error"].get<std::string>();
  if (report.contains("errors") && !report["errors"].empty()) return report["errors"][0].get<std::string>();
  return "failed";
}

FileBackupResult BackupFiles(Repository& repo, BlobSaver& saver, const std::string& component,
                             const FileBackupOptions& opt, Progress& progress) {
  std::vector<std::string> problems;
  auto walk = FsWalk::Open(opt.roots, opt.excludes, problems);
  if (!walk.ok()) {
    FileBackupResult res;
    res.report = {{"type", component}, {"success", false}, {"error", walk.status().message()}};
    return res;
  }
  FileBackupResult res;
  {
    PrefetchWalk ahead(**walk);
    res = BackupSource(repo, saver, component, ahead, opt, problems, progress);
  }
  // The walk's problems are complete once its thread has ended (BackupSource read to the end).
  return res;
}

FileBackupResult BackupSource(Repository& repo, BlobSaver& saver, const std::string& component, WalkSource& source,
                              const FileBackupOptions& opt, std::vector<std::string>& problems, Progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  FileBackupResult res;
  res.report = {{"type", component}};
  ParentMatcher parent(repo, opt.parent, source.roots());
  TreeWriter writer(repo, saver, source.roots());

  // The window: entries in walk order, stored from the front as soon as their reads are done.
  // Only this thread touches the deque; workers reach their item through a stable pointer.
  std::deque<Item> window;
  size_t held_dirs = 0;
  std::mutex mu;
  std::condition_variable jobs_cv, done_cv;
  std::deque<Item*> jobs;
  bool no_more_jobs = false;
  std::vector<std::string> read_problems, errors;
  // The item this thread waits for, set under mu before it waits: a worker wakes it only for that
  // item. Its store and the worker's store of the item's state are seq_cst, so of the two checks
  // that follow (this thread's of the state, the worker's of waiting_for) at least one sees the
  // other's store and no wake-up is lost.
  std::atomic<Item*> waiting_for{nullptr};

  auto worker = [&] {
    for (;;) {
      Item* it;
      {
        std::unique_lock<std::mutex> lk(mu);
        jobs_cv.wait(lk, [&] { return no_more_jobs || !jobs.empty(); });
        if (jobs.empty()) return;
        it = jobs.front();
        jobs.pop_front();
      }
      FileNode& n = it->node;
      std::string changed, abs = source.AbsPath(it->dir.get(), n);
      Status st;
      auto read = source.OpenFile(it->dir.get(), n, changed);
      if (!read.ok()) {
        st = read.status();
      } else if (changed.empty()) {
        ChunkStream stream(repo.chunker(), std::move(*read), n.size);
        n.content.clear();
        for (;;) {
          std::span<const uint8_t> chunk;
          st = stream.Next(chunk);
          if (!st.ok() || chunk.empty()) break;
          auto id = saver.Save(BlobType::kData, chunk.data(), chunk.size());
          if (!id.ok()) {
            st = id.status();
            break;
          }
          n.content.push_back(*id);
          progress.bytes_done += chunk.size();
        }
        n.size = stream.bytes_read();
      }
      progress.files_done++;
      bool failed = !st.ok() || !changed.empty();
      if (failed) {
        std::lock_guard<std::mutex> g(mu);
        // A file removed or changed since the walk is not an error: it is simply not in this backup.
        if (!changed.empty()) {
          read_problems.push_back(abs + ": changed during the backup (" + changed + "); skipped, not read");
        } else if (st.code() == Code::kNotFound) {
          read_problems.push_back(abs + ": removed during the backup");
        } else {
          errors.push_back(st.message());
        }
      }
      it->state.store(failed ? Item::kDropped : Item::kReady, std::memory_order_seq_cst);
      if (waiting_for.load(std::memory_order_seq_cst) == it) {
        // Taking mu orders this after the waiter's check of the state: it is asleep or done.
        { std::lock_guard<std::mutex> g(mu); }
        done_cv.notify_one();
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, opt.workers); ++i) pool.emplace_back(worker);

  // Jobs walked but not yet handed to the workers.
  std::vector<Item*> batch;
  uint64_t batch_bytes = 0;
  auto hand_over = [&] {
    if (batch.empty()) return;
    {
      std::lock_guard<std::mutex> g(mu);
      jobs.insert(jobs.end(), batch.begin(), batch.end());
    }
    if (batch.size() == 1) {
      jobs_cv.notify_one();
    } else {
      jobs_cv.notify_all();
    }
    batch.clear();
    batch_bytes = 0;
  };

  uint64_t files = 0, unchanged = 0, stored_files = 0, stored_bytes = 0;
  Status tree_status;
  // Stores the finished entries at the front, waiting for reads while the window is over its
  // bounds (or, with `all`, until it is empty).
  auto drain = [&](bool all) {
    while (!window.empty()) {
      Item& front = window.front();
      if (front.state.load(std::memory_order_acquire) == Item::kPending) {
        if (!all && window.size() < opt.window && held_dirs < kMaxHeldDirs) return;
        hand_over();  // the items waited for may be in the batch
        // Waits for a pending item up to kWaitAhead entries on, not for the front alone: the workers
        // take jobs in order, so once it is done most before it are too, and this thread sleeps once
        // per stretch of files rather than once per file.
        Item* target = &front;
        for (size_t i = std::min(window.size(), kWaitAhead); i-- > 1;) {
          if (window[i].state.load(std::memory_order_relaxed) == Item::kPending) {
            target = &window[i];
            break;
          }
        }
        std::unique_lock<std::mutex> lk(mu);
        waiting_for.store(target, std::memory_order_seq_cst);
        done_cv.wait(lk, [&] { return target->state.load(std::memory_order_seq_cst) != Item::kPending; });
        waiting_for.store(nullptr, std::memory_order_relaxed);
        continue;  // the front may still be pending: look again
      }
      if (front.state.load(std::memory_order_acquire) == Item::kReady) {
        if (front.node.type == FileNode::Type::kFile) {
          ++stored_files;
          stored_bytes += front.node.size;
        }
        if (tree_status.ok()) tree_status = writer.Add(front.node);
      }
      held_dirs -= front.new_dir;
      window.pop_front();
    }
  };

  Status walk_status;
  const WalkDir* last_dir = nullptr;
  for (;;) {
    FileNode node;
    std::shared_ptr<const WalkDir> dir;
    auto more = source.Next(node, dir);
    if (!more.ok()) walk_status = more.status();
    if (!more.ok() || !*more) break;
    Item& it = window.emplace_back();
    it.node = std::move(node);
    if (it.node.type == FileNode::Type::kFile) {
      ++files;
      progress.files_total++;
      const FileNode* p = parent.Find(it.node);
      bool reuse = p && SameFile(it.node, *p);
      for (size_t i = 0; reuse && i < p->content.size(); ++i) reuse = repo.index().contains(p->content[i]);
      if (reuse) {
        it.node.content = p->content;
        ++unchanged;
        progress.files_done++;
      } else {
        progress.bytes_total += it.node.size;
        it.new_dir = dir.get() != last_dir;
        held_dirs += it.new_dir;
        last_dir = dir.get();
        it.dir = std::move(dir);
        it.state.store(Item::kPending, std::memory_order_relaxed);
        batch.push_back(&it);
        batch_bytes += it.node.size;
        if (batch.size() >= kBatchJobs || batch_bytes >= kBatchBytes) hand_over();
      }
    }
    drain(false);
  }
  hand_over();
  {
    std::lock_guard<std::mutex> g(mu);
    no_more_jobs = true;
  }
  jobs_cv.notify_all();
  drain(true);
  for (auto& t : pool) t.join();
  if (!walk_status.ok()) {
    res.report["success"] = false;
    res.report["error"] = walk_status.message();
    return res;
  }
  auto tree_ids = tree_status.ok() ? writer.Finish() : StatusOr<std::vector<Id>>(tree_status);
  if (!tree_ids.ok()) errors.push_back(tree_ids.status().message());
  problems.insert(problems.end(), read_problems.begin(), read_problems.end());

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
  for (const auto& r : source.roots()) roots.push_back({{"name", r.name}, {"path", r.path}});
  res.entry = {{"kind", "files"}, {"roots", roots}, {"files", stored_files}, {"size_bytes", stored_bytes}};
  json ids = json::array();
  if (tree_ids.ok()) {
    for (const auto& id : *tree_ids) ids.push_back(id.Hex());
  }
  res.entry["tree"] = ids;
  return res;
}

}  // namespace stb
