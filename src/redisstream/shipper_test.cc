#include "redisstream/shipper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "fault_storage.h"
#include "repo_fixture.h"

namespace stb {
namespace {

const std::string kRepl(40, 'c');
constexpr int64_t kT0 = 1'795'000'000'000;

class ShipperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = NewMemRepository(local_);
    store_ = std::make_unique<RedisStreamStore>(*repo_, RedisStreamStore::SourceOf(*repo_, "127.0.0.1:6379"));
    remote_inner_ = NewMemStorage();
    remote_ = std::make_shared<FaultStorage>(remote_inner_);
    remote_->SetHook([this](FaultOp op, const std::string& name) -> Status {
      if (op == FaultOp::kPut) ++puts_;
      if (op == FaultOp::kGet && name == fail_get_ && fail_gets_.fetch_sub(1) > 0) return Unavailable("timeout (test)");
      return down_ ? Unavailable("location down (test)") : Status::Ok();
    });
  }
  // Stores a chain locally: meta (base 100 at kT0, two pieces) and segments of 10 bytes from 100,
  // the one ending at 100 + 10 (i + 1) last arriving at kT0 + 1000 (i + 1). Returns the names.
  std::vector<std::string> StoreChain(int segments, int64_t base_ms = kT0) {
    std::vector<std::string> names;
    chain_ = RedisStreamStore::ChainOf(*repo_, base_ms, kRepl, 100);
    RedisChainMeta m{.replid = kRepl,
                     .base_offset = 100,
                     .base_ms = base_ms,
                     .redis_version = "7.2.4",
                     .run_id_hash = std::string(16, 'a')};
    for (uint32_t p = 0; p < 2; ++p) {
      RedisStreamObject o{.kind = RedisObjectKind::kBasePiece,
                          .start = p * 4,
                          .written_ms = base_ms,
                          .first_arrival_ms = base_ms,
                          .last_arrival_ms = base_ms};
      Bytes raw(4, static_cast<uint8_t>('r' + p));
      auto s = store_->Seal({.kind = RedisObjectKind::kBasePiece, .chain = chain_, .piece = p}, o, raw);
      EXPECT_TRUE(s.ok());
      EXPECT_TRUE(store_->PutSealed(*local_, *s).ok());
      m.pieces.push_back({.size = 4, .content_id = s->content_id});
      m.rdb_size += 4;
      names.push_back(s->name);
    }
    auto ms = store_->SealMeta(chain_, m);
    EXPECT_TRUE(ms.ok());
    EXPECT_TRUE(store_->PutSealed(*local_, *ms).ok());
    names.push_back(ms->name);
    for (int i = 0; i < segments; ++i) names.push_back(StoreSegment(i, base_ms));
    return names;
  }
  std::string StoreSegment(int i, int64_t base_ms = kT0) {
    const uint64_t s = 100 + 10 * i;
    const int64_t last = base_ms + 1000 * (i + 1);
    RedisStreamObject o{.kind = RedisObjectKind::kSegment,
                        .start = s,
                        .written_ms = last,
                        .first_arrival_ms = last - 500,
                        .last_arrival_ms = last,
                        .db = -1};
    o.time_index = {{0, last - 500}};
    auto sealed = store_->Seal({.kind = RedisObjectKind::kSegment,
                                .chain = chain_,
                                .hour = RedisHourOfMs(last - 500),
                                .start = s,
                                .end = s + 10},
                               o, Bytes(10, 'x'));
    EXPECT_TRUE(sealed.ok()) << sealed.status().message();
    EXPECT_TRUE(store_->PutSealed(*local_, *sealed).ok());
    return sealed->name;
  }
  std::unique_ptr<RedisStreamShipper> NewShipper(size_t queue_max = 1000, Storage* local = nullptr,
                                                 int backoff_ms = 0) {
    RedisShipperOptions o;
    o.queue_max = queue_max;
    o.backoff_min_ms = backoff_ms ? backoff_ms : 20;
    o.backoff_max_ms = backoff_ms ? backoff_ms : 100;
    return std::make_unique<RedisStreamShipper>(*store_, local ? *local : *local_, "s3", remote_, o,
                                                [this](const std::string& where, int64_t ms) {
                                                  EXPECT_EQ(where, "s3");
                                                  EXPECT_GE(ms, point_.load()) << "the point went back";
                                                  point_ = ms;
                                                });
  }
  // Waits up to 10 s for the location to reach `ms`.
  bool WaitPoint(int64_t ms) {
    for (int i = 0; i < 1000 && point_.load() < ms; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return point_.load() >= ms;
  }
  bool SameObjects() {
    auto here = local_->List("redis/");
    auto there = remote_inner_->List("redis/");
    if (!here.ok() || !there.ok() || here->size() != there->size()) return false;
    for (const auto& o : *here) {
      auto a = local_->Get(o.name);
      auto b = remote_inner_->Get(o.name);
      if (!a.ok() || !b.ok() || *a != *b) return false;
    }
    return true;
  }

  std::shared_ptr<Storage> local_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<RedisStreamStore> store_;
  std::shared_ptr<Storage> remote_inner_;
  std::shared_ptr<FaultStorage> remote_;
  std::string chain_;
  std::atomic<bool> down_{false};
  std::atomic<int> puts_{0};
  std::atomic<int64_t> point_{0};
  std::string fail_get_;  // a remote Get of this name fails fail_gets_ times
  std::atomic<int> fail_gets_{0};
};

TEST_F(ShipperTest, CopiesEachObjectAsItIsStoredAndTracksThePoint) {
  auto sh = NewShipper();
  sh->Start();
  for (const auto& n : StoreChain(3)) sh->Enqueue(n);
  ASSERT_TRUE(WaitPoint(kT0 + 3000)) << point_.load();
  sh->Stop(1000);
  EXPECT_EQ(point_.load(), kT0 + 3000);
  EXPECT_TRUE(SameObjects()) << "the copies are not the local sealed bytes";
  EXPECT_EQ(sh->status().point_ms, kT0 + 3000);
  EXPECT_EQ(sh->status().last_error, "");
}

TEST_F(ShipperTest, ADownLocationNeverHoldsTheCaptureAndCatchesUp) {
  down_ = true;
  auto sh = NewShipper(/*queue_max=*/5);
  sh->Start();
  auto names = StoreChain(2);
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& n : names) sh->Enqueue(n);
  for (int i = 2; i < 40; ++i) sh->Enqueue(StoreSegment(i));  // far past the queue's bound
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << "Enqueue waited for the location";
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(point_.load(), 0);
  EXPECT_LE(sh->status().queued, 5u);
  EXPECT_NE(sh->status().last_error, "");
  down_ = false;
  ASSERT_TRUE(WaitPoint(kT0 + 40000)) << point_.load();
  sh->Stop(1000);
  EXPECT_TRUE(SameObjects());
}

