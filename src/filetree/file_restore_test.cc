// Restore safety: a snapshot crafted through the library with escaping paths must be refused,
// and nothing may be written outside the target.
#include "filetree/file_restore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/crc32c.h"
#include "filetree/file_backup.h"
#include "repository/blob_saver.h"

namespace stb {
namespace {

namespace fs = std::filesystem;

class RestoreSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stb-restore-XXXXXX";
    base_ = mkdtemp(tmpl);
    target_ = base_ + "/target";
    storage_ = NewMemStorage();
    KeySource k;
    k.secret = Bytes(32, 3);
    ASSERT_TRUE(Repository::Init(*storage_, k).ok());
    repo_ = std::move(Repository::Open(storage_, k).value());
  }
  void TearDown() override { fs::remove_all(base_); }

  // Stores tree and content through the repository, loads it back and restores it. Trees are
  // given in tree order (CompareTreePaths), as the restore requires.
  // With `blobs` > 1, each file is that many blobs ("pwned", "0", "1", ...).
  FileRestoreResult RoundTrip(Tree tree, const std::string& anchor = "", const std::string& under = "",
                              size_t blobs = 1) {
    BlobSaver saver(*repo_, 1);
    Bytes content = ToBytes("pwned");
    std::vector<Id> blob_ids = {*saver.Save(BlobType::kData, content.data(), content.size())};
    size_t size = content.size();
    for (size_t b = 1; b < blobs; ++b) {
      Bytes more = ToBytes(std::to_string(b));
      blob_ids.push_back(*saver.Save(BlobType::kData, more.data(), more.size()));
      size += more.size();
    }
    for (auto& n : tree.nodes) {
      if (n.type == FileNode::Type::kFile) {
        n.content = blob_ids;
        n.size = size;
      }
    }
    auto ids = SaveTree(*repo_, saver, tree);
    EXPECT_TRUE(saver.Finish().ok());
    EXPECT_TRUE(repo_->LoadIndex().ok());
    nlohmann::json entry = {{"tree", nlohmann::json::array()}};
    for (const auto& i : *ids) entry["tree"].push_back(i.Hex());
    // Streamed from the repository as `restore` does.
    auto cursor = TreeCursor::Open(*repo_, entry);
    EXPECT_TRUE(cursor.ok());
    auto loaded = &**cursor;
    FileRestoreOptions opt;
    opt.anchor = anchor;
    opt.before_finish = before_finish_;
    opt.max_open_dirs = max_open_dirs_;
    if (window_files_ != 0) opt.window_files = window_files_;
    for (const auto& r : loaded->roots()) opt.destinations[r.name] = target_ + under + "/" + r.name;
    Progress p;
    return RestoreFiles(
        *repo_, loaded->roots(), [&](FileNode& n) { return loaded->Next(n); }, opt, p);
  }

  static FileNode Dir(const std::string& p) {
    FileNode n;
    n.path = p;
    n.type = FileNode::Type::kDir;
    n.mode = 0755;
    return n;
  }
  static FileNode File(const std::string& p) {
    FileNode n;
    n.path = p;
    n.mode = 0644;
    return n;
  }

  // Names under dir (recursively) that start with ".stb-restore-": what a restore left behind.
  static std::set<std::string> Leftovers(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.path().filename().string().rfind(".stb-restore-", 0) == 0) out.insert(e.path().string());
    }
    return out;
  }
  static unsigned ModeOf(const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::function<void()> before_finish_;
  size_t max_open_dirs_ = 0;
  size_t window_files_ = 0;
  std::string base_, target_;
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(RestoreSafety, DotDotPathIsRefusedAndNothingWritten) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), File("saves/ok.json"), File("saves/../x"), File("saves/../../x")};
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.report["error"].get<std::string>().find("unsafe path"), std::string::npos);
  EXPECT_FALSE(fs::exists(base_ + "/x"));
  EXPECT_FALSE(fs::exists(target_ + "/x"));
  EXPECT_FALSE(fs::exists(target_ + "/saves/ok.json"));  // refused before anything was written
}

