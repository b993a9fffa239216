// The walk's order and content: FsWalk (names lstat'ed ahead in chunks, on several threads) and
// PrefetchWalk (entries handed over in batches, bounded) must both yield exactly the tree order,
// with every entry's metadata and the exclusions applied, whatever the chunk and batch bounds.
#include "filetree/walker.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace stb {
namespace {

namespace fs = std::filesystem;

class Walk : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stb-walk-XXXXXX";
    base_ = mkdtemp(tmpl);
    // Directory sizes around the stat chunk (256) and the parallel threshold (32), and past the
    // prefetch batch (256 entries, 16 new directories).
    Make("big", 700);
    Make("big/inner", 40);
    // Subdirectories met while big's next chunk is still being statted on the pool: in its first
    // chunk, and in its second (f0300d sorts between f0300 and f0301; big enough to have a chunk
    // ahead of its own), and an excluded name inside a chunk taken ahead.
    Make("big/a-sub", 40);
    Make("big/f0300d", 300);
    Write("big/f0400.tmp", 1);
    Make("small", 3);
    for (int d = 0; d < 40; ++d) Make("many/d" + std::to_string(d), 2);
    Make("empty", 0);
    Write("skip.tmp", 1);
    Write("big/skip.tmp", 1);
    fs::create_symlink("big/f0001", base_ + "/link");
  }
  void TearDown() override { fs::remove_all(base_); }

  void Make(const std::string& dir, int files) {
    fs::create_directories(base_ + "/" + dir);
    for (int i = 0; i < files; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "f%04d", i);
      Write(dir + "/" + name, static_cast<size_t>(i % 17));
    }
  }
  void Write(const std::string& rel, size_t size) {
    std::ofstream(base_ + "/" + rel) << std::string(size, 'x');
    expected_size_["root/" + rel] = size;
  }

  // What the walk must yield: every path under base_ in tree order, minus *.tmp.
  std::vector<std::string> Expected() const {
    std::vector<std::string> out = {"root"};
    for (const auto& e : fs::recursive_directory_iterator(base_)) {
      std::string rel = "root/" + e.path().string().substr(base_.size() + 1);
      if (rel.size() > 4 && rel.substr(rel.size() - 4) == ".tmp") continue;
      out.push_back(rel);
    }
    std::sort(out.begin(), out.end(),
              [](const std::string& a, const std::string& b) { return CompareTreePaths(a, b) < 0; });
    return out;
  }

  std::vector<std::string> Drain(WalkSource& src) {
    std::vector<std::string> got;
    FileNode n;
    std::shared_ptr<const WalkDir> dir;
    for (;;) {
      auto more = src.Next(n, dir);
      EXPECT_TRUE(more.ok()) << more.status().message();
      if (!more.ok() || !*more) break;
      got.push_back(n.path);
      if (n.type == FileNode::Type::kFile) {
        EXPECT_EQ(n.size, expected_size_.at(n.path)) << n.path;
        EXPECT_TRUE(dir) << n.path;  // files are read through the directory walked
      }
      if (n.path == "root/link") {
        EXPECT_EQ(n.type, FileNode::Type::kSymlink);
        EXPECT_EQ(n.target, "big/f0001");
      }
    }
    return got;
  }

  std::string base_;
  std::map<std::string, size_t> expected_size_;
};

TEST_F(Walk, FsWalkYieldsTreeOrderWithExclusions) {
  std::vector<std::string> problems;
  auto w = FsWalk::Open({{"root", base_}}, {"*.tmp"}, problems);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(Drain(**w), Expected());
  EXPECT_TRUE(problems.empty());
}

TEST_F(Walk, PrefetchWalkKeepsOrderUnderTightBounds) {
  for (auto [entries, dirs] : {std::pair<size_t, size_t>{1, 1}, {3, 2}, {4096, 128}}) {
    std::vector<std::string> problems;
    auto w = FsWalk::Open({{"root", base_}}, {"*.tmp"}, problems);
    ASSERT_TRUE(w.ok());
    PrefetchWalk ahead(**w, entries, dirs);
    EXPECT_EQ(Drain(ahead), Expected()) << entries << " entries, " << dirs << " dirs";
  }
}

TEST_F(Walk, PrefetchWalkStoppedEarlyEndsItsThread) {
  std::vector<std::string> problems;
  auto w = FsWalk::Open({{"root", base_}}, {}, problems);
  ASSERT_TRUE(w.ok());
  {
    PrefetchWalk ahead(**w, 8, 2);
    FileNode n;
    std::shared_ptr<const WalkDir> dir;
    ASSERT_TRUE(ahead.Next(n, dir).value());
  }  // the destructor must not wait for a consumer that is gone
  SUCCEED();
}

}  // namespace
}  // namespace stb
