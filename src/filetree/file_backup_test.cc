// Backup safety: files changed between the walk and the reads. A directory swapped for a symlink
// (to /dev or /etc) is never read through: its files are read from the directory walked, whose
// descriptor the walk holds. A file swapped for a FIFO or a symlink is skipped with a warning
// naming it, and must not hang the backup.
#include "filetree/file_backup.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "filetree/walker.h"
#include "repository/blob_saver.h"

namespace stb {
namespace {

namespace fs = std::filesystem;

// The defect under test is a hang: SIGALRM ends the test binary (a failure) instead.
struct Watchdog {
  explicit Watchdog(unsigned seconds) { ::alarm(seconds); }
  ~Watchdog() { ::alarm(0); }
};

class BackupSwap : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stb-backup-XXXXXX";
    base_ = mkdtemp(tmpl);
    saves_ = base_ + "/saves";
    storage_ = NewMemStorage();
    KeySource k;
    k.secret = Bytes(32, 4);
    ASSERT_TRUE(Repository::Init(*storage_, k).ok());
    repo_ = std::move(Repository::Open(storage_, k).value());
    Write(saves_ + "/ok.json", "{\"ok\": 1}");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void Write(const std::string& path, const std::string& data) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << data;
  }

  // The whole walk first, replayed to the backup later: the files change in between.
  class Replay : public WalkSource {
   public:
    explicit Replay(std::unique_ptr<FsWalk> walk) : walk_(std::move(walk)) {
      FileNode n;
      std::shared_ptr<const WalkDir> d;
      while (walk_->Next(n, d).value()) entries_.emplace_back(n, d);
    }
    const std::vector<TreeRoot>& roots() const override { return walk_->roots(); }
    StatusOr<bool> Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) override {
      if (next_ == entries_.size()) return false;
      std::tie(node, dir) = entries_[next_++];
      return true;
    }
    StatusOr<ReadFn> OpenFile(const WalkDir* dir, FileNode& node, std::string& changed) override {
      return walk_->OpenFile(dir, node, changed);
    }
    std::string AbsPath(const WalkDir* dir, const FileNode& node) const override { return walk_->AbsPath(dir, node); }

   private:
    std::unique_ptr<FsWalk> walk_;
    std::vector<std::pair<FileNode, std::shared_ptr<const WalkDir>>> entries_;
    size_t next_ = 0;
  };

  std::unique_ptr<Replay> Walk() {
    auto w = FsWalk::Open({{"saves", saves_}}, {}, problems_);
    EXPECT_TRUE(w.ok());
    auto r = std::make_unique<Replay>(std::move(*w));
    EXPECT_TRUE(problems_.empty());
    return r;
  }

  // The read stage on a tree walked earlier; returns the report and loads the stored tree.
  nlohmann::json Read(std::unique_ptr<Replay> walked, Tree* stored) {
    Watchdog dog(20);
    BlobSaver saver(*repo_, 1);
    Progress p;
    FileBackupResult r = BackupSource(*repo_, saver, "player_saves", *walked, {}, problems_, p);
    EXPECT_TRUE(saver.Finish().ok());
    EXPECT_TRUE(repo_->LoadIndex().ok());
    auto t = LoadTree(*repo_, r.entry);
    EXPECT_TRUE(t.ok());
    if (t.ok()) *stored = *t;
    return r.report;
  }

  static bool HasWarning(const nlohmann::json& report, const std::string& path) {
    for (const auto& w : report.value("warnings", nlohmann::json::array())) {
      std::string s = w.get<std::string>();
      if (s.find(path) != std::string::npos && s.find("changed during the backup") != std::string::npos) return true;
    }
    return false;
  }
  static const FileNode* Find(const Tree& t, const std::string& path) {
    for (const auto& n : t.nodes) {
      if (n.path == path) return &n;
    }
    return nullptr;
  }

  std::string base_, saves_;
  std::vector<std::string> problems_;
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(BackupSwap, DirectorySwappedForSymlinkToDevIsReadFromTheDirectoryWalked) {
  Write(saves_ + "/d/zero", "small");
  auto walked = Walk();
  fs::rename(saves_ + "/d", base_ + "/d-moved");
  fs::create_directory_symlink("/dev", saves_ + "/d");  // d/zero is now /dev/zero: endless
  Tree stored;
  auto report = Read(std::move(walked), &stored);
  EXPECT_TRUE(report["success"].get<bool>()) << report.dump();
  const FileNode* zero = Find(stored, "saves/d/zero");
  ASSERT_NE(zero, nullptr);
  EXPECT_EQ(zero->size, 5u);  // the file walked, not /dev/zero
  ASSERT_NE(Find(stored, "saves/ok.json"), nullptr);
  EXPECT_EQ(report["file_count"].get<int>(), 2);
}