TEST_F(RestoreSafety, AbsolutePathIsRefused) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  std::string outside = base_ + "/abs-outside";
  t.nodes = {Dir("saves"), File(outside)};
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(fs::exists(outside));
}

TEST_F(RestoreSafety, UnsafeRootNameIsRefused) {
  Tree t;
  t.roots = {{"..", "/src"}};
  t.nodes = {Dir(".."), File("../evil")};
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(fs::exists(base_ + "/evil"));
}

TEST_F(RestoreSafety, SymlinkInTheTreeCannotRedirectWrites) {
  fs::create_directories(base_ + "/outside");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  FileNode link;
  link.path = "saves/link";
  link.type = FileNode::Type::kSymlink;
  link.target = base_ + "/outside";
  t.nodes = {Dir("saves"), link, File("saves/link/pwn")};
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(fs::exists(base_ + "/outside/pwn"));
}

TEST_F(RestoreSafety, SymlinkPlantedInTheTargetIsNotFollowed) {
  fs::create_directories(base_ + "/outside");
  fs::create_directories(target_ + "/saves");
  fs::create_directory_symlink(base_ + "/outside", target_ + "/saves/sub");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/sub"), File("saves/sub/pwn")};
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_FALSE(fs::exists(base_ + "/outside/pwn"));
}

// The account owning the restored directory replaced it with a symlink: nothing is written
// through it, and the directory it points to keeps its owner and mode.
TEST_F(RestoreSafety, SymlinkAtTheRootIsRefused) {
  fs::create_directories(base_ + "/outside");
  ::chmod((base_ + "/outside").c_str(), 0751);
  fs::create_directories(target_);
  fs::create_directory_symlink(base_ + "/outside", target_ + "/saves");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), File("saves/pwn")};
  t.nodes[0].mode = 0777;
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.report["error"].get<std::string>().find(target_ + "/saves: is a symlink"), std::string::npos)
      << r.report.dump();
  EXPECT_FALSE(fs::exists(base_ + "/outside/pwn"));
  struct stat st;
  ASSERT_EQ(::stat((base_ + "/outside").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
}

// With an anchor (restore --target DIR), the elements the restore creates below it are not
// followed either: DIR/player_saves planted as a symlink.
TEST_F(RestoreSafety, SymlinkBelowTheAnchorIsRefused) {
  fs::create_directories(base_ + "/outside");
  fs::create_directories(target_);
  fs::create_directory_symlink(base_ + "/outside", target_ + "/player_saves");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), File("saves/pwn")};
  auto r = RoundTrip(t, target_, "/player_saves");
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.report["error"].get<std::string>().find(target_ + "/player_saves: is a symlink"), std::string::npos)
      << r.report.dump();
  EXPECT_TRUE(fs::is_empty(base_ + "/outside"));
}

TEST_F(RestoreSafety, AnchoredTreeRestores) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/a"), File("saves/a/b.json")};
  auto r = RoundTrip(t, target_, "/player_saves");
  EXPECT_TRUE(r.success) << r.report.dump();
  EXPECT_TRUE(fs::exists(target_ + "/player_saves/saves/a/b.json"));
}

TEST_F(RestoreSafety, OrdinaryTreeRestores) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/a"), File("saves/a/b.json")};
  auto r = RoundTrip(t);
  EXPECT_TRUE(r.success) << r.report.dump();
  std::ifstream in(target_ + "/saves/a/b.json");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "pwned");
}

