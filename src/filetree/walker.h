// Where a file backup's entries come from, one at a time in tree order: the file system beneath a
// set of roots (FsWalk) or a generated tree that exists nowhere on disk (bench/synthetic_source).
//
// A root is an operator-configured path and is opened as given (a deploy symlink such as
// /opt/game/current is followed). Beneath it the walk is relative to directory descriptors and
// never follows a symlink: each subdirectory is opened with O_NOFOLLOW|O_DIRECTORY from its
// parent, so one swapped for a symlink mid-walk is skipped, not entered. Files are read through
// the descriptor of the directory the walk listed them in (kept open while any of its files is
// queued), so a directory renamed or swapped for a symlink after the listing is never read through.
#pragma once

#include <sys/stat.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chunker/fastcdc.h"
#include "core/file_util.h"
#include "repository/tree.h"

namespace stb {

// True when a name (or, for patterns with '/', the relative path) matches a glob pattern.
bool IsExcluded(const std::vector<std::string>& patterns, const std::string& name, const std::string& rel_path);

// Root names are the paths' basenames, made unique ("config", "config-2").
std::vector<TreeRoot> NameRoots(const std::vector<std::string>& paths);

// A directory the walk listed, shared by the entries read from it.
struct WalkDir {
  Fd fd;
  std::string abs;  // its source path, for messages
};

class WalkSource {
 public:
  virtual ~WalkSource() = default;
  virtual const std::vector<TreeRoot>& roots() const = 0;
  // The next entry in tree order (content empty), and the directory it is in (null for a root);
  // false after the last. Entries skipped (unreadable, not a file, directory or symlink) are
  // reported to the problems list the source was made with.
  virtual StatusOr<bool> Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) = 0;
  // Opens a regular file Next returned, for one of several workers at once. When it is no longer
  // the file walked (now a FIFO, a symlink, on another device), sets `changed` and returns an empty
  // function: nothing is read. A file replaced by rename is read, node taking its new metadata.
  virtual StatusOr<ReadFn> OpenFile(const WalkDir* dir, FileNode& node, std::string& changed) = 0;
  // The source path of a node (for messages).
  virtual std::string AbsPath(const WalkDir* dir, const FileNode& node) const = 0;
};

// One listed name's lstat, taken ahead of the walk (FsWalk's stat pool).
struct FsWalkPre {
  struct stat st;
  int err = 0;
  bool excluded = false;
};
class StatPool;

// The file system beneath the roots, depth first with siblings sorted: one listing per level of
// depth is held, never the whole tree. Names are lstat'ed ahead of the walk, a chunk of a listing
// at a time, on a few threads: a walk of small unchanged files is mostly that system call.
class FsWalk final : public WalkSource {
 public:
  ~FsWalk() override;
  // Opens every root first: a missing root fails before anything is walked. A root that exists
  // but cannot be listed is recorded as an empty directory, with a problem.
  static StatusOr<std::unique_ptr<FsWalk>> Open(const std::vector<TreeRoot>& roots,
                                                const std::vector<std::string>& excludes,
                                                std::vector<std::string>& problems);

  const std::vector<TreeRoot>& roots() const override { return roots_; }
  StatusOr<bool> Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) override;
  StatusOr<ReadFn> OpenFile(const WalkDir* dir, FileNode& node, std::string& changed) override;
  std::string AbsPath(const WalkDir* dir, const FileNode& node) const override;

 private:
  struct Frame {
    std::shared_ptr<WalkDir> dir;
    std::string rel;          // "<root name>/a/b"
    std::string rel_in_root;  // "a/b", for exclude patterns
    std::vector<std::string> names;
    size_t next = 0;
    std::vector<FsWalkPre> pre;  // names[pre_begin, pre_begin + pre.size()), statted
    size_t pre_begin = 0;
    std::vector<FsWalkPre> ahead;  // the chunk after pre, handed to the stat pool (may be in flight)
    size_t ahead_begin = 0;
  };
  struct OpenRoot {
    Fd fd;  // invalid: exists but cannot be listed
    FileNode top;
  };
  FsWalk(std::vector<TreeRoot> roots, std::vector<std::string> excludes, std::vector<std::string>& problems);
  void Push(std::shared_ptr<WalkDir> dir, std::string rel, std::string rel_in_root);
  void Prestat(Frame& f);
  void FillChunk(const Frame& f, size_t begin, std::vector<FsWalkPre>& out) const;

  std::vector<TreeRoot> roots_;
  std::vector<std::string> excludes_;
  std::vector<std::string>& problems_;
  std::vector<OpenRoot> open_;
  size_t next_root_ = 0;
  std::unique_ptr<StatPool> stat_pool_;
  std::vector<Frame> stack_;
};

// Runs another source's walk on its own thread, ahead of the caller, so the walk's system calls
// (a statx per entry) overlap with comparing and encoding what it already found. Bounded: at most
// max_entries entries and max_dirs directories wait in the queue, plus one batch on each side.
// The inner source's problems list may be read once Next has returned false (the thread has ended).
class PrefetchWalk final : public WalkSource {
 public:
  explicit PrefetchWalk(WalkSource& inner, size_t max_entries = 4096, size_t max_dirs = 128);
  ~PrefetchWalk() override;
  const std::vector<TreeRoot>& roots() const override { return inner_.roots(); }
  StatusOr<bool> Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) override;
  StatusOr<ReadFn> OpenFile(const WalkDir* dir, FileNode& node, std::string& changed) override {
    return inner_.OpenFile(dir, node, changed);
  }
  std::string AbsPath(const WalkDir* dir, const FileNode& node) const override { return inner_.AbsPath(dir, node); }

 private:
  struct Entry {
    FileNode node;
    std::shared_ptr<const WalkDir> dir;
    bool new_dir = false;
  };
  struct Batch {
    std::vector<Entry> entries;
    size_t dirs = 0;  // directories first seen in this batch
  };
  static constexpr size_t kBatchEntries = 256, kBatchDirs = 16;
  void Run();
  WalkSource& inner_;
  const size_t max_entries_, max_dirs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  size_t queued_entries_ = 0, queued_dirs_ = 0;
  bool producer_waiting_ = false, consumer_waiting_ = false;
  bool done_ = false, stop_ = false;
  Status status_;
  Batch current_;  // the consumer's batch, handed out from pos_
  size_t pos_ = 0;
  std::thread thread_;
};

}  // namespace stb
