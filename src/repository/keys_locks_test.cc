// Issue 12: atomic init, keys that disagree, an authenticated and validated config, the lock
// checked before a snapshot is written, and key rotation cut off at every write.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/file_util.h"
#include "fake_env.h"
#include "fault_storage.h"
#include "repository/lock.h"
#include "repository/repository.h"
#include "repository/snapshots.h"
#include "test_key.h"

namespace stb {
namespace {

using json = nlohmann::json;

KeySource Key(uint8_t fill) { return TestKey(fill, "test-key-" + std::to_string(fill)); }

size_t Count(Storage& s, const std::string& prefix) { return s.List(prefix)->size(); }

json ConfigOf(Storage& s) { return json::parse(AsString(*s.Get("config"))); }
void PutConfig(Storage& s, const json& c) { ASSERT_TRUE(s.Put("config", ToBytes(c.dump(2))).ok()); }

// A key object as versions before issue 12 wrote it (version 1, wrapped under kAadKey).
Bytes LegacyKeyObject(const KeySource& k, const Bytes& master) {
  Bytes salt = RandomBytes(32);
  Bytes kek = Hkdf(k.secret, salt, "spacetime-backup key file v1", 32);
  json o = {{"version", 1},
            {"kdf", "keyfile"},
            {"salt", ToHex(salt)},
            {"wrapped", ToHex(Aead(kek).Seal(master, kAadKey))},
            {"created", "2024-01-03T14:25:30.000000"},
            {"host", "old"}};
  return ToBytes(o.dump(2));
}

// A repository as versions before issue 12 wrote it: no key check, no MAC.
void MakeLegacyRepository(Storage& s, const std::vector<std::pair<KeySource, Bytes>>& keys) {
  json c = {{"version", 1},
            {"id", ToHex(RandomBytes(32))},
            {"chunker", {{"min_size", 262144}, {"avg_size", 1048576}, {"max_size", 8388608}}},
            {"pack_size", 16777216},
            {"created", "2024-01-03T14:25:30.123456"}};
  for (const auto& [k, master] : keys) ASSERT_TRUE(s.Put("keys/" + RandomHex(16), LegacyKeyObject(k, master)).ok());
  PutConfig(s, c);
}

TEST(InitTest, RacingInitsLeaveOneRepositoryAndOneKey) {
  for (bool same_key : {true, false}) {
    auto inner = std::shared_ptr<Storage>(NewMemStorage());
    FaultStorage s(inner);
    // Both inits reach their config write before either is done: the tightest interleaving.
    std::barrier both(2);
    s.SetHook([&](FaultOp op, const std::string& name) {
      if (op == FaultOp::kPut && name == "config") both.arrive_and_wait();
      return Status::Ok();
    });
    Status r1, r2;
    std::thread t1([&] { r1 = Repository::Init(s, Key(1)); });
    std::thread t2([&] { r2 = Repository::Init(s, Key(same_key ? 1 : 2)); });
    t1.join();
    t2.join();
    ASSERT_NE(r1.ok(), r2.ok()) << r1.message() << " / " << r2.message();
    const Status& loser = r1.ok() ? r2 : r1;
    EXPECT_EQ(loser.code(), Code::kAlreadyExists) << loser.message();
    EXPECT_EQ(Count(*inner, "keys/"), 1u);
    uint8_t winner = r1.ok() ? 1 : (same_key ? 1 : 2);
    auto repo = Repository::Open(inner, Key(winner));
    ASSERT_TRUE(repo.ok()) << repo.status().message();
    EXPECT_TRUE((*repo)->config().authenticated);
    if (!same_key) {
      EXPECT_EQ(Repository::Open(inner, Key(winner == 1 ? 2 : 1)).status().code(), Code::kPermission);
    }
  }
}

TEST(InitTest, RefusesALocationWithoutAtomicCreate) {
  class NoAtomic final : public Storage {
   public:
    std::unique_ptr<Storage> inner = NewMemStorage();
    std::string Describe() const override { return "no-atomic"; }
    StorageCaps Caps() const override { return {.atomic_create = false}; }
    Status Put(const std::string& n, const uint8_t* d, size_t l, PutMode m) override { return inner->Put(n, d, l, m); }
    StatusOr<Bytes> Get(const std::string& n, uint64_t o, uint64_t l) override { return inner->Get(n, o, l); }
    StatusOr<uint64_t> Stat(const std::string& n) override { return inner->Stat(n); }
    StatusOr<std::vector<ObjectInfo>> List(const std::string& p) override { return inner->List(p); }
    Status Remove(const std::string& n) override { return inner->Remove(n); }
  } s;
  EXPECT_EQ(Repository::Init(s, Key(1)).code(), Code::kInvalidArgument);
  EXPECT_EQ(Count(*s.inner, ""), 0u);
}

class KeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = NewMemStorage();
    ASSERT_TRUE(Repository::Init(*storage_, Key(1)).ok());
  }
  std::shared_ptr<Storage> storage_;
};

