// Runs the conformance suite (test/harness/storage_conformance.cc) against local and mem.
#include <cstdlib>
#include <filesystem>

#include "storage_conformance.h"

namespace stb {
namespace {

std::unique_ptr<Storage> MakeLocal() {
  char tmpl[] = "/tmp/stb-local-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  static std::vector<std::string> dirs;  // removed at exit
  if (dirs.empty())
    std::atexit([] {
      for (auto& d : dirs) std::filesystem::remove_all(d);
    });
  dirs.push_back(dir);
  return OpenLocalStorage(dir, false).value();
}

INSTANTIATE_TEST_SUITE_P(Local, StorageConformance, ::testing::Values(StorageFactory(MakeLocal)));
INSTANTIATE_TEST_SUITE_P(Mem, StorageConformance, ::testing::Values(StorageFactory([] { return NewMemStorage(); })));

}  // namespace
}  // namespace stb
