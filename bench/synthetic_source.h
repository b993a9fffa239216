// A file tree that exists nowhere on disk, for bench/synthetic_backup: N entries generated from
// their index (issue 17's 10,000,000-entry step), so the walk's and tree's memory can be measured.
//
// The tree is one root "synthetic" holding directories d0000, d0001, ... of `per_dir` files each,
// named save_0000000.json as bench/gen_small.py names them. Every attribute of file i (size, mtime,
// inode) follows from i; its content is generated on read. On purpose the content is drawn from a
// bounded pool of `bodies` distinct bodies of 1-8 KiB: the repository then holds at most `bodies`
// data blobs whatever N is, so what grows with N is the walk and the tree, not the blob index.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "filetree/walker.h"

namespace stb {

struct SyntheticShape {
  uint64_t entries = 10'000'000;  // files
  uint64_t per_dir = 1000;        // files per directory
  uint64_t bodies = 4096;         // distinct file contents
  uint64_t seed = 1;
};

class SyntheticSource final : public WalkSource {
 public:
  explicit SyntheticSource(const SyntheticShape& shape);

  const std::vector<TreeRoot>& roots() const override { return roots_; }
  StatusOr<bool> Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) override;
  StatusOr<ReadFn> OpenFile(const WalkDir* dir, FileNode& node, std::string& changed) override;
  std::string AbsPath(const WalkDir* dir, const FileNode& node) const override;

  // Which body file i has, and that body's size: what Next reports and OpenFile yields.
  uint64_t BodyOf(uint64_t file) const;
  uint64_t BodySize(uint64_t body) const;
  // Fills buf with bytes [offset, offset + n) of a body (deterministic in the seed and the body).
  void BodyBytes(uint64_t body, uint64_t offset, uint8_t* buf, size_t n) const;
  uint64_t directories() const { return dirs_; }

 private:
  SyntheticShape shape_;
  std::vector<TreeRoot> roots_;
  uint64_t dirs_ = 0;
  int dir_digits_ = 4, file_digits_ = 7;
  bool root_done_ = false;
  uint64_t next_file_ = 0;   // the next file to yield
  bool dir_pending_ = true;  // the directory of next_file_ is yet to be yielded
  std::shared_ptr<WalkDir> dir_;
};

}  // namespace stb