// A directory the restore creates beneath an existing one is staged and renamed into place
// complete, with its mode and time; nothing is left under a temporary name.
TEST_F(RestoreSafety, StagedDirectoryIsRenamedIntoPlace) {
  fs::create_directories(target_ + "/saves");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/new"), File("saves/new/b.json"), Dir("saves/new/deeper"),
             File("saves/new/deeper/a.json")};
  t.nodes[1].mode = 0750;
  t.nodes[1].mtime_ns = 1700000000123456789;
  // Every file is written, yet the final name is absent: the tree sits in one staged directory.
  bool hook_ran = false;
  before_finish_ = [&] {
    hook_ran = true;
    EXPECT_FALSE(fs::exists(target_ + "/saves/new"));
    auto staged = Leftovers(target_);
    ASSERT_EQ(staged.size(), 1u);
    EXPECT_EQ(Read(*staged.begin() + "/deeper/a.json"), "pwned");
  };
  auto r = RoundTrip(t);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_TRUE(hook_ran);
  EXPECT_EQ(Read(target_ + "/saves/new/deeper/a.json"), "pwned");
  EXPECT_EQ(Read(target_ + "/saves/new/b.json"), "pwned");
  struct stat st;
  ASSERT_EQ(::stat((target_ + "/saves/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1700000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_TRUE(Leftovers(target_).empty());
}

// A new root (restore into an empty target) is staged too, and every file is complete.
TEST_F(RestoreSafety, NewRootIsStagedAndRenamed) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), File("saves/a.json")};
  t.nodes[0].mode = 0711;
  auto r = RoundTrip(t);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_EQ(Read(target_ + "/saves/a.json"), "pwned");
  EXPECT_EQ(ModeOf(target_ + "/saves"), 0711u);
  EXPECT_TRUE(Leftovers(base_).empty());
}

// Existing directories keep files written through temporaries: an existing file is replaced
// whole (new inode), and an unrelated file there is kept.
TEST_F(RestoreSafety, ExistingDirectoryStillUsesTemporaries) {
  fs::create_directories(target_ + "/saves/a");
  { std::ofstream(target_ + "/saves/a/b.json") << "old content"; }
  { std::ofstream(target_ + "/saves/a/keep.json") << "keep"; }
  struct stat before;
  ASSERT_EQ(::stat((target_ + "/saves/a/b.json").c_str(), &before), 0);
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/a"), File("saves/a/b.json")};
  auto r = RoundTrip(t);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_EQ(Read(target_ + "/saves/a/b.json"), "pwned");
  EXPECT_EQ(Read(target_ + "/saves/a/keep.json"), "keep");
  struct stat after;
  ASSERT_EQ(::stat((target_ + "/saves/a/b.json").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // renamed over, not rewritten in place
  EXPECT_TRUE(Leftovers(target_).empty());
}

// A symlink planted at a file's final name in an existing directory is replaced by the rename,
// never written through.
TEST_F(RestoreSafety, SymlinkPlantedAtAFileNameIsNotFollowed) {
  fs::create_directories(base_ + "/outside");
  { std::ofstream(base_ + "/outside/victim") << "victim"; }
  fs::create_directories(target_ + "/saves");
  fs::create_symlink(base_ + "/outside/victim", target_ + "/saves/a.json");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), File("saves/a.json")};
  auto r = RoundTrip(t);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_EQ(Read(base_ + "/outside/victim"), "victim");
  EXPECT_FALSE(fs::is_symlink(target_ + "/saves/a.json"));
  EXPECT_EQ(Read(target_ + "/saves/a.json"), "pwned");
}

// A file of several blobs is written whole through one descriptor.
TEST_F(RestoreSafety, FileOfSeveralBlobsRestores) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/a"), File("saves/a/big.json"), File("saves/a/big2.json")};
  auto r = RoundTrip(t, "", "", 4);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_EQ(Read(target_ + "/saves/a/big.json"), "pwned123");
  EXPECT_EQ(Read(target_ + "/saves/a/big2.json"), "pwned123");
  EXPECT_TRUE(Leftovers(target_).empty());
}

