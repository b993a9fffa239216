#include "replication/replicate.h"

#include <gtest/gtest.h>

#include <mutex>

#include "crypto/crypto.h"
#include "fault_storage.h"
#include "repo_fixture.h"

namespace stb {
namespace {

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A name the way the repository makes them: folder/sha256-of-content.
std::string Hashed(const std::string& folder, const Bytes& b) {
  std::string h = Sha256(b).Hex();
  return folder == "data" ? "data/" + h.substr(0, 2) + "/" + h : folder + "/" + h;
}

// Fails a Put of config before the keys, or of a snapshot while some pack or index the source has is not in the target
// yet.
class OrderCheckingStorage final : public Storage {
 public:
  OrderCheckingStorage(Storage& inner, Storage& source) : inner_(inner), source_(source) {}
  std::string Describe() const override { return "order-checking"; }
  StorageCaps Caps() const override { return inner_.Caps(); }
  Status Put(const std::string& name, const uint8_t* d, size_t n, PutMode m) override {
    // config needs a key to be usable; a snapshot needs everything it may reference.
    if (name.starts_with("snapshots/") || name == "config") {
      for (const char* folder : {"data/", "index/", "keys/"}) {
        if (name == "config" && std::string(folder) != "keys/") continue;
        auto want = source_.List(folder);
        for (const auto& o : *want) {
          if (!inner_.Stat(o.name).ok()) return Internal(name + " written before " + o.name);
        }
      }
    }
    return inner_.Put(name, d, n, m);
  }
  StatusOr<Bytes> Get(const std::string& n, uint64_t o, uint64_t l) override { return inner_.Get(n, o, l); }
  StatusOr<uint64_t> Stat(const std::string& n) override { return inner_.Stat(n); }
  StatusOr<std::vector<ObjectInfo>> List(const std::string& p) override { return inner_.List(p); }
  Status Remove(const std::string& n) override { return inner_.Remove(n); }

 private:
  Storage& inner_;
  Storage& source_;
};

class ReplicateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = NewMemStorage();
    dst_ = NewMemStorage();
    Put(*src_, "config", B(R"({"id": "config-1"})"));
    Put(*src_, "keys/k1", B(R"({"key": "one"})"));
    Put(*src_, "ids/i1", B("id"));
    Put(*src_, "locks/l1", B("a lock"));
    for (int i = 0; i < 20; ++i) AddHashed(*src_, "data", B("pack " + std::to_string(i)));
    AddHashed(*src_, "index", B("index 1"));
    AddHashed(*src_, "snapshots", B("snapshot 1"));
  }
  static void Put(Storage& s, const std::string& n, const Bytes& b) { ASSERT_TRUE(s.Put(n, b).ok()); }
  static std::string AddHashed(Storage& s, const std::string& folder, const Bytes& b) {
    std::string n = Hashed(folder, b);
    EXPECT_TRUE(s.Put(n, b).ok());
    return n;
  }
  static size_t Count(Storage& s, const std::string& prefix) { return s.List(prefix)->size(); }

  std::unique_ptr<Storage> src_, dst_;
};

TEST_F(ReplicateTest, CopiesEverythingButLocksInAConsistentOrder) {
  OrderCheckingStorage checked(*dst_, *src_);
  auto st = Replicate(*src_, checked, {.jobs = 4});
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->objects_copied, 25u);  // config, key, id, 20 packs, index, snapshot
  EXPECT_EQ(*dst_->Get("config"), B(R"({"id": "config-1"})"));
  EXPECT_EQ(Count(*dst_, "data/"), 20u);
  EXPECT_EQ(Count(*dst_, "locks/"), 0u);
  // A second run finds everything in place.
  auto again = Replicate(*src_, *dst_, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->objects_copied, 0u);
  EXPECT_EQ(again->objects_present, 24u);
}

TEST_F(ReplicateTest, CopiesOnlyWhatTheTargetLacks) {
  ASSERT_TRUE(Replicate(*src_, *dst_, {}).ok());
  std::string added = AddHashed(*src_, "data", B("a new pack"));
  AddHashed(*src_, "snapshots", B("snapshot 2"));
  auto st = Replicate(*src_, *dst_, {});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->objects_copied, 2u);
  EXPECT_TRUE(dst_->Stat(added).ok());
}

TEST_F(ReplicateTest, CorruptSourceObjectIsReportedNotSpread) {
  std::string bad = "data/00/" + std::string(64, '0');
  Put(*src_, bad, B("not what the name says"));
  auto st = Replicate(*src_, *dst_, {.jobs = 1});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), Code::kCorrupt);
  EXPECT_NE(st.status().message().find(bad), std::string::npos);
  EXPECT_FALSE(dst_->Stat(bad).ok());
  EXPECT_EQ(Count(*dst_, "snapshots/"), 0u);  // stopped before any snapshot
}

