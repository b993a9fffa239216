// Restore safety: a snapshot crafted through the library with escaping paths must be refused,
// and nothing may be written outside the target.
#include "filetree/file_restore.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

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

  // Stores tree and content through the repository, loads it back and restores it.
  FileRestoreResult RoundTrip(Tree tree, const std::string& anchor = "", const std::string& under = "") {
    BlobSaver saver(*repo_, 1);
    Bytes content = ToBytes("pwned");
    Id id = *saver.Save(BlobType::kData, content.data(), content.size());
    for (auto& n : tree.nodes) {
      if (n.type == FileNode::Type::kFile) {
        n.content = {id};
        n.size = content.size();
      }
    }
    auto ids = SaveTree(*repo_, saver, tree);
    EXPECT_TRUE(saver.Finish().ok());
    EXPECT_TRUE(repo_->LoadIndex().ok());
    nlohmann::json entry = {{"tree", nlohmann::json::array()}};
    for (const auto& i : *ids) entry["tree"].push_back(i.Hex());
    auto loaded = LoadTree(*repo_, entry);
    EXPECT_TRUE(loaded.ok());
    FileRestoreOptions opt;
    opt.anchor = anchor;
    for (const auto& r : loaded->roots) opt.destinations[r.name] = target_ + under + "/" + r.name;
    Progress p;
    return RestoreFiles(*repo_, *loaded, opt, p);
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

}  // namespace
}  // namespace stb