// A directory appearing at a staged directory's final name while the restore runs (planted, or
// a concurrent restore) is not replaced: the error names the path, and the restored directory
// is left under its staged name for the operator.
TEST_F(RestoreSafety, NameThatAppearedMeanwhileFailsTheStagedRename) {
  fs::create_directories(target_ + "/saves");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/new"), File("saves/new/a.json")};
  before_finish_ = [&] { fs::create_directory(target_ + "/saves/new"); };
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.report["error"].get<std::string>().find(target_ + "/saves/new: appeared during the restore"),
            std::string::npos)
      << r.report.dump();
  EXPECT_TRUE(fs::is_empty(target_ + "/saves/new"));
  auto left = Leftovers(target_);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(Read(*left.begin() + "/a.json"), "pwned");
}

// A symlink planted at a staged directory's final name is not replaced either.
TEST_F(RestoreSafety, SymlinkThatAppearedMeanwhileIsNotReplaced) {
  fs::create_directories(target_ + "/saves");
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/new"), File("saves/new/a.json")};
  before_finish_ = [&] { fs::create_directory_symlink(base_, target_ + "/saves/new"); };
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_TRUE(fs::is_symlink(target_ + "/saves/new"));
  EXPECT_FALSE(fs::exists(base_ + "/a.json"));
}

// With more directories than may be kept open, the others are opened again beneath their root
// (staged names included) for every use, and the result is the same.
TEST_F(RestoreSafety, DirectoriesBeyondTheOpenLimitAreReopened) {
  fs::create_directories(target_ + "/saves/old");
  max_open_dirs_ = 1;  // the root only
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"),
             Dir("saves/new"),
             File("saves/new/b.json"),
             Dir("saves/new/deeper"),
             File("saves/new/deeper/a.json"),
             Dir("saves/old"),
             File("saves/old/c.json")};
  t.nodes[3].mode = 0701;  // saves/new/deeper
  auto r = RoundTrip(t, "", "", 3);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_EQ(Read(target_ + "/saves/new/deeper/a.json"), "pwned12");
  EXPECT_EQ(Read(target_ + "/saves/new/b.json"), "pwned12");
  EXPECT_EQ(Read(target_ + "/saves/old/c.json"), "pwned12");
  EXPECT_EQ(ModeOf(target_ + "/saves/new/deeper"), 0701u);
  EXPECT_TRUE(Leftovers(target_).empty());
}

// As root, a file created in a setgid directory (or a new directory beneath one) takes that
// directory's group; the restore still gives it the group in the backup.
TEST_F(RestoreSafety, FilesInASetgidDirectoryGetTheirOwnGroup) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (chown)";
  fs::create_directories(target_ + "/saves");
  ASSERT_EQ(::chown((target_ + "/saves").c_str(), 0, 4321), 0);
  ASSERT_EQ(::chmod((target_ + "/saves").c_str(), 02775), 0);
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), File("saves/b.json"), Dir("saves/new"), File("saves/new/a.json")};
  for (auto& n : t.nodes) n.gid = getegid();
  auto r = RoundTrip(t);
  ASSERT_TRUE(r.success) << r.report.dump();
  for (const char* f : {"/saves/new/a.json", "/saves/b.json"}) {
    struct stat st;
    ASSERT_EQ(::stat((target_ + f).c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, getegid()) << f;
  }
}

