#include "repository/tree.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string_view>

#include "repository/blob_saver.h"
#include "repository/repository.h"
#include "test_key.h"

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

// Every node of a cursor, or its first error.
StatusOr<std::vector<FileNode>> Drain(TreeCursor& c) {
  std::vector<FileNode> out;
  FileNode n;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, c.Next(n));
    if (!more) return out;
    out.push_back(n);
  }
}

void ExpectSameNode(const FileNode& a, const FileNode& b) {
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

// A version 1 encoding as trees were stored before issue 17, written byte by byte after
// doc/design.md ("Tree"): the node count up front, no end marker. Its nodes number `count`.
Bytes V1Encoding(uint8_t count) {
  Bytes b = {'S', 'T', 'B', 'T', 1, 1};  // magic, version 1, one root
  auto str = [&](std::string_view s) {
    b.push_back(static_cast<uint8_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
  };
  str("r");
  str("/src/r");
  b.push_back(count);
  // directory "r", mode 0755 (varint 0xed 0x03), uid 0, gid 0, mtime 5
  b.insert(b.end(), {0, 0});
  str("r");
  b.insert(b.end(), {0xed, 0x03, 0, 0, 5});
  // file "r/a": shares "r" with "r", mode 0644 (0xa4 0x03), uid 1000 (0xe8 0x07), gid 7, mtime 300
  // (0xac 0x02), size 3, inode 9, one blob id of 32 bytes 0xab
  b.insert(b.end(), {1, 1});
  str("/a");
  b.insert(b.end(), {0xa4, 0x03, 0xe8, 0x07, 7, 0xac, 0x02, 3, 9, 1});
  b.insert(b.end(), 32, 0xab);
  // symlink "r/l" -> "a": shares "r/" with "r/a"
  b.insert(b.end(), {2, 2});
  str("l");
  b.insert(b.end(), {0xff, 0x03, 0, 0, 0});
  str("a");
  return b;
}

TEST(Tree, Version1EncodingStillReads) {
  auto c = TreeCursor::FromBytes(V1Encoding(3));
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ((*c)->roots().size(), 1u);
  EXPECT_EQ((*c)->roots()[0].path, "/src/r");
  auto nodes = Drain(**c);
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  ASSERT_EQ(nodes->size(), 3u);
  const auto& d = (*nodes)[0];
  EXPECT_EQ(d.path, "r");
  EXPECT_EQ(d.type, FileNode::Type::kDir);
  EXPECT_EQ(d.mode, 0755u);
  EXPECT_EQ(d.mtime_ns, 5);
  const auto& f = (*nodes)[1];
  EXPECT_EQ(f.path, "r/a");
  EXPECT_EQ(f.type, FileNode::Type::kFile);
  EXPECT_EQ(f.mode, 0644u);
  EXPECT_EQ(f.uid, 1000u);
  EXPECT_EQ(f.gid, 7u);
  EXPECT_EQ(f.mtime_ns, 300);
  EXPECT_EQ(f.size, 3u);
  EXPECT_EQ(f.inode, 9u);
  ASSERT_EQ(f.content.size(), 1u);
  EXPECT_EQ(f.content[0].b[31], 0xab);
  const auto& l = (*nodes)[2];
  EXPECT_EQ(l.path, "r/l");
  EXPECT_EQ(l.type, FileNode::Type::kSymlink);
  EXPECT_EQ(l.target, "a");
  // The whole-tree parser reads it too, and the count is held to: fewer nodes than counted is
  // truncation, more is trailing bytes.
  auto whole = ParseTree(V1Encoding(3));
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(whole->nodes.size(), 3u);
  EXPECT_FALSE(ParseTree(V1Encoding(4)).ok());
  EXPECT_FALSE(ParseTree(V1Encoding(2)).ok());
}

TEST(Tree, Version2EndsWithTheMarker) {
  Bytes b = SerializeTree(Sample());
  EXPECT_EQ(b[4], 2);
  EXPECT_EQ(b.back(), 0xff);
}

// Each cut of a version 2 encoding, read node by node, ends in an error (never in a tree that
// looks complete); the whole encoding reads.
TEST(Tree, TruncationAtEveryByteIsAnError) {
  Bytes good = SerializeTree(Sample());
  for (size_t cut = 0; cut <= good.size(); ++cut) {
    Bytes b(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut));
    auto c = TreeCursor::FromBytes(b);
    bool ok = c.ok() && Drain(**c).ok();
    EXPECT_EQ(ok, cut == good.size()) << "cut at " << cut << " of " << good.size();
  }
}

TEST(Tree, TrailingBytesAfterTheEndMarkerAreAnError) {
  for (uint8_t extra : {0x00, 0x01, 0xff}) {
    Bytes b = SerializeTree(Sample());
    b.push_back(extra);
    auto c = TreeCursor::FromBytes(b);
    ASSERT_TRUE(c.ok());
    auto nodes = Drain(**c);
    ASSERT_FALSE(nodes.ok()) << "trailing byte " << int(extra);
    EXPECT_NE(nodes.status().message().find("trailing"), std::string::npos) << nodes.status().message();
  }
}

TEST(Tree, TreeOrderPutsADirectoryRightBeforeItsContents) {
  EXPECT_LT(CompareTreePaths("a/b", "a.c"), 0);  // '/' before every other byte, '.' included
  EXPECT_GT(CompareTreePaths("a.c", "a/b"), 0);
  EXPECT_LT(CompareTreePaths("a", "a/b"), 0);  // a directory before its contents
  EXPECT_GT(CompareTreePaths("a/b", "a"), 0);
  EXPECT_LT(CompareTreePaths("a/z", "a-b"), 0);
  EXPECT_LT(CompareTreePaths("a", "a.c"), 0);
  EXPECT_GT(CompareTreePaths("a/\xff", "a/b/c"), 0);  // bytes compare unsigned
  EXPECT_GT(CompareTreePaths("b", "a/b"), 0);
  EXPECT_EQ(CompareTreePaths("a/b", "a/b"), 0);
}

// A repository with a small chunker, so a tree of a few thousand nodes spans many tree blobs.
class StoredTree : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = NewMemStorage();
    KeySource k = TestKey(9, "tree-test-key");
    RepoConfig cfg;
    cfg.chunker = {.min_size = 4 << 10, .avg_size = 8 << 10, .max_size = 16 << 10};
    ASSERT_TRUE(Repository::Init(*storage_, k, cfg).ok());
    auto r = Repository::Open(storage_, k);
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
  }

  // Node i of a tree in tree order: directories d0000.., each with files, a symlink now and then.
  static FileNode Node(int i) {
    FileNode n;
    int dir = i / 50, k = i % 50;
    char name[32];
    std::snprintf(name, sizeof name, "root/d%04d", dir);
    n.path = name;
    n.mtime_ns = 1700000000000000000 + i;
    n.uid = static_cast<uint32_t>(i % 7);
    if (k == 0) {
      n.type = FileNode::Type::kDir;
      n.mode = 0755;
      return n;
    }
    std::snprintf(name, sizeof name, "/player_%06d.json", i);
    n.path += name;
    if (k % 10 == 9) {
      n.type = FileNode::Type::kSymlink;
      n.target = "../d0000/player_000001.json";
      return n;
    }
    n.mode = 0644;
    n.size = static_cast<uint64_t>(i) * 13;
    n.inode = static_cast<uint64_t>(i) + 100;
    n.content.resize(static_cast<size_t>(1 + i % 3));
    for (size_t j = 0; j < n.content.size(); ++j) {
      for (size_t b = 0; b < 32; ++b) n.content[j].b[b] = static_cast<uint8_t>(i * 31 + static_cast<int>(j * 7 + b));
    }
    return n;
  }

  static nlohmann::json Entry(const std::vector<Id>& ids) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& id : ids) list.push_back(id.Hex());
    return {{"kind", "files"}, {"tree", list}};
  }

  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(StoredTree, WriterBlobsReadBackNodeByNode) {
  constexpr int kNodes = 6000;
  BlobSaver saver(*repo_, 1);
  TreeWriter w(*repo_, saver, {{"root", "/srv/root"}});
  for (int i = 0; i < kNodes; ++i) ASSERT_TRUE(w.Add(Node(i)).ok());
  auto ids = w.Finish();
  ASSERT_TRUE(ids.ok()) << ids.status().message();
  ASSERT_TRUE(saver.Finish().ok());
  ASSERT_TRUE(repo_->LoadIndex().ok());
  EXPECT_GE(ids->size(), 10u) << "the tree should span many tree blobs";
  auto c = TreeCursor::Open(*repo_, Entry(*ids));
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ((*c)->roots().size(), 1u);
  EXPECT_EQ((*c)->roots()[0].path, "/srv/root");
  FileNode n;
  int i = 0;
  for (;; ++i) {
    auto more = (*c)->Next(n);
    ASSERT_TRUE(more.ok()) << "node " << i << ": " << more.status().message();
    if (!*more) break;
    ASSERT_LT(i, kNodes);
    ExpectSameNode(n, Node(i));
    if (HasFailure()) FAIL() << "node " << i;
  }
  EXPECT_EQ(i, kNodes);
  auto again = (*c)->Next(n);  // stays at the end
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
}

