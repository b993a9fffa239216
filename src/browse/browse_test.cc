// Path selection and diffs over backup entries: the rules `ls`, `find`, `diff` and
// `restore --include/--exclude` rely on.
#include "browse/browse.h"

#include <gtest/gtest.h>

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

TEST(Browse, DiffNamesEveryKindOfChange) {
  auto entry = [](const std::string& p, uint8_t content, int64_t mtime, FileNode::Type type = FileNode::Type::kFile) {
    BackupEntry e;
    e.path = p;
    e.type = type;
    e.mtime_ns = mtime;
    Id id;
    id.b[0] = content;
    e.content = {id};
    return e;
  };
  std::vector<BackupEntry> a = {entry("c/same", 1, 1), entry("c/gone", 2, 1), entry("c/edit", 3, 1),
                                entry("c/touch", 4, 1), entry("c/kind", 5, 1)};
  std::vector<BackupEntry> b = {entry("c/same", 1, 1), entry("c/edit", 9, 1), entry("c/touch", 4, 2),
                                entry("c/kind", 5, 1, FileNode::Type::kSymlink), entry("c/new", 6, 1)};
  std::string got;
  for (const auto& c : DiffEntries(a, b)) got += std::string(1, c.kind) + c.path + " ";
  EXPECT_EQ(got, "Mc/edit -c/gone Tc/kind +c/new mc/touch ");
}

}  // namespace
}  // namespace stb
