// Prune and backup against each other and against crashes (issue 12): the lock is taken before
// the index is read, and a backup or prune cut off after any write leaves a repository that
// checks clean, whose snapshots all read back, and on which the next run succeeds.
#include "maintenance/prune.h"

#include <gtest/gtest.h>

#include "fault_storage.h"
#include "maintenance/forget.h"
#include "repo_fixture.h"
#include "repository/pack.h"

namespace stb {
namespace {

constexpr int64_t kT0 = 1704291930;

std::shared_ptr<Storage> NewRepo() {
  std::shared_ptr<Storage> s = NewMemStorage();
  EXPECT_TRUE(Repository::Init(*s, FixtureKey()).ok());
  return s;
}

std::unique_ptr<Repository> OpenOn(std::shared_ptr<Storage> s) {
  auto r = Repository::Open(std::move(s), FixtureKey());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(*r) : nullptr;
}

// Forgets every snapshot, then prunes, as `forget --prune` does (under the exclusive lock).
Status ForgetAllAndPrune(Repository& repo) {
  ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(repo, true, std::chrono::seconds(0)));
  ASSIGN_OR_RETURN(auto snaps, repo.storage().List("snapshots/"));
  for (const auto& o : snaps) RETURN_IF_ERROR(repo.storage().Remove(o.name));
  Progress progress;
  PruneOptions po;
  po.lock = lock.get();
  return Prune(repo, po, progress).status();
}

// The lock a "crashed" run left is one of this (live) test process, so it would not look stale:
// remove it as the next run would remove a dead process's lock.
void ClearLocksOfCrashedRun(Storage& s) {
  for (const auto& o : Listed(s.List("locks/"))) ASSERT_TRUE(s.Remove(o.name).ok());
}

void CopyAll(Storage& from, Storage& to) {
  for (const auto& o : Listed(from.List(""))) ASSERT_TRUE(to.Put(o.name, *from.Get(o.name)).ok());
}

// A prune that runs to completion after the backup process opened the repository but before its
// lock is written. With the index read before the lock, the backup deduplicated against packs
// that prune had just deleted, and its snapshot pointed at them.
TEST(PruneBackupRace, PruneBetweenOpenAndLockNeverLeavesASnapshotOnDeletedPacks) {
  auto inner = NewRepo();
  std::vector<Bytes> blobs = {TestBlob(1), TestBlob(2), TestBlob(3)};
  ASSERT_TRUE(MiniBackup(*OpenOn(inner), blobs, kT0).ok());

  auto fault = std::make_shared<FaultStorage>(inner);
  auto backup_repo = OpenOn(fault);
  bool pruned = false;
  fault->SetHook([&](FaultOp op, const std::string& name) {
    if (op == FaultOp::kPut && name.starts_with("locks/") && !pruned) {
      pruned = true;
      // Another process: forgets the old backup and prunes its packs, to completion.
      Status st = ForgetAllAndPrune(*OpenOn(inner));
      EXPECT_TRUE(st.ok()) << st.message();
    }
    return Status::Ok();
  });
  auto snap = MiniBackup(*backup_repo, blobs, kT0 + 60, std::chrono::seconds(5));
  ASSERT_TRUE(pruned);
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(ExpectRepositoryIntact(inner, "after the race"), 1u);
}

// While prune holds the exclusive lock, the backup waits for it (or fails cleanly), never
// writing a snapshot on data prune is deleting.
TEST(PruneBackupRace, BackupWaitsForARunningPrune) {
  auto inner = NewRepo();
  std::vector<Bytes> blobs = {TestBlob(1), TestBlob(2)};
  ASSERT_TRUE(MiniBackup(*OpenOn(inner), blobs, kT0).ok());
  auto prune_repo = OpenOn(inner);
  auto excl = RepoLock::Acquire(*prune_repo, true, std::chrono::seconds(0));
  ASSERT_TRUE(excl.ok());
  auto backup_repo = OpenOn(inner);
  auto refused = MiniBackup(*backup_repo, blobs, kT0 + 60, std::chrono::seconds(0));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnavailable);
  excl->reset();
  ASSERT_TRUE(MiniBackup(*backup_repo, blobs, kT0 + 120).ok());
  EXPECT_EQ(ExpectRepositoryIntact(inner, "after waiting"), 2u);
}