TEST_F(ShipperTest, ARestartCopiesWhatTheLocationLacksFromTheListings) {
  auto names = StoreChain(4);
  // An earlier run copied the base and the first segment, then died.
  for (size_t i = 0; i < 4; ++i) ASSERT_TRUE(remote_inner_->Put(names[i], local_->Get(names[i]).value()).ok());
  {
    RedisLocationView v = CompareRedisLocation(*store_, *local_, store_->List(*local_).value(), *remote_inner_).value();
    EXPECT_EQ(v.point_ms, kT0 + 1000);
    EXPECT_EQ(v.missing, (std::vector<std::string>{names[4], names[5], names[6]}));
  }
  puts_ = 0;
  auto sh = NewShipper();
  sh->Start();  // nothing enqueued: the catch-up alone
  ASSERT_TRUE(WaitPoint(kT0 + 4000)) << point_.load();
  sh->Stop(1000);
  EXPECT_EQ(puts_.load(), 3) << "objects already there were written again";
  EXPECT_TRUE(SameObjects());
}

TEST_F(ShipperTest, APointNeedsTheMetaEveryPieceAndARunOfSegments) {
  auto names = StoreChain(3);  // pieces 0, 1, meta, seg 0, 1, 2
  auto point_with = [&](std::vector<size_t> idx) {
    auto fresh = NewMemStorage();
    for (size_t i : idx) EXPECT_TRUE(fresh->Put(names[i], local_->Get(names[i]).value()).ok());
    return CompareRedisLocation(*store_, *local_, store_->List(*local_).value(), *fresh).value().point_ms;
  };
  EXPECT_EQ(point_with({0, 1, 2, 3, 4, 5}), kT0 + 3000);
  EXPECT_EQ(point_with({0, 1, 2}), kT0);               // the base alone
  EXPECT_EQ(point_with({0, 2, 3, 4, 5}), 0);           // a piece missing
  EXPECT_EQ(point_with({0, 1, 3, 4, 5}), 0);           // no meta
  EXPECT_EQ(point_with({0, 1, 2, 3, 5}), kT0 + 1000);  // a hole after the first segment
  EXPECT_EQ(LocalRedisPoint(*store_, *local_, store_->List(*local_).value()).value(), kT0 + 3000);
}