TEST_F(BackupSwap, DirectorySwappedForSymlinkToEtcStoresNothingFromEtc) {
  Write(saves_ + "/e/hostname", "mine");
  auto walked = Walk();
  fs::rename(saves_ + "/e", base_ + "/e-moved");
  fs::create_directory_symlink("/etc", saves_ + "/e");
  Tree stored;
  auto report = Read(std::move(walked), &stored);
  const FileNode* h = Find(stored, "saves/e/hostname");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->size, 4u) << report.dump();  // "mine", from the directory walked, not /etc
}

TEST_F(BackupSwap, FileSwappedForFifoDoesNotHang) {
  Write(saves_ + "/f", "data");
  auto walked = Walk();
  fs::remove(saves_ + "/f");
  ASSERT_EQ(::mkfifo((saves_ + "/f").c_str(), 0600), 0);
  Tree stored;
  auto report = Read(std::move(walked), &stored);
  EXPECT_TRUE(report["success"].get<bool>()) << report.dump();
  EXPECT_TRUE(HasWarning(report, saves_ + "/f")) << report.dump();
  EXPECT_EQ(Find(stored, "saves/f"), nullptr);
}

TEST_F(BackupSwap, FileSwappedForSymlinkIsNotFollowed) {
  Write(saves_ + "/g", "data");
  auto walked = Walk();
  fs::remove(saves_ + "/g");
  fs::create_symlink("/etc/hostname", saves_ + "/g");
  Tree stored;
  auto report = Read(std::move(walked), &stored);
  EXPECT_TRUE(HasWarning(report, saves_ + "/g")) << report.dump();
  EXPECT_EQ(Find(stored, "saves/g"), nullptr);
}

// A save rewritten by rename (a new inode, still a regular file in the same directory) is read,
// with the metadata of the file read: skipping it would leave the save out of the backup.
TEST_F(BackupSwap, FileReplacedByRenameIsReadWithItsNewMetadata) {
  Write(saves_ + "/h", "old");
  auto walked = Walk();
  Write(saves_ + "/h.tmp", "new content");
  ::chmod((saves_ + "/h.tmp").c_str(), 0640);
  fs::rename(saves_ + "/h.tmp", saves_ + "/h");
  Tree stored;
  auto report = Read(std::move(walked), &stored);
  EXPECT_TRUE(report["success"].get<bool>()) << report.dump();
  EXPECT_FALSE(report.contains("warnings")) << report.dump();
  const FileNode* h = Find(stored, "saves/h");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->size, 11u);
  EXPECT_EQ(h->mode, 0640u);
  struct stat st;
  ASSERT_EQ(::stat((saves_ + "/h").c_str(), &st), 0);
  EXPECT_EQ(h->inode, st.st_ino);
}