// A backup "crashes" at every write in turn: the repository stays intact and the next backup
// succeeds and is readable.
TEST(CrashPoints, BackupCutOffAtEveryWrite) {
  auto base = NewRepo();
  ASSERT_TRUE(MiniBackup(*OpenOn(base), {TestBlob(1), TestBlob(2)}, kT0).ok());
  std::vector<Bytes> next;
  for (int i = 0; i < 12; ++i) next.push_back(TestBlob(100 + i, 200000));
  next.push_back(TestBlob(1));  // one already stored
  for (uint64_t n = 0;; ++n) {
    std::shared_ptr<Storage> inner = NewMemStorage();
    CopyAll(*base, *inner);
    auto fault = std::make_shared<FaultStorage>(inner);
    auto repo = OpenOn(fault);
    fault->Arm(FaultMode::kCrash, n);
    auto r = MiniBackup(*repo, next, kT0 + 60);
    if (!fault->fired()) {
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_EQ(ExpectRepositoryIntact(inner, "uninterrupted"), 2u);
      break;
    }
    repo.reset();
    ClearLocksOfCrashedRun(*inner);
    std::string when = "backup crashed at write " + std::to_string(n);
    size_t snaps = ExpectRepositoryIntact(inner, when);
    EXPECT_TRUE(snaps == 1u || snaps == 2u) << when;
    ASSERT_TRUE(MiniBackup(*OpenOn(inner), next, kT0 + 120).ok()) << when;
    EXPECT_EQ(ExpectRepositoryIntact(inner, when + ", then the next backup"), snaps + 1) << when;
  }
}

// Prune (with repacking) "crashes" at every write in turn: no snapshot loses a blob, and the
// next prune completes.
TEST(CrashPoints, PruneCutOffAtEveryWrite) {
  auto base = NewRepo();
  {
    auto repo = OpenOn(base);
    std::vector<Bytes> a, b;
    for (int i = 0; i < 8; ++i) a.push_back(TestBlob(i, 100000));
    for (int i = 4; i < 12; ++i) b.push_back(TestBlob(i, 100000));
    ASSERT_TRUE(MiniBackup(*repo, a, kT0).ok());
    ASSERT_TRUE(MiniBackup(*repo, b, kT0 + 60).ok());
    // Forget the first: half of its blobs become garbage, in packs shared with the second.
    ASSERT_TRUE(Forget(*repo, RetentionConfig{.full = Policy{.last = 1}}, false, false).ok());
  }
  for (uint64_t n = 0;; ++n) {
    std::shared_ptr<Storage> inner = NewMemStorage();
    CopyAll(*base, *inner);
    auto fault = std::make_shared<FaultStorage>(inner);
    auto repo = OpenOn(fault);
    fault->Arm(FaultMode::kCrash, n);
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(*repo, true, std::chrono::seconds(0)));
      Progress progress;
      PruneOptions po;
      po.repack_unused_percent = 0;
      po.lock = lock.get();
      return Prune(*repo, po, progress).status();
    }();
    if (!fault->fired()) {
      ASSERT_TRUE(st.ok()) << st.message();
      EXPECT_EQ(ExpectRepositoryIntact(inner, "uninterrupted prune"), 1u);
      break;
    }
    repo.reset();
    ClearLocksOfCrashedRun(*inner);
    std::string when = "prune crashed at write " + std::to_string(n);
    EXPECT_EQ(ExpectRepositoryIntact(inner, when), 1u);
    auto again = OpenOn(inner);
    auto lock = RepoLock::Acquire(*again, true, std::chrono::seconds(0));
    ASSERT_TRUE(lock.ok()) << when << ": " << lock.status().message();
    Progress progress;
    auto r = Prune(*again, PruneOptions{.lock = lock->get()}, progress);
    ASSERT_TRUE(r.ok()) << when << ": " << r.status().message();
    lock->reset();
    EXPECT_EQ(ExpectRepositoryIntact(inner, when + ", then the next prune"), 1u);
  }
}