// The copy's write path cut at every point (the location "dies" at its Nth write, as a killed
// shipper would leave it): a new shipper makes the location whole again, nothing written twice
// with other bytes, and its point is the local one.
TEST_F(ShipperTest, ACopyCutAtAnyWriteIsCompletedByTheNextStart) {
  auto names = StoreChain(3);
  for (uint64_t cut = 0; cut <= names.size(); ++cut) {
    SCOPED_TRACE("cut at write " + std::to_string(cut));
    remote_inner_ = NewMemStorage();
    {
      auto dying = std::make_shared<FaultStorage>(remote_inner_);
      dying->Arm(FaultMode::kCrash, cut);
      RedisShipperOptions o;
      o.backoff_min_ms = o.backoff_max_ms = 10;
      RedisStreamShipper sh(*store_, *local_, "s3", dying, o, nullptr);
      sh.Start();
      for (const auto& n : names) sh.Enqueue(n);
      for (int i = 0; i < 200 && !dying->crashed() && sh.status().shipped < names.size(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      sh.Stop(0);
    }
    point_ = 0;
    remote_ = std::make_shared<FaultStorage>(remote_inner_);
    auto sh = NewShipper();
    sh->Start();
    ASSERT_TRUE(WaitPoint(kT0 + 3000)) << point_.load();
    sh->Stop(1000);
    EXPECT_TRUE(SameObjects());
  }
}

// Review finding 1: the location holds a chain the local repository no longer has (pruned
// locally, or the repository rebuilt). The catch-up reads what it needs of that chain from the
// location and goes on: new objects keep reaching it.
TEST_F(ShipperTest, AChainTheLocalRepositoryNoLongerHasNeverStopsTheCatchUp) {
  auto old_names = StoreChain(2);
  for (const auto& n : old_names) {
    ASSERT_TRUE(remote_inner_->Put(n, local_->Get(n).value()).ok());
    ASSERT_TRUE(local_->Remove(n).ok());
  }
  constexpr int64_t kT1 = kT0 + 100'000;
  StoreChain(2, kT1);
  RedisLocationView v = CompareRedisLocation(*store_, *local_, store_->List(*local_).value(), *remote_inner_).value();
  EXPECT_EQ(v.point_ms, kT0 + 2000) << "the old chain's point, read from the location";
  EXPECT_EQ(v.missing.size(), 5u);
  auto sh = NewShipper();
  sh->Start();  // the catch-up alone
  ASSERT_TRUE(WaitPoint(kT1 + 2000)) << point_.load() << " " << sh->status().last_error;
  sh->Stop(1000);
  EXPECT_EQ(sh->status().shipped, 5u);
}

// Review finding 2: a passing fault reading the local object is retried, never a hole in the copy.
TEST_F(ShipperTest, ALocalReadFaultIsRetriedNotSkipped) {
  auto names = StoreChain(2);
  FaultStorage local(local_);
  std::atomic<int> fails{2};
  const std::string victim = names[3];  // the first segment
  local.SetHook([&](FaultOp op, const std::string& name) -> Status {
    if (op == FaultOp::kGet && name == victim && fails.fetch_sub(1) > 0) return Unavailable("disk busy (test)");
    return Status::Ok();
  });
  auto sh = NewShipper(1000, &local);
  sh->Start();
  for (const auto& n : names) sh->Enqueue(n);
  ASSERT_TRUE(WaitPoint(kT0 + 2000)) << point_.load();
  sh->Stop(1000);
  EXPECT_TRUE(SameObjects());
  EXPECT_GE(sh->status().failures, 1u);
}

// Review finding 2: re-reading an object already at the location (a retried copy) can fail on
// the network; that is no corruption verdict: the copy is retried and the point moves on.
TEST_F(ShipperTest, ANetworkErrorCheckingAnExistingCopyIsRetried) {
  auto names = StoreChain(2);
  const std::string last = names.back();
  ASSERT_TRUE(remote_inner_->Put(last, local_->Get(last).value()).ok());  // copied, the note of it lost
  {
    // PutSealed's verdicts: a failed re-read keeps its code; a damaged object is Corrupt.
    RedisSealed s;
    ASSERT_TRUE(store_->ReadObject(*local_, last, &s).ok());
    fail_get_ = last;
    fail_gets_ = 1;
    EXPECT_EQ(store_->PutSealed(*remote_, s).code(), Code::kUnavailable);
    EXPECT_TRUE(store_->PutSealed(*remote_, s).ok());
    auto damaged = NewMemStorage();
    ASSERT_TRUE(damaged->Put(last, Bytes(40, 'z')).ok());
    EXPECT_EQ(store_->PutSealed(*damaged, s).code(), Code::kCorrupt);
  }
  fail_gets_ = 1;
  auto sh = NewShipper();
  for (const auto& n : names) sh->Enqueue(n);
  sh->Start();
  ASSERT_TRUE(WaitPoint(kT0 + 2000)) << point_.load();
  sh->Stop(1000);
  EXPECT_TRUE(SameObjects());
}

// Review finding 3: Stop(drain_ms) with the location down returns near its drain deadline, not
// after the whole backoff the thread was sleeping.
TEST_F(ShipperTest, StopDuringALongBackoffKeepsToTheDrainDeadline) {
  down_ = true;
  auto sh = NewShipper(1000, nullptr, /*backoff_ms=*/20'000);
  sh->Start();
  for (const auto& n : StoreChain(1)) sh->Enqueue(n);
  for (int i = 0; i < 500 && sh->status().failures == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(sh->status().failures, 1u);
  const auto t0 = std::chrono::steady_clock::now();
  sh->Stop(200);
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(150));
  EXPECT_LT(took, std::chrono::seconds(3)) << "Stop waited for the backoff";
}

}  // namespace
}  // namespace stb
