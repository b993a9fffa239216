// Path selection and diffs over backup entries: the rules `ls`, `find`, `diff` and
// `restore --include/--exclude` rely on.
#include "browse/browse.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "repository/blob_saver.h"
#include "test_key.h"

namespace stb {
namespace {

TEST(Browse, IsUnderMatchesWholeElementsOnly) {
  EXPECT_TRUE(IsUnder("player_saves/saves/00/a.json", "player_saves/saves/00"));
  EXPECT_TRUE(IsUnder("player_saves/saves/00", "player_saves/saves/00"));
  EXPECT_FALSE(IsUnder("player_saves/saves/001/a.json", "player_saves/saves/00"));
  EXPECT_TRUE(IsUnder("anything", ""));
}

TEST(Browse, GlobsMatchTheNameOrWithASlashThePath) {
  EXPECT_TRUE(GlobMatches("player_4*.json", "player_saves/saves/04/player_42.json"));
  EXPECT_FALSE(GlobMatches("04", "player_saves/saves/04/player_42.json"));
  EXPECT_TRUE(GlobMatches("player_saves/*/04/*", "player_saves/saves/04/player_42.json"));
  EXPECT_FALSE(GlobMatches("player_saves/*", "player_saves/saves/04/player_42.json"));  // '*' stops at '/'
}

Tree SampleTree() {
  Tree t;
  t.roots = {{"saves", "/srv/saves"}};
  auto add = [&](const std::string& p, FileNode::Type type) {
    FileNode n;
    n.path = p;
    n.type = type;
    t.nodes.push_back(n);
  };
  add("saves", FileNode::Type::kDir);
  add("saves/03", FileNode::Type::kDir);
  add("saves/03/player_3.json", FileNode::Type::kFile);
  add("saves/03/player_33.json", FileNode::Type::kFile);
  add("saves/04", FileNode::Type::kDir);
  add("saves/04/player_4.json", FileNode::Type::kFile);
  return t;
}

std::vector<std::string> Paths(const Tree& t) {
  std::vector<std::string> out;
  for (const auto& n : t.nodes) out.push_back(n.path);
  return out;
}

TEST(Browse, SelectNodesKeepsTheParentsOfWhatIsIncluded) {
  Tree t = SelectNodes(SampleTree(), "player_saves", {"player_saves/saves/03/player_3.json"}, {});
  EXPECT_EQ(Paths(t), (std::vector<std::string>{"saves", "saves/03", "saves/03/player_3.json"}));
}

TEST(Browse, SelectNodesTakesWholeFoldersAndExcludes) {
  Tree t = SelectNodes(SampleTree(), "player_saves", {"player_saves/saves/03"}, {"player_33.json"});
  EXPECT_EQ(Paths(t), (std::vector<std::string>{"saves", "saves/03", "saves/03/player_3.json"}));
  t = SelectNodes(SampleTree(), "player_saves", {}, {"player_saves/saves/03"});
  EXPECT_EQ(Paths(t), (std::vector<std::string>{"saves", "saves/04", "saves/04/player_4.json"}));
}

// Streamed: a directory is passed on only when something wanted beneath it arrives, and the
// selector reads no further ahead than that node.
TEST(Browse, NodeSelectorHoldsDirectoriesUntilSomethingBelowIsWanted) {
  Tree tree = SampleTree();
  size_t read = 0;
  NodeSelector sel(
      [&](FileNode& n) -> StatusOr<bool> {
        if (read >= tree.nodes.size()) return false;
        n = tree.nodes[read++];
        return true;
      },
      "player_saves", {"player_3.json"}, {});
  std::vector<std::pair<std::string, size_t>> got;  // each node passed on, and how many were read by then
  for (FileNode n;;) {
    auto more = sel.Next(n);
    ASSERT_TRUE(more.ok());
    if (!*more) break;
    got.emplace_back(n.path, read);
  }
  EXPECT_EQ(
      got, (std::vector<std::pair<std::string, size_t>>{{"saves", 3}, {"saves/03", 3}, {"saves/03/player_3.json", 3}}));
}

// Entries from a list, as a tree cursor would give them.
class ListStream final : public EntryStream {
 public:
  explicit ListStream(std::vector<BackupEntry> list) : list_(std::move(list)) {}
  StatusOr<bool> Next(BackupEntry& e) override {
    if (next_ == list_.size()) return false;
    e = list_[next_++];
    return true;
  }

