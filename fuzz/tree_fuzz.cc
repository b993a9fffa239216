// Tree blobs (file component metadata) as read back from a repository: whole (ParseTree) and node
// by node (TreeCursor, as check, prune, browse and restore read them), and a parsed tree written
// again must read back as the same nodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "repository/tree.h"

namespace {

bool SameNode(const stb::FileNode& a, const stb::FileNode& b) {
  return a.path == b.path && a.type == b.type && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid &&
         a.mtime_ns == b.mtime_ns && a.size == b.size && a.inode == b.inode && a.target == b.target &&
         a.content == b.content;
}

bool SameTree(const stb::Tree& a, const stb::Tree& b) {
  if (a.roots.size() != b.roots.size() || a.nodes.size() != b.nodes.size()) return false;
  for (size_t i = 0; i < a.roots.size(); ++i) {
    if (a.roots[i].name != b.roots[i].name || a.roots[i].path != b.roots[i].path) return false;
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    if (!SameNode(a.nodes[i], b.nodes[i])) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stb::Bytes bytes(data, data + size);
  auto tree = stb::ParseTree(bytes);

  // Node by node: the same verdict and the same nodes as the whole parse.
  bool cursor_ok = false;
  size_t count = 0;
  auto cursor = stb::TreeCursor::FromBytes(bytes);
  if (cursor.ok()) {
    stb::FileNode n;
    for (;;) {
      auto more = (*cursor)->Next(n);
      if (!more.ok()) break;
      if (!*more) {
        cursor_ok = true;
        break;
      }
      if (tree.ok() && (count >= tree->nodes.size() || !SameNode(n, tree->nodes[count]))) abort();
      ++count;
      (void)stb::IsSafeRelativePath(n.path);
    }
  }
  if (cursor_ok != tree.ok()) abort();
  if (!tree.ok()) return 0;
  if (count != tree->nodes.size()) abort();

  // Written again (version 2), it reads back the same.
  auto again = stb::ParseTree(stb::SerializeTree(*tree));
  if (!again.ok() || !SameTree(*tree, *again)) abort();
  return 0;
}