TEST_F(ReplicateTest, RefusesAnotherRepository) {
  Put(*dst_, "config", B(R"({"id": "config-2"})"));
  auto st = Replicate(*src_, *dst_, {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("another repository"), std::string::npos);
  EXPECT_EQ(Count(*dst_, "data/"), 0u);
}

TEST_F(ReplicateTest, SourceWithoutRepositoryIsNotFound) {
  auto empty = NewMemStorage();
  auto st = Replicate(*empty, *dst_, {});
  EXPECT_EQ(st.status().code(), Code::kNotFound);
}

TEST_F(ReplicateTest, MirrorDeletionsRemoveWhatTheSourceDropped) {
  ASSERT_TRUE(Replicate(*src_, *dst_, {}).ok());
  auto packs = src_->List("data/");
  ASSERT_TRUE(src_->Remove((*packs)[0].name).ok());
  ASSERT_TRUE(src_->Remove("keys/k1").ok());
  Put(*src_, "keys/k2", B(R"({"key": "two"})"));
  // Without mirroring nothing is deleted.
  ASSERT_TRUE(Replicate(*src_, *dst_, {}).ok());
  EXPECT_TRUE(dst_->Stat((*packs)[0].name).ok());
  auto st = Replicate(*src_, *dst_, {.mirror_deletions = true});
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->objects_deleted, 2u);
  EXPECT_FALSE(dst_->Stat((*packs)[0].name).ok());
  EXPECT_FALSE(dst_->Stat("keys/k1").ok());  // a removed key no longer opens the copy
  EXPECT_TRUE(dst_->Stat("keys/k2").ok());
}

TEST_F(ReplicateTest, MirrorDeletionsNeverEmptyTheCopyFromAWipedSource) {
  ASSERT_TRUE(Replicate(*src_, *dst_, {}).ok());
  auto packs = src_->List("data/");
  for (const auto& o : *packs) ASSERT_TRUE(src_->Remove(o.name).ok());
  auto st = Replicate(*src_, *dst_, {.mirror_deletions = true});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(Count(*dst_, "data/"), 20u);
}

TEST_F(ReplicateTest, StopFlagEndsTheCopy) {
  StopToken stop;
  stop.Stop();
  auto st = Replicate(*src_, *dst_, {.stop = &stop});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(Count(*dst_, "snapshots/"), 0u);
}

TEST_F(ReplicateTest, MirrorDeletionsRefusedWhenTheSourceHasFewerSnapshots) {
  AddHashed(*src_, "snapshots", B("snapshot 2"));
  ASSERT_TRUE(Replicate(*src_, *dst_, {}).ok());
  ASSERT_TRUE(src_->Remove((*src_->List("snapshots/"))[0].name).ok());  // a rollback
  auto st = Replicate(*src_, *dst_, {.mirror_deletions = true});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("fewer than"), std::string::npos) << st.status().message();
  EXPECT_EQ(Count(*dst_, "snapshots/"), 2u);
  EXPECT_EQ(Count(*dst_, "data/"), 20u);
  auto forced = Replicate(*src_, *dst_, {.mirror_deletions = true, .force = true});
  ASSERT_TRUE(forced.ok()) << forced.status().message();
  EXPECT_EQ(Count(*dst_, "snapshots/"), 1u);
}

// The copies made after a backup, over a real repository: a local snapshot deleted by mistake
// (a rollback, a partial restore) stays in the copy after the next backup's replication.
size_t Count(Storage& s, const std::string& prefix) { return s.List(prefix)->size(); }

class RepoReplicateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local_ = NewMemStorage();
    cloud_ = NewMemStorage();
    ASSERT_TRUE(Repository::Init(*local_, FixtureKey()).ok());
    auto r = Repository::Open(local_, FixtureKey());
    ASSERT_TRUE(r.ok());
    repo_ = std::move(*r);
  }
  std::shared_ptr<Storage> local_, cloud_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(RepoReplicateTest, BackupAfterALocalRollbackLeavesTheCloudCopy) {
  ASSERT_TRUE(MiniBackup(*repo_, {TestBlob(1), TestBlob(2)}, 1704291930).ok());
  ASSERT_TRUE(Replicate(*local_, *cloud_, AutomaticCopyOptions(4)).ok());
  ASSERT_TRUE(MiniBackup(*repo_, {TestBlob(3)}, 1704291990).ok());
  ASSERT_TRUE(Replicate(*local_, *cloud_, AutomaticCopyOptions(4)).ok());
  ASSERT_EQ(Count(*cloud_, "snapshots/"), 2u);
  // The local repository is rolled back: its first snapshot and that snapshot's packs are gone.
  auto snaps = ListSnapshots(*repo_, nullptr);
  ASSERT_TRUE(local_->Remove(snaps->front().object).ok());
  size_t cloud_packs = Count(*cloud_, "data/");
  ASSERT_TRUE(MiniBackup(*repo_, {TestBlob(4)}, 1704292050).ok());
  auto st = Replicate(*local_, *cloud_, AutomaticCopyOptions(4));
  ASSERT_TRUE(st.ok()) << st.status().message();
  EXPECT_EQ(st->objects_deleted, 0u);
  EXPECT_EQ(Count(*cloud_, "snapshots/"), 3u);
  EXPECT_GE(Count(*cloud_, "data/"), cloud_packs);
  EXPECT_EQ(ExpectRepositoryIntact(cloud_, "cloud after the rollback"), 3u);
  EXPECT_EQ(ExpectRepositoryIntact(local_, "local after the rollback"), 2u);
}