 private:
  std::vector<BackupEntry> list_;
  size_t next_ = 0;
};

BackupEntry MakeEntry(const std::string& p, uint8_t content, int64_t mtime,
                      FileNode::Type type = FileNode::Type::kFile) {
  BackupEntry e;
  e.path = p;
  e.type = type;
  e.mtime_ns = mtime;
  Id id;
  id.b[0] = content;
  e.content = {id};
  return e;
}

StatusOr<std::string> Diff(std::vector<BackupEntry> a, std::vector<BackupEntry> b) {
  ListStream before(std::move(a)), after(std::move(b));
  std::string got;
  RETURN_IF_ERROR(DiffStreams(before, after, [&](const EntryChange& c) {
    got += std::string(1, c.kind) + c.path + " ";
    return Status::Ok();
  }));
  return got;
}

TEST(Browse, DiffNamesEveryKindOfChange) {
  auto got = Diff({MakeEntry("c/edit", 3, 1), MakeEntry("c/gone", 2, 1), MakeEntry("c/kind", 5, 1),
                   MakeEntry("c/same", 1, 1), MakeEntry("c/touch", 4, 1)},
                  {MakeEntry("c/edit", 9, 1), MakeEntry("c/kind", 5, 1, FileNode::Type::kSymlink),
                   MakeEntry("c/new", 6, 1), MakeEntry("c/same", 1, 1), MakeEntry("c/touch", 4, 2)});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "Mc/edit -c/gone Tc/kind +c/new mc/touch ");
}

// The merge follows tree order, where a directory's contents come before a sibling named with a
// byte below '/' ("d/x" before "d.bak"): a byte-order merge would call both sides' entries new.
TEST(Browse, DiffMergesInTreeOrder) {
  auto got = Diff({MakeEntry("c/d", 0, 1, FileNode::Type::kDir), MakeEntry("c/d/x", 1, 1), MakeEntry("c/d.bak", 2, 1)},
                  {MakeEntry("c/d", 0, 1, FileNode::Type::kDir), MakeEntry("c/d/x", 1, 1), MakeEntry("c/d/y", 3, 1),
                   MakeEntry("c/d.bak", 2, 1)});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, "+c/d/y ");
}

TEST(Browse, DiffRefusesEntriesOutOfTreeOrder) {
  auto got = Diff({MakeEntry("c/b", 1, 1), MakeEntry("c/a", 1, 1)}, {MakeEntry("c/a", 1, 1), MakeEntry("c/b", 1, 1)});
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("not in tree order"), std::string::npos) << got.status().message();
  got = Diff({MakeEntry("c/a", 1, 1)}, {MakeEntry("c/a.c", 1, 1), MakeEntry("c/a/b", 1, 1)});
  EXPECT_FALSE(got.ok());
}

