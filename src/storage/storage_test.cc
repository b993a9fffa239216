// Runs the conformance suite (test/harness/storage_conformance.cc) against local and mem.
#include <sys/resource.h>

#include <csignal>
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

// Pending objects gather appends in a buffer: the bytes must come out in order whatever the mix of
// small appends and appends larger than the buffer, and nothing temporary may be left.
TEST(LocalStorage, PendingObjectKeepsEveryAppendInOrder) {
  char tmpl[] = "/tmp/stb-pending-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  auto st = OpenLocalStorage(root, false);
  ASSERT_TRUE(st.ok());
  auto p = (*st)->CreatePending();
  ASSERT_TRUE(p.ok());
  Bytes want;
  auto append = [&](size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7);
    ASSERT_TRUE((*p)->Append(b.data(), b.size()).ok());
    want.insert(want.end(), b.begin(), b.end());
  };
  for (int i = 0; i < 300; ++i) append(4000 + i, static_cast<uint8_t>(i));  // over the buffer
  append(3 << 20, 1);                                                       // larger than it
  append(1, 2);
  append(1 << 20, 3);  // exactly its size
  for (int i = 0; i < 10; ++i) append(100, static_cast<uint8_t>(i));
  EXPECT_EQ((*p)->size(), want.size());
  ASSERT_TRUE((*p)->Commit("data/ab/obj").ok());
  auto got = (*st)->Get("data/ab/obj");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == want);
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos) << e.path();
  }
  std::filesystem::remove_all(root);
}

// A write that fails (here: the file size limit, EFBIG) surfaces from Append or, when the bytes
// were still in the buffer, from Commit, naming the file; nothing is committed.
TEST(LocalStorage, PendingObjectWriteErrorsSurface) {
  char tmpl[] = "/tmp/stb-pending-XXXXXX";
  const std::string root = mkdtemp(tmpl);
  auto st = OpenLocalStorage(root, false);
  ASSERT_TRUE(st.ok());
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = 256 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  Bytes piece(4096, 7);
  {  // all in the buffer: Commit reports it
    auto p = (*st)->CreatePending();
    ASSERT_TRUE(p.ok());
    for (int i = 0; i < 100; ++i) EXPECT_TRUE((*p)->Append(piece.data(), piece.size()).ok());
    Status c = (*p)->Commit("data/ab/small");
    EXPECT_FALSE(c.ok());
    EXPECT_NE(c.message().find(root + "/.tmp-"), std::string::npos) << c.message();
  }
  {  // past the buffer: an Append reports it, and every later call too
    auto p = (*st)->CreatePending();
    ASSERT_TRUE(p.ok());
    Status first;
    for (int i = 0; i < 600 && first.ok(); ++i) first = (*p)->Append(piece.data(), piece.size());
    EXPECT_FALSE(first.ok());
    EXPECT_NE(first.message().find(root + "/.tmp-"), std::string::npos) << first.message();
    EXPECT_FALSE((*p)->Append(piece.data(), piece.size()).ok());
    EXPECT_FALSE((*p)->Commit("data/ab/big").ok());
  }
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, old_handler);
  EXPECT_EQ((*st)->Stat("data/ab/small").status().code(), Code::kNotFound);
  EXPECT_EQ((*st)->Stat("data/ab/big").status().code(), Code::kNotFound);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace stb