// Replication to a copy "crashes" at every write in turn: the copy is a valid repository
// whenever it has a config, every snapshot in it reads back, and the next run completes.
TEST_F(RepoReplicateTest, ReplicateCutOffAtEveryWrite) {
  ASSERT_TRUE(MiniBackup(*repo_, {TestBlob(1), TestBlob(2, 300000)}, 1704291930).ok());
  ASSERT_TRUE(MiniBackup(*repo_, {TestBlob(3), TestBlob(2, 300000)}, 1704291990).ok());
  for (uint64_t n = 0;; ++n) {
    std::shared_ptr<Storage> cloud = NewMemStorage();
    FaultStorage fault(cloud);
    fault.Arm(FaultMode::kCrash, n);
    auto st = Replicate(*local_, fault, {.jobs = 1});
    std::string when = "replicate crashed at write " + std::to_string(n);
    if (!fault.fired()) {
      ASSERT_TRUE(st.ok()) << st.status().message();
      EXPECT_EQ(ExpectRepositoryIntact(cloud, "uninterrupted replicate"), 2u);
      break;
    }
    ASSERT_FALSE(st.ok()) << when;
    if (cloud->Stat("config").ok()) ExpectRepositoryIntact(cloud, when);
    ASSERT_TRUE(Replicate(*local_, *cloud, {}).ok()) << when;
    EXPECT_EQ(ExpectRepositoryIntact(cloud, when + ", then the next run"), 2u) << when;
  }
}

// Reads of the source cut short, one at a time: nothing damaged reaches the copy.
TEST_F(RepoReplicateTest, SourceReadsCutShortAreNeverSpread) {
  ASSERT_TRUE(MiniBackup(*repo_, {TestBlob(1), TestBlob(2, 300000)}, 1704291930).ok());
  auto source = std::make_shared<FaultStorage>(local_);
  for (uint64_t n = 0;; ++n) {
    std::shared_ptr<Storage> cloud = NewMemStorage();
    source->Arm(FaultMode::kCutShort, n, /*writes_only=*/false);
    auto st = Replicate(*source, *cloud, {.jobs = 1});
    if (!source->fired()) break;
    std::string when = "source read " + std::to_string(n) + " cut short";
    if (cloud->Stat("config").ok()) ExpectRepositoryIntact(cloud, when);
    source->Arm(FaultMode::kNone, 0);
    ASSERT_TRUE(Replicate(*source, *cloud, {}).ok()) << when;
    EXPECT_EQ(ExpectRepositoryIntact(cloud, when + ", then the next run"), 1u) << when;
  }
}

// A backup on the source while replication runs (both hold shared locks): whatever the moment,
// the copy never gets a snapshot without the packs and index it needs.
TEST_F(RepoReplicateTest, BackupDuringReplicationNeverCopiesASnapshotWithoutItsData) {
  ASSERT_TRUE(MiniBackup(*repo_, {TestBlob(1)}, 1704291930).ok());
  for (const char* when : {"keys/", "ids/", "data/", "index/", "snapshots/"}) {
    std::shared_ptr<Storage> cloud = NewMemStorage();
    FaultStorage source(local_);
    bool done = false;
    int64_t t = 1704292000 + 60 * static_cast<int64_t>(Count(*local_, "snapshots/"));
    source.SetHook([&](FaultOp op, const std::string& name) {
      if (op == FaultOp::kList && name == when && !done) {
        done = true;
        EXPECT_TRUE(MiniBackup(*repo_, {TestBlob(static_cast<int>(t))}, t).ok());
      }
      return Status::Ok();
    });
    auto st = Replicate(source, *cloud, {.jobs = 2});
    ASSERT_TRUE(done);
    ASSERT_TRUE(st.ok()) << st.status().message();
    ExpectRepositoryIntact(cloud, std::string("backup while replication listed ") + when);
  }
}

}  // namespace
}  // namespace stb