TEST_F(BackupSwap, RootSwappedAfterTheWalkIsReadFromTheRootWalked) {
  Write(saves_ + "/x", "data");
  auto walked = Walk();
  fs::rename(saves_, base_ + "/saves-moved");
  fs::create_directory_symlink("/etc", saves_);
  Tree stored;
  auto report = Read(std::move(walked), &stored);
  const FileNode* x = Find(stored, "saves/x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->size, 4u) << report.dump();  // the root walked, never /etc
}

// The streaming pipeline with a window far smaller than the tree, two roots out of byte order and
// names that sort differently as bytes and as paths ("a.b" after "a/..." in tree order): the stored
// tree is the walk, in tree order, and an incremental backup reuses every unchanged file.
TEST_F(BackupSwap, SmallWindowKeepsTreeOrderAndReusesEveryUnchangedFile) {
  std::string other = base_ + "/alpha";
  for (int i = 0; i < 40; ++i) {
    Write(saves_ + "/a/f" + std::to_string(i), "saves " + std::to_string(i));
    Write(other + "/a.b/g" + std::to_string(i), "alpha " + std::to_string(i));
  }
  Write(saves_ + "/a.b", "file beside the directory a");
  Write(other + "/a/x", "x");
  FileBackupOptions opt;
  opt.roots = {{"zeta", saves_}, {"alpha", other}};  // configuration order, not byte order
  opt.window = 3;
  auto run = [&](const nlohmann::json* parent) {
    Watchdog dog(20);
    BlobSaver saver(*repo_, 1);
    Progress p;
    opt.parent = parent;
    FileBackupResult r = BackupFiles(*repo_, saver, "player_saves", opt, p);
    EXPECT_TRUE(saver.Finish().ok());
    EXPECT_TRUE(repo_->LoadIndex().ok());
    EXPECT_TRUE(r.success) << r.report.dump();
    return r;
  };
  FileBackupResult full = run(nullptr);
  EXPECT_EQ(full.report["file_count"].get<int>(), 83);
  EXPECT_EQ(full.report["unchanged_files"].get<int>(), 0);
  auto tree = LoadTree(*repo_, full.entry);
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->nodes.size(), 83u + 5u);  // and the directories zeta, zeta/a, alpha, alpha/a, alpha/a.b
  EXPECT_EQ(tree->nodes[0].path, "zeta");
  for (size_t i = 1; i < tree->nodes.size(); ++i) {
    const std::string &a = tree->nodes[i - 1].path, &b = tree->nodes[i].path;
    bool same_root = a.substr(0, a.find('/')) == b.substr(0, b.find('/'));
    if (same_root) {
      EXPECT_LT(CompareTreePaths(a, b), 0) << a << " then " << b;
    }
  }
  const FileNode* ab = Find(*tree, "zeta/a.b");
  ASSERT_NE(ab, nullptr);
  EXPECT_EQ(ab->size, 27u);

  Write(saves_ + "/a/f7", "changed content");
  FileBackupResult incr = run(&full.entry);
  EXPECT_EQ(incr.report["file_count"].get<int>(), 83);
  EXPECT_EQ(incr.report["unchanged_files"].get<int>(), 82) << incr.report.dump();
  auto again = LoadTree(*repo_, incr.entry);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->nodes.size(), tree->nodes.size());
  for (size_t i = 0; i < tree->nodes.size(); ++i) {
    EXPECT_EQ(again->nodes[i].path, tree->nodes[i].path);
    if (again->nodes[i].path != "zeta/a/f7") {
      EXPECT_EQ(again->nodes[i].content, tree->nodes[i].content);
    }
  }
}

// Jobs go to the workers in batches and a worker wakes this thread only for the item it waits
// for: with any window and any number of workers, every file is read and stored with its content,
// whether the walk ends inside a batch, the window is smaller than a batch, or large files fill a
// batch by bytes. A lost hand-over or wake-up is a hang, ended by the watchdog.
TEST_F(BackupSwap, EveryFileIsStoredWhateverTheWindowAndWorkers) {
  std::map<std::string, std::string> want;
  for (int i = 0; i < 150; ++i) {
    std::string name = "saves/m/f" + std::to_string(1000 + i);
    std::string body = "file " + std::to_string(i) + std::string(static_cast<size_t>(i % 13) * 50, 'x');
    if (i % 40 == 7) body += std::string(700 * 1024, static_cast<char>('a' + i % 26));  // batches by bytes
    Write(saves_ + "/m/f" + std::to_string(1000 + i), body);
    want[name] = body;
  }
  want["saves/ok.json"] = "{\"ok\": 1}";
  for (size_t window : {size_t{1}, size_t{5}, size_t{17}, size_t{4096}}) {
    for (int workers : {1, 3, 8}) {
      SCOPED_TRACE("window " + std::to_string(window) + ", workers " + std::to_string(workers));
      Watchdog dog(20);
      FileBackupOptions opt;
      opt.roots = {{"saves", saves_}};
      opt.window = window;
      opt.workers = workers;
      BlobSaver saver(*repo_, 1);
      Progress p;
      FileBackupResult r = BackupFiles(*repo_, saver, "player_saves", opt, p);
      ASSERT_TRUE(saver.Finish().ok());
      ASSERT_TRUE(r.success) << r.report.dump();
      EXPECT_EQ(r.report["file_count"].get<size_t>(), want.size());
      ASSERT_TRUE(repo_->LoadIndex().ok());
      auto tree = LoadTree(*repo_, r.entry);
      ASSERT_TRUE(tree.ok());
      size_t files = 0;
      for (const auto& n : tree->nodes) {
        if (n.type != FileNode::Type::kFile) continue;
        ++files;
        std::string got;
        for (const auto& id : n.content) {
          auto b = repo_->ReadBlob(id);
          ASSERT_TRUE(b.ok()) << n.path;
          got.append(b->begin(), b->end());
        }
        EXPECT_EQ(got, want[n.path]) << n.path;
      }
      EXPECT_EQ(files, want.size());
    }
  }
}

}  // namespace
}  // namespace stb