TEST_F(KeysTest, KeysThatUnwrapToDifferentMastersAreRefusedByName) {
  // What a racing init of the old code left: a second key, same key file, another master key.
  auto other = NewMemStorage();
  ASSERT_TRUE(Repository::Init(*other, Key(1)).ok());
  std::string stray = Listed(other->List("keys/"))[0].name;
  ASSERT_TRUE(storage_->Put(stray, *other->Get(stray)).ok());
  std::string right = "";
  for (const auto& o : Listed(storage_->List("keys/")))
    if (o.name != stray) right = o.name.substr(5);
  auto r = Repository::Open(storage_, Key(1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermission);
  const std::string m = r.status().message();
  EXPECT_NE(m.find("different master keys"), std::string::npos) << m;
  EXPECT_NE(m.find(right + " matching the config's key check"), std::string::npos) << m;
  EXPECT_NE(m.find(stray.substr(5) + " not"), std::string::npos) << m;
  // Once the stray key is gone the repository opens again.
  ASSERT_TRUE(storage_->Remove(stray).ok());
  EXPECT_TRUE(Repository::Open(storage_, Key(1)).ok());
}

TEST_F(KeysTest, TamperedConfigIsRefused) {
  json good = ConfigOf(*storage_);
  struct Case {
    const char* what;
    std::function<void(json&)> edit;
    const char* expect;
  };
  std::vector<Case> cases = {
      {"pack size", [](json& c) { c["pack_size"] = 8u << 20; }, "MAC does not verify"},
      {"chunker", [](json& c) { c["chunker"]["min_size"] = 131072; }, "MAC does not verify"},
      {"created", [](json& c) { c["created"] = "2020-01-01T00:00:00.000000"; }, "MAC does not verify"},
      {"extra field", [](json& c) { c["note"] = "x"; }, "MAC does not verify"},
      {"mac", [](json& c) { c["mac"] = std::string(64, '0'); }, "MAC does not verify"},
      {"id", [](json& c) { c["id"] = std::string(64, 'a'); }, "key check"},
      {"id not hex", [](json& c) { c["id"] = "zz"; }, "64 lowercase hex"},
      {"huge chunks", [](json& c) { c["chunker"]["max_size"] = 1u << 30; }, "chunker sizes"},
      {"odd average", [](json& c) { c["chunker"]["avg_size"] = 1000000; }, "chunker sizes"},
      {"tiny packs", [](json& c) { c["pack_size"] = 1000; }, "pack_size"},
      // Dropping the MAC to pass for an older repository: the keys say otherwise.
      {"downgrade",
       [](json& c) {
         c.erase("mac");
         c.erase("key_check");
       },
       "no key check or MAC"},
  };
  for (const auto& tc : cases) {
    json c = good;
    tc.edit(c);
    PutConfig(*storage_, c);
    auto r = Repository::Open(storage_, Key(1));
    ASSERT_FALSE(r.ok()) << tc.what;
    EXPECT_NE(r.status().message().find(tc.expect), std::string::npos) << tc.what << ": " << r.status().message();
  }
  PutConfig(*storage_, good);
  EXPECT_TRUE(Repository::Open(storage_, Key(1)).ok());
}

TEST_F(KeysTest, ConfigWithoutKeysNamesAnInterruptedInit) {
  ASSERT_TRUE(storage_->Remove(Listed(storage_->List("keys/"))[0].name).ok());
  auto r = Repository::Open(storage_, Key(1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("interrupted"), std::string::npos) << r.status().message();
}

TEST(LegacyTest, RepositoriesFromBeforeTheKeyCheckStillOpen) {
  std::shared_ptr<Storage> s = NewMemStorage();
  Bytes master = RandomBytes(32);
  MakeLegacyRepository(*s, {{Key(1), master}});
  auto repo = Repository::Open(s, Key(1));
  ASSERT_TRUE(repo.ok()) << repo.status().message();
  EXPECT_FALSE((*repo)->config().authenticated);
  // A key added there stays a legacy key, so the repository keeps opening with either.
  auto added = (*repo)->AddKey(Key(2));
  ASSERT_TRUE(added.ok());
  EXPECT_TRUE(Repository::Open(s, Key(2)).ok());
  EXPECT_EQ((*Repository::Open(s, Key(2)))->DeriveSecretHex("t"), (*repo)->DeriveSecretHex("t"));
}

TEST(LegacyTest, LegacyKeysWithDifferentMastersAreRefused) {
  std::shared_ptr<Storage> s = NewMemStorage();
  MakeLegacyRepository(*s, {{Key(1), RandomBytes(32)}, {Key(1), RandomBytes(32)}});
  auto r = Repository::Open(s, Key(1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("different master keys"), std::string::npos) << r.status().message();
  for (const auto& o : Listed(s->List("keys/"))) {
    EXPECT_NE(r.status().message().find(o.name.substr(5)), std::string::npos) << r.status().message();
  }
}

class LockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    inner_ = NewMemStorage();
    ASSERT_TRUE(Repository::Init(*inner_, Key(1)).ok());
    fault_ = std::make_shared<FaultStorage>(inner_);
    auto r = Repository::Open(fault_, Key(1));
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
  }
  std::shared_ptr<Storage> inner_;
  std::shared_ptr<FaultStorage> fault_;
  std::unique_ptr<Repository> repo_;
};

// Lets a test wait for the lock's refresher (on its own timer) to have written `n` times, rather
// than sleeping for a guess.
class LockWrites {
 public:
  explicit LockWrites(int n) : n_(n) {}
  void Seen() {
    if (++seen_ == n_) done_.set_value();
  }
  void Wait() { ASSERT_EQ(done_.get_future().wait_for(std::chrono::seconds(30)), std::future_status::ready); }

 private:
  const int n_;
  std::atomic<int> seen_{0};
  std::promise<void> done_;
};

TEST_F(LockTest, FailedRefreshFailsTheSnapshotBeforeItIsWritten) {
  LockWrites refreshes(1);  // before the lock: its refresher may call the hook until the lock is gone
  auto lock = RepoLock::Acquire(*repo_, false, std::chrono::seconds(0), std::chrono::milliseconds(20));
  ASSERT_TRUE(lock.ok());
  fault_->SetHook([&](FaultOp op, const std::string& name) {
    if (!(op == FaultOp::kPut && name.starts_with("locks/"))) return Status::Ok();
    refreshes.Seen();
    return Unavailable("locks/ unwritable");
  });
  refreshes.Wait();  // the refresher holds the lock's mutex until it has recorded the failure
  auto snap = WriteSnapshot(*repo_, **lock, json{{"backup_id", "20240103_142530"}, {"components", json::object()}});
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.status().message().find("refreshing the lock"), std::string::npos) << snap.status().message();
  EXPECT_EQ(Count(*inner_, "snapshots/"), 0u);
}

