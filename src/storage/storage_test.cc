// Runs the conformance suite (test/harness/storage_conformance.cc) against local and mem.
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "core/file_util.h"
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

std::mutex g_synced_mu;
std::set<std::string> g_synced;

// Review finding M7: an object fsynced into a folder the Put created (a new Redis chain or hour
// of segments) is durable only once that folder's entry in its parent is.
TEST(LocalStorage, NewFoldersAreFsyncedInTheirParents) {
  char tmpl[] = "/tmp/stb-fsync-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  auto st = OpenLocalStorage(root, false);
  ASSERT_TRUE(st.ok());
  SetFsyncDirObserverForTest([](const std::string& d) {
    std::lock_guard<std::mutex> g(g_synced_mu);
    g_synced.insert(d);
  });
  Status put = (*st)->Put("redis/s/seg/c/2026112907/obj", Bytes{1, 2, 3}, PutMode::kCreateOnly);
  SetFsyncDirObserverForTest(nullptr);
  ASSERT_TRUE(put.ok()) << put.message();
  for (const char* d : {"", "/redis", "/redis/s", "/redis/s/seg", "/redis/s/seg/c", "/redis/s/seg/c/2026112907"}) {
    EXPECT_TRUE(g_synced.count(root + d)) << root + d << " was not fsynced";
  }
  std::filesystem::remove_all(root);
}

// Review finding 4: a folder left by a crash between its mkdir and its parent's fsync already
// exists at the next Put; its entry is fsynced in its parent all the same.
TEST(LocalStorage, AnExistingFolderIsFsyncedInItsParentToo) {
  char tmpl[] = "/tmp/stb-fsync-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  ASSERT_TRUE(std::filesystem::create_directories(root + "/redis/s"));  // the crash left these
  auto st = OpenLocalStorage(root, false);
  ASSERT_TRUE(st.ok());
  {
    std::lock_guard<std::mutex> g(g_synced_mu);
    g_synced.clear();
  }
  SetFsyncDirObserverForTest([](const std::string& d) {
    std::lock_guard<std::mutex> g(g_synced_mu);
    g_synced.insert(d);
  });
  Status put = (*st)->Put("redis/s/obj", Bytes{1, 2, 3}, PutMode::kCreateOnly);
  SetFsyncDirObserverForTest(nullptr);
  ASSERT_TRUE(put.ok()) << put.message();
  EXPECT_TRUE(g_synced.count(root + "/redis")) << "redis/s's entry was not fsynced";
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace stb
