#include "repository/tree.h"

#include <gtest/gtest.h>

#include <random>

namespace stb {
namespace {

Tree Sample() {
  Tree t;
  t.roots = {{"saves", "/srv/saves"}, {"saves-2", "/other/saves"}};
  FileNode d;
  d.path = "saves";
  d.type = FileNode::Type::kDir;
  d.mode = 0750;
  d.mtime_ns = -1234567890123;  // before 1970
  FileNode f;
  f.path = std::string("saves/caf\xc3\xa9 \xc0\xaf\xff name.json");  // UTF-8, overlong and invalid bytes
  f.mode = 04755;
  f.uid = 1000;
  f.gid = 2000;
  f.mtime_ns = 1704291930123456789;
  f.size = 1u << 30;
  f.inode = 42;
  f.content.resize(3);
  for (int i = 0; i < 3; ++i) f.content[i].b[0] = static_cast<uint8_t>(i + 1);
  FileNode l;
  l.path = "saves-2/link";
  l.type = FileNode::Type::kSymlink;
  l.target = "../../etc/passwd";
  t.nodes = {d, f, l};
  return t;
}

TEST(Tree, RoundTripKeepsEveryField) {
  Tree t = Sample();
  auto back = ParseTree(SerializeTree(t));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->nodes.size(), 3u);
  EXPECT_EQ(back->roots[1].path, "/other/saves");
  for (size_t i = 0; i < 3; ++i) {
    const auto &a = t.nodes[i], &b = back->nodes[i];
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.mode, b.mode);
    EXPECT_EQ(a.uid, b.uid);
    EXPECT_EQ(a.gid, b.gid);
    EXPECT_EQ(a.mtime_ns, b.mtime_ns);
    EXPECT_EQ(a.size, b.size);
    EXPECT_EQ(a.inode, b.inode);
    EXPECT_EQ(a.content, b.content);
    EXPECT_EQ(a.target, b.target);
  }
}

TEST(Tree, DamagedEncodingsAreErrorsNeverCrashes) {
  Bytes good = SerializeTree(Sample());
  for (size_t cut = 0; cut < good.size(); ++cut) {
    Bytes b(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_FALSE(ParseTree(b).ok()) << "truncated at " << cut;
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 5000; ++i) {
    Bytes b = good;
    b[rng() % b.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
    (void)ParseTree(b);  // any result is fine; a crash or a sanitizer report is not
  }
}

TEST(Tree, SafeRelativePaths) {
  EXPECT_TRUE(IsSafeRelativePath("saves/a/b.json"));
  for (const char* bad : {"", "/abs", "a/../b", "..", "a//b", "a/./b", "a/", "./a"}) {
    EXPECT_FALSE(IsSafeRelativePath(bad)) << bad;
  }
  EXPECT_FALSE(IsSafeRelativePath(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace stb
