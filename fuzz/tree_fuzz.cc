// Tree blobs (file component metadata) as read back from a repository.
#include <cstddef>
#include <cstdint>

#include "repository/tree.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tree = stb::ParseTree(stb::Bytes(data, data + size));
  if (tree.ok()) {
    for (const auto& n : tree->nodes) (void)stb::IsSafeRelativePath(n.path);
    (void)stb::SerializeTree(*tree);
  }
  return 0;
}