// A prune whose lock lapsed mid-run stops before deleting anything.
TEST(PruneLock, LapsedLockStopsPruneBeforeDeleting) {
  auto inner = NewRepo();
  auto repo = OpenOn(inner);
  ASSERT_TRUE(MiniBackup(*repo, {TestBlob(1)}, kT0).ok());
  for (const auto& o : Listed(inner->List("snapshots/"))) ASSERT_TRUE(inner->Remove(o.name).ok());
  size_t packs = inner->List("data/")->size();
  auto lock = RepoLock::Acquire(*repo, true, std::chrono::seconds(0));
  ASSERT_TRUE(lock.ok());
  for (const auto& o : Listed(inner->List("locks/"))) ASSERT_TRUE(inner->Remove(o.name).ok());  // taken over
  Progress progress;
  auto r = Prune(*repo, PruneOptions{.lock = lock->get()}, progress);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("before deleting"), std::string::npos) << r.status().message();
  EXPECT_EQ(inner->List("data/")->size(), packs);
}

// What prune must refuse: deleting on incomplete knowledge could lose data. Each case leaves every
// object in place and says why.
class PruneRefuses : public ::testing::Test {
 protected:
  void SetUp() override {
    inner_ = NewRepo();
    auto repo = OpenOn(inner_);
    ASSERT_TRUE(MiniBackup(*repo, {TestBlob(1, 100000), TestBlob(2, 100000)}, kT0).ok());
    ASSERT_TRUE(MiniBackup(*repo, {TestBlob(2, 100000), TestBlob(3, 100000)}, kT0 + 60).ok());
    ASSERT_TRUE(Forget(*repo, RetentionConfig{.full = Policy{.last = 1}}, false, false).ok());
  }
  std::vector<std::string> Names() {
    std::vector<std::string> out;
    for (const auto& o : Listed(inner_->List(""))) out.push_back(o.name);
    return out;
  }
  StatusOr<nlohmann::json> RunPrune(bool dry_run) {
    auto repo = OpenOn(inner_);
    ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(*repo, true, std::chrono::seconds(0)));
    Progress progress;
    auto r = Prune(*repo, PruneOptions{.dry_run = dry_run, .repack_unused_percent = 0, .lock = lock.get()}, progress);
    return r;
  }
  void ExpectRefusal(const std::string& why) {
    auto before = Names();
    auto r = RunPrune(false);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("prune refuses to run"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
    auto after = Names();
    std::erase_if(after, [](const std::string& n) { return n.starts_with("locks/"); });
    std::erase_if(before, [](const std::string& n) { return n.starts_with("locks/"); });
    EXPECT_EQ(after, before);
  }
  std::shared_ptr<Storage> inner_;
};

TEST_F(PruneRefuses, ADryRunChangesNothing) {
  auto before = Names();
  auto r = RunPrune(true);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GT((*r)["packs_deleted"].get<uint64_t>() + (*r)["packs_repacked"].get<uint64_t>(), 0u) << r->dump();
  EXPECT_EQ(Names(), before);
}

TEST_F(PruneRefuses, ASnapshotThatDoesNotParse) {
  auto snaps = Listed(inner_->List("snapshots/"));
  ASSERT_EQ(snaps.size(), 1u);
  ASSERT_TRUE(inner_->Put(snaps[0].name, Bytes{'{'}).ok());
  ExpectRefusal(snaps[0].name);
}

TEST_F(PruneRefuses, AnIndexThatDoesNotParse) {
  auto index = Listed(inner_->List("index/"));
  ASSERT_FALSE(index.empty());
  ASSERT_TRUE(inner_->Put(index[0].name, Bytes{'x'}).ok());
  ExpectRefusal("index " + index[0].name + " is unreadable");
}

TEST_F(PruneRefuses, APackBackupsNeedIsMissing) {
  // The pack of the kept backup's newest blob.
  auto repo = OpenOn(inner_);
  ASSERT_TRUE(repo->LoadIndex().ok());
  Bytes blob = TestBlob(3, 100000);
  auto loc = repo->index().find(repo->hmac().Compute(blob.data(), blob.size()));
  ASSERT_TRUE(loc.has_value());
  ASSERT_TRUE(inner_->Remove(PackName(loc->pack)).ok());
  ExpectRefusal("is missing but holds data backups need");
}

}  // namespace
}  // namespace stb