TEST_F(LockTest, LockTakenOverFailsTheSnapshot) {
  auto lock = RepoLock::Acquire(*repo_, false, std::chrono::seconds(0));
  ASSERT_TRUE(lock.ok());
  // Another process judged it stale and removed it.
  for (const auto& o : Listed(inner_->List("locks/"))) ASSERT_TRUE(inner_->Remove(o.name).ok());
  auto snap = WriteSnapshot(*repo_, **lock, json{{"backup_id", "20240103_142530"}, {"components", json::object()}});
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.status().message().find("removed by another process"), std::string::npos) << snap.status().message();
  EXPECT_EQ(Count(*inner_, "snapshots/"), 0u);
}

TEST_F(LockTest, HeldLockWritesTheSnapshot) {
  LockWrites refreshes(3);  // before the lock: its refresher may call the hook until the lock is gone
  auto lock = RepoLock::Acquire(*repo_, false, std::chrono::seconds(0), std::chrono::milliseconds(20));
  ASSERT_TRUE(lock.ok());
  fault_->SetHook([&](FaultOp op, const std::string& name) {
    if (op == FaultOp::kPut && name.starts_with("locks/")) refreshes.Seen();
    return Status::Ok();
  });
  refreshes.Wait();  // a few refreshes
  EXPECT_TRUE(WriteSnapshot(*repo_, **lock, json{{"backup_id", "20240103_142530"}}).ok());
  EXPECT_EQ(Count(*inner_, "snapshots/"), 1u);
}