// A tree many times the window: files are written window by window while the tree is read, and
// every file and directory arrives with its content, mode and time, the staged directory renamed
// into place complete and the existing one written through temporaries.
TEST_F(RestoreSafety, TreeLargerThanTheWindowArrivesWhole) {
  fs::create_directories(target_ + "/saves/old");
  window_files_ = 3;
  max_open_dirs_ = 4;
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes.push_back(Dir("saves"));
  t.nodes[0].mode = 0750;
  int64_t mtime = 1600000000000000000;
  auto add = [&](FileNode n, uint32_t mode) {
    n.mode = mode;
    n.mtime_ns = (mtime += 1000000007);
    t.nodes.push_back(n);
  };
  for (int d = 0; d < 6; ++d) {
    std::string dir = "saves/d" + std::to_string(d);
    add(Dir(dir), 0700 + d);
    for (int s = 0; s < 2; ++s) {
      std::string sub = dir + "/s" + std::to_string(s);
      add(Dir(sub), 0750);
      for (int f = 0; f < 5; ++f) add(File(sub + "/f" + std::to_string(f)), f == 0 ? 0600 : 0644);
    }
    add(Dir(dir + "/t-empty"), 0711);  // after s0/s1 in tree order, and with nothing in it
    for (int f = 0; f < 4; ++f) add(File(dir + "/z" + std::to_string(f)), 0640);
  }
  add(Dir("saves/old"), 0755);
  for (int f = 0; f < 7; ++f) add(File("saves/old/o" + std::to_string(f)), 0644);
  auto r = RoundTrip(t, "", "", 2);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_EQ(r.report["files"], 6 * 14 + 7);
  EXPECT_EQ(r.report["verified_files"], 6 * 14 + 7);
  for (const auto& n : t.nodes) {
    const std::string path = target_ + "/" + n.path;
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 07777, n.mode) << path;
    if (n.path == "saves") continue;  // the root: its time is the one set last, checked below
    EXPECT_EQ(int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec, n.mtime_ns) << path;
    if (n.type == FileNode::Type::kFile) {
      EXPECT_EQ(Read(path), "pwned1") << path;
    }
  }
  EXPECT_TRUE(Leftovers(target_).empty());
}

// Nodes out of tree order stop the restore with an error naming the node; nothing of the window
// not yet written is written, and nothing lands outside the target.
TEST_F(RestoreSafety, OutOfOrderTreeStopsTheRestore) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/b"), File("saves/b/x"), Dir("saves/a"), File("saves/a/y")};
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.report["error"].get<std::string>().find("out of order at 'saves/a'"), std::string::npos)
      << r.report.dump();
  EXPECT_FALSE(fs::exists(target_ + "/saves"));  // the staged root never renamed into place
  EXPECT_FALSE(fs::exists(target_ + "/saves/a/y"));
}

// A whole tree in memory need only list parents first: it is restored in tree order, and the
// checksums come back by its own node positions.
TEST_F(RestoreSafety, WholeTreeInParentsFirstOrderRestores) {
  BlobSaver saver(*repo_, 1);
  Bytes a = ToBytes("aaa"), b = ToBytes("bb");
  Id ia = *saver.Save(BlobType::kData, a.data(), a.size()), ib = *saver.Save(BlobType::kData, b.data(), b.size());
  ASSERT_TRUE(saver.Finish().ok());
  ASSERT_TRUE(repo_->LoadIndex().ok());
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), Dir("saves/z"), File("saves/z/a"), File("saves/b")};
  t.nodes[2].content = {ia};
  t.nodes[2].size = 3;
  t.nodes[3].content = {ib};
  t.nodes[3].size = 2;
  FileRestoreOptions opt;
  opt.crc32c = true;
  opt.destinations["saves"] = target_ + "/saves";
  Progress p;
  auto r = RestoreFiles(*repo_, t, opt, p);
  ASSERT_TRUE(r.success) << r.report.dump();
  EXPECT_EQ(Read(target_ + "/saves/z/a"), "aaa");
  EXPECT_EQ(Read(target_ + "/saves/b"), "bb");
  ASSERT_EQ(r.crc32c.size(), 4u);
  EXPECT_EQ(r.crc32c[2], Crc32c(0, a.data(), a.size()));
  EXPECT_EQ(r.crc32c[3], Crc32c(0, b.data(), b.size()));
}

// A node beneath a root the tree does not declare is refused like any unsafe path.
TEST_F(RestoreSafety, NodeOutsideEveryRootIsRefused) {
  Tree t;
  t.roots = {{"saves", "/src/saves"}};
  t.nodes = {Dir("saves"), File("saves/ok"), Dir("other"), File("other/evil")};
  auto r = RoundTrip(t);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.report["error"].get<std::string>().find("unsafe path 'other'"), std::string::npos) << r.report.dump();
  EXPECT_FALSE(fs::exists(target_ + "/other"));
  EXPECT_FALSE(fs::exists(target_ + "/saves/ok"));
}

}  // namespace
}  // namespace stb
