// BlobSaver under concurrent savers: each fills its own open pack, so these pin down that every
// blob saved by any thread is stored and indexed once Finish returns, on a local directory (the
// buffered pending files) and in memory, and that a pack that failed mid-write fails the session.
#include "repository/blob_saver.h"
#include "test_key.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace stb {
namespace {

// Blob i of thread t: distinct, incompressible, of varying size; every 7th is shared by all threads.
Bytes BlobFor(int t, int i) {
  int owner = i % 7 == 0 ? -1 : t;
  uint64_t seed = static_cast<uint64_t>(owner + 2) * 1000003u + static_cast<uint64_t>(i);
  Bytes b(1000 + (i * 37) % 3000);
  for (auto& c : b) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    c = static_cast<uint8_t>(seed >> 56);
  }
  return b;
}

class BlobSaverConcurrency : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      char tmpl[] = "/tmp/stb-saver-XXXXXX";
      dir_ = mkdtemp(tmpl);
      storage_ = std::shared_ptr<Storage>(OpenLocalStorage(dir_, false).value());
    } else {
      storage_ = NewMemStorage();
    }
    RepoConfig cfg;
    cfg.pack_size = 1 << 20;  // the smallest allowed: many packs fill and rotate while threads save
    ASSERT_TRUE(Repository::Init(*storage_, TestKey(9), cfg).ok());
    repo_ = std::move(Repository::Open(storage_, TestKey(9)).value());
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
};

TEST_P(BlobSaverConcurrency, EveryBlobOfEveryThreadIsIndexedAfterFinish) {
  constexpr int kThreads = 9, kBlobs = 700;  // more threads than open packs: some wait for one
  std::vector<std::vector<Id>> ids(kThreads);
  std::atomic<int> failures{0};
  BlobSaver saver(*repo_, 0);
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kBlobs; ++i) {
          Bytes b = BlobFor(t, i);
          auto id = saver.Save(i % 11 == 0 ? BlobType::kTree : BlobType::kData, b.data(), b.size());
          if (!id.ok()) {
            failures++;
            return;
          }
          ids[t].push_back(*id);
        }
      });
    }
    for (auto& th : threads) th.join();
  }
  ASSERT_EQ(failures, 0);
  Status fin = saver.Finish();
  ASSERT_TRUE(fin.ok()) << fin.message();
  uint64_t shared = (kBlobs + 6) / 7;
  EXPECT_EQ(saver.stats().new_blobs, shared + uint64_t(kThreads) * (kBlobs - shared));

  auto reopened = Repository::Open(storage_, TestKey(9));
  ASSERT_TRUE(reopened.ok());
  auto& repo = **reopened;
  ASSERT_TRUE(repo.LoadIndex().ok());
  EXPECT_EQ(repo.index().size(), saver.stats().new_blobs.load());
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(ids[t].size(), size_t(kBlobs));
    for (int i = 0; i < kBlobs; i += 3) {
      auto got = repo.ReadBlob(ids[t][i]);
      ASSERT_TRUE(got.ok()) << "thread " << t << " blob " << i << ": " << got.status().message();
      EXPECT_EQ(*got, BlobFor(t, i));
    }
  }
  // Each pack closes at pack_size (plus one blob); at most one per open pack is left smaller.
  auto packs = storage_->List("data/");
  ASSERT_TRUE(packs.ok());
  size_t small = 0;
  for (const auto& p : *packs) {
    EXPECT_LE(p.size, (1u << 20) + 4096u + 64u * 1024u) << p.name;  // one blob and the header over
    small += p.size < (1u << 20);
  }
  EXPECT_GE(packs->size(), 4u);
  EXPECT_LE(small, 4u);  // BlobSaver::kMaxOpenPacks
  if (GetParam()) {      // no temporary file is left behind
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir_)) {
      EXPECT_EQ(e.path().filename().string().rfind(".tmp-", 0), std::string::npos) << e.path();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Storages, BlobSaverConcurrency, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Local" : "Mem"; });

// A location whose pending objects fail to append after a given number of bytes in total.
class AppendFailStorage final : public Storage {
 public:
  AppendFailStorage(std::shared_ptr<Storage> inner, uint64_t fail_after)
      : inner_(std::move(inner)), left_(fail_after) {}
  std::string Describe() const override { return "append-fail"; }
  StorageCaps Caps() const override { return inner_->Caps(); }
  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    return inner_->Put(name, data, n, mode);
  }
  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    return inner_->Get(name, offset, length);
  }
  StatusOr<uint64_t> Stat(const std::string& name) override { return inner_->Stat(name); }
  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override { return inner_->List(prefix); }
  Status Remove(const std::string& name) override { return inner_->Remove(name); }
  void Heal() { left_ = INT64_MAX / 2; }  // the fault passes (space freed, say)
  StatusOr<std::unique_ptr<PendingObject>> CreatePending() override {
    ASSIGN_OR_RETURN(auto p, inner_->CreatePending());
    return std::unique_ptr<PendingObject>(new Pending(std::move(p), left_));
  }

 private:
  class Pending final : public PendingObject {
   public:
    Pending(std::unique_ptr<PendingObject> inner, std::atomic<int64_t>& left) : inner_(std::move(inner)), left_(left) {}
    Status Append(const uint8_t* data, size_t n) override {
      if (left_.fetch_sub(static_cast<int64_t>(n)) < static_cast<int64_t>(n)) return Unavailable("disk gone");
      return inner_->Append(data, n);
    }
    uint64_t size() const override { return inner_->size(); }
    Status Commit(const std::string& name) override { return inner_->Commit(name); }

   private:
    std::unique_ptr<PendingObject> inner_;
    std::atomic<int64_t>& left_;
  };
  std::shared_ptr<Storage> inner_;
  std::atomic<int64_t> left_;
};

// Other savers were told their blobs in the failed pack are stored: the session must not end well,
// and every later Save fails too, even once the location works again (the pack that failed holds
// part of a blob and must never be committed).
TEST(BlobSaverErrors, AFailedAppendFailsFinishAndLaterSaves) {
  auto mem = std::shared_ptr<Storage>(NewMemStorage());
  ASSERT_TRUE(Repository::Init(*mem, TestKey(9)).ok());
  auto failing = std::make_shared<AppendFailStorage>(mem, 50000);
  auto repo = Repository::Open(failing, TestKey(9));
  ASSERT_TRUE(repo.ok());
  BlobSaver saver(**repo, 0);
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i < 40; ++i) {
        Bytes b = BlobFor(t, i);
        if (!saver.Save(BlobType::kData, b.data(), b.size()).ok()) failed++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(failed, 0);
  failing->Heal();
  Bytes late = BlobFor(5, 1);
  EXPECT_FALSE(saver.Save(BlobType::kData, late.data(), late.size()).ok());
  Status fin = saver.Finish();
  EXPECT_FALSE(fin.ok());
  EXPECT_NE(fin.message().find("disk gone"), std::string::npos) << fin.message();
  EXPECT_TRUE(mem->List("index/").value().empty());  // nothing claims the lost blobs are stored
}

}  // namespace
}  // namespace stb