// The tree ends inside its first blob; a second blob listed after it is trailing data, and a
// list missing its last blob is a truncated tree.
TEST_F(StoredTree, ABlobTooManyOrTooFewIsAnError) {
  BlobSaver saver(*repo_, 1);
  TreeWriter w(*repo_, saver, {{"root", "/srv/root"}});
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(w.Add(Node(i)).ok());
  auto ids = w.Finish();
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids->size(), 2u);
  Bytes extra = {1, 2, 3};
  auto extra_id = saver.Save(BlobType::kTree, extra.data(), extra.size());
  ASSERT_TRUE(extra_id.ok());
  ASSERT_TRUE(saver.Finish().ok());
  ASSERT_TRUE(repo_->LoadIndex().ok());

  auto count = [&](std::vector<Id> list) -> StatusOr<size_t> {
    ASSIGN_OR_RETURN(auto c, TreeCursor::Open(*repo_, Entry(list)));
    ASSIGN_OR_RETURN(auto nodes, Drain(*c));
    return nodes.size();
  };
  auto whole = count(*ids);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(*whole, 3000u);
  std::vector<Id> longer = *ids;
  longer.push_back(*extra_id);
  auto r = count(longer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trailing"), std::string::npos) << r.status().message();
  std::vector<Id> shorter(ids->begin(), ids->end() - 1);
  r = count(shorter);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
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