// A snapshot document of a file component whose roots are stored in configuration order (not
// by name), a redis component (dump.rdb and an AOF tree) and a CockroachDB one, in a real
// repository; `sorted_roots` stores the same files with the roots by name.
class StoredSnapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = NewMemStorage();
    KeySource k = TestKey(3, "browse-test-key");
    ASSERT_TRUE(Repository::Init(*storage_, k).ok());
    repo_ = std::move(Repository::Open(storage_, k).value());
  }

  nlohmann::json Store(const Tree& t) {
    BlobSaver saver(*repo_, 1);
    auto ids = SaveTree(*repo_, saver, t);
    EXPECT_TRUE(ids.ok() && saver.Finish().ok() && repo_->LoadIndex().ok());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& id : *ids) list.push_back(id.Hex());
    return {{"tree", list}};
  }

  static Tree Files(bool sorted_roots) {
    Tree t;
    auto add = [&](const std::string& p, FileNode::Type type = FileNode::Type::kFile) {
      FileNode n;
      n.path = p;
      n.type = type;
      t.nodes.push_back(n);
    };
    auto saves = [&] {
      t.roots.push_back({"saves", "/a/saves"});
      add("saves", FileNode::Type::kDir);
      add("saves/x", FileNode::Type::kDir);
      add("saves/x/1");
      add("saves/x.z");
    };
    auto game = [&] {
      t.roots.push_back({"game", "/b/game"});
      add("game", FileNode::Type::kDir);
      add("game/conf");
    };
    if (sorted_roots) {
      game();
      saves();
    } else {
      saves();
      game();
    }
    return t;
  }

  nlohmann::json Doc(bool sorted_roots) {
    Tree aof;
    aof.roots = {{"appendonlydir", "/var/lib/redis/appendonlydir"}};
    FileNode d;
    d.path = "appendonlydir";
    d.type = FileNode::Type::kDir;
    FileNode f;
    f.path = "appendonlydir/a.aof";
    aof.nodes = {d, f};
    nlohmann::json files = Store(Files(sorted_roots));
    files["kind"] = "files";
    nlohmann::json redis = {
        {"kind", "redis"}, {"blobs", nlohmann::json::array()}, {"size_bytes", 0u}, {"aof", Store(aof)}};
    return {{"time_unix", 1.0},
            {"components", {{"player_saves", files}, {"redis", redis}, {"crdb", {{"kind", "cockroachdb"}}}}}};
  }

  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(StoredSnapshot, EntriesComeInStoredOrderOrInTreeOrder) {
  nlohmann::json doc = Doc(false);
  std::vector<std::string> stored;
  Status st = VisitSnapshotEntries(*repo_, doc, "", [&](const BackupEntry& e) -> StatusOr<bool> {
    stored.push_back(e.path);
    return true;
  });
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(stored, (std::vector<std::string>{"player_saves/saves", "player_saves/saves/x", "player_saves/saves/x/1",
                                              "player_saves/saves/x.z", "player_saves/game", "player_saves/game/conf",
                                              "redis/dump.rdb", "redis/appendonlydir", "redis/appendonlydir/a.aof"}));
  std::vector<std::string> first_two;
  ASSERT_TRUE(VisitSnapshotEntries(*repo_, doc, "player_saves", [&](const BackupEntry& e) -> StatusOr<bool> {
                first_two.push_back(e.path);
                return first_two.size() < 2;
              }).ok());
  EXPECT_EQ(first_two.size(), 2u);

  auto stream = TreeOrderEntries(*repo_, doc);
  std::vector<std::string> ordered;
  BackupEntry e;
  for (;;) {
    auto more = stream->Next(e);
    ASSERT_TRUE(more.ok()) << more.status().message();
    if (!*more) break;
    ordered.push_back(e.path);
  }
  EXPECT_EQ(ordered,
            (std::vector<std::string>{"player_saves/game", "player_saves/game/conf", "player_saves/saves",
                                      "player_saves/saves/x", "player_saves/saves/x/1", "player_saves/saves/x.z",
                                      "redis/appendonlydir", "redis/appendonlydir/a.aof", "redis/dump.rdb"}));
}

// The same files with the roots stored in either order: no change. A file gone from one root is.
TEST_F(StoredSnapshot, DiffOfTheSameFilesIsEmptyWhateverTheRootOrder) {
  nlohmann::json a = Doc(false), b = Doc(true);
  auto from = TreeOrderEntries(*repo_, a), to = TreeOrderEntries(*repo_, b);
  std::string got;
  auto collect = [&](const EntryChange& c) {
    got += std::string(1, c.kind) + c.path + " ";
    return Status::Ok();
  };
  Status st = DiffStreams(*from, *to, collect);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(got, "");
  Tree fewer = Files(true);
  fewer.nodes.erase(fewer.nodes.begin() + 1);  // game/conf
  nlohmann::json c = Doc(true);
  nlohmann::json stored = Store(fewer);
  c["components"]["player_saves"]["tree"] = stored["tree"];
  from = TreeOrderEntries(*repo_, a);
  to = TreeOrderEntries(*repo_, c);
  ASSERT_TRUE(DiffStreams(*from, *to, collect).ok());
  EXPECT_EQ(got, "-player_saves/game/conf ");
}

}  // namespace
}  // namespace stb