// Waits for a lock and a lock's age run on a fake clock: a minute's wait, or half an hour's
// staleness, take no time. (The refresher wakes on its own real timer; tests give it an hour.)
TEST_F(LockTest, AcquireWaitsOutItsTimeAndNamesTheHolder) {
  testing::FakeEnv env;
  auto holder = RepoLock::Acquire(*repo_, true, std::chrono::seconds(0), std::chrono::hours(1), env);
  ASSERT_TRUE(holder.ok());
  auto waiter = RepoLock::Acquire(*repo_, false, std::chrono::seconds(60), std::chrono::hours(1), env);
  ASSERT_FALSE(waiter.ok());
  EXPECT_NE(waiter.status().message().find("an exclusive lock held by pid"), std::string::npos)
      << waiter.status().message();
  EXPECT_GE(env.slept(), 60);
  EXPECT_LE(env.slept(), 60.6);
  for (double d : env.sleeps()) {
    EXPECT_GE(d, 0.2);
    EXPECT_LE(d, 0.6);
  }
  EXPECT_EQ(Count(*inner_, "locks/"), 1u);  // the waiter took its own lock away again
}

TEST_F(LockTest, ALockOfAnotherHostGoesStaleWhileWaiting) {
  testing::FakeEnv env;
  json other = {{"host", "elsewhere"},
                {"pid", 1},
                {"exclusive", true},
                {"time", static_cast<int64_t>(env.NowSeconds()) - (RepoLock::kStaleSeconds - 30)}};
  ASSERT_TRUE(inner_->Put("locks/other", repo_->SealJson(kKindLock, other)).ok());
  auto lock = RepoLock::Acquire(*repo_, true, std::chrono::seconds(60), std::chrono::hours(1), env);
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  EXPECT_GE(env.slept(), 31);  // until it was more than kStaleSeconds old
  EXPECT_LE(env.slept(), 31.6);
  EXPECT_EQ(inner_->Stat("locks/other").status().code(), Code::kNotFound);
}

TEST_F(LockTest, ALockNotRefreshedForTooLongFailsTheCheck) {
  testing::FakeEnv env;
  auto lock = RepoLock::Acquire(*repo_, false, std::chrono::seconds(0), std::chrono::hours(1), env);
  ASSERT_TRUE(lock.ok());
  EXPECT_TRUE((*lock)->Check().ok());
  env.Advance(RepoLock::kStaleSeconds - RepoLock::kRefreshSeconds);
  EXPECT_TRUE((*lock)->Check().ok());
  env.Advance(1);
  Status st = (*lock)->Check();
  EXPECT_NE(st.message().find("not refreshed for too long"), std::string::npos) << st.message();
}

TEST_F(LockTest, AStopEndsTheWaitForALock) {
  testing::FakeEnv env;
  auto holder = RepoLock::Acquire(*repo_, true, std::chrono::seconds(0), std::chrono::hours(1), env);
  ASSERT_TRUE(holder.ok());
  ProcessStopToken().Stop();
  auto waiter = RepoLock::Acquire(*repo_, true, std::chrono::seconds(3600), std::chrono::hours(1), env);
  ProcessStopToken().Reset();
  ASSERT_FALSE(waiter.ok());
  EXPECT_EQ(waiter.status().code(), Code::kUnavailable);
  EXPECT_EQ(env.slept(), 0);
}

// Key rotation (add the new key, remove the old) cut off at every write: one of the two keys
// always opens the repository, to the same master key.
TEST_F(LockTest, KeyRotationCrashedAtEveryWriteLeavesAWorkingKey) {
  std::string secret = repo_->DeriveSecretHex("t");
  for (uint64_t n = 0;; ++n) {
    auto inner = std::shared_ptr<Storage>(NewMemStorage());
    for (const auto& o : Listed(inner_->List(""))) ASSERT_TRUE(inner->Put(o.name, *inner_->Get(o.name)).ok());
    auto fault = std::make_shared<FaultStorage>(inner);
    auto repo = Repository::Open(fault, Key(1));
    ASSERT_TRUE(repo.ok());
    fault->Arm(FaultMode::kCrash, n);
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(auto lock, RepoLock::Acquire(**repo, true, std::chrono::seconds(0)));
      RETURN_IF_ERROR((*repo)->AddKey(Key(9)).status());
      return (*repo)->RemoveKey((*repo)->current_key_id());
    }();
    auto by_old = Repository::Open(inner, Key(1));
    auto by_new = Repository::Open(inner, Key(9));
    ASSERT_TRUE(by_old.ok() || by_new.ok()) << "crash at write " << n;
    for (auto* r : {&by_old, &by_new}) {
      if (r->ok()) {
        EXPECT_EQ((**r)->DeriveSecretHex("t"), secret);
      }
    }
    if (st.ok()) {
      EXPECT_TRUE(by_new.ok());
      EXPECT_FALSE(by_old.ok());
    }
    if (!fault->fired()) break;  // ran to the end without reaching the fault
  }
}

}  // namespace
}  // namespace stb
