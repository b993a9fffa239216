#include "maintenance/redis_prune.h"

#include <gtest/gtest.h>

#include "checker/redis_check.h"
#include "fault_storage.h"
#include "repo_fixture.h"

namespace stb {
namespace {

const std::string kSrc = "0123456789abcdef";
const std::string kReplid = "8371445ee0d8e5bd81a1a2a4d3c1ed4ba2c6b8b5";
constexpr int64_t kT0 = 1795000000000;  // 2026-11-18 11:06 UTC, ms
constexpr int64_t kHourMs = 3600000;

std::string Chain(int64_t ms) { return RedisChainId{ms, 0xabcd0001u}.Str(); }

// A listing as RedisStreamStore::List builds it: a chain with (or without) meta, two base pieces,
// segments [1000, 1100) [1100, 1200) and an event.
void AddChain(RedisStreamListing& l, int64_t base_ms, bool meta, uint64_t seg_size = 10) {
  const std::string c = Chain(base_ms);
  RedisChainListing& ch = l.chains[c];
  auto add = [&](RedisStreamName n, uint64_t size) {
    n.source = kSrc;
    n.chain = c;
    l.objects[RedisObjectName(n)] = size;
    return RedisObjectName(n);
  };
  if (meta) {
    ch.has_meta = true;
    add({.kind = RedisObjectKind::kChainMeta}, 100);
  }
  for (uint32_t p = 0; p < 2; ++p) {
    ch.pieces[p] = 1000;
    add({.kind = RedisObjectKind::kBasePiece, .piece = p}, 1000);
  }
  for (uint64_t s = 1000; s < 1200; s += 100) {
    RedisStreamName n{.kind = RedisObjectKind::kSegment, .hour = RedisHourOfMs(base_ms), .start = s, .end = s + 100};
    ch.segments.push_back({{s, s + 100}, n.hour, add(n, seg_size), seg_size});
  }
  ch.events.push_back(base_ms + 5);
  add({.kind = RedisObjectKind::kEvent, .event_ms = base_ms + 5}, 50);
}

// Three chains an hour apart, every one with meta.
RedisStreamListing Three() {
  RedisStreamListing l;
  for (int i = 0; i < 3; ++i) AddChain(l, kT0 + i * kHourMs, true);
  return l;
}

std::vector<std::string> ChainsOf(const RedisPrunePlan& p) {
  std::vector<std::string> out;
  for (const auto& o : p.delete_) {
    auto n = ParseRedisObjectName(o.name);
    EXPECT_TRUE(n.ok());
    if (out.empty() || out.back() != n->chain) out.push_back(n->chain);
  }
  return out;
}

TEST(RedisPrunePlan, NoKeptRedisBackupDeletesNothing) {
  EXPECT_TRUE(PlanRedisPrune(Three(), std::nullopt).delete_.empty());
}

TEST(RedisPrunePlan, WindowBeforeEveryChainDeletesNothing) {
  auto p = PlanRedisPrune(Three(), kT0 - 1);
  EXPECT_TRUE(p.delete_.empty());
  EXPECT_EQ(p.kept_from, "");
}

// A restore to T >= window uses the newest chain whose base arrived at or before T: the chain in
// use at the window itself stays, with all its objects, and so does everything after it.
TEST(RedisPrunePlan, KeepsTheChainInUseAtTheWindowStart) {
  RedisStreamListing l = Three();
  auto p = PlanRedisPrune(l, kT0 + kHourMs + 1);  // inside the second chain
  EXPECT_EQ(p.kept_from, Chain(kT0 + kHourMs));
  EXPECT_EQ(p.chains, std::vector<std::string>{Chain(kT0)});
  EXPECT_EQ(p.delete_.size(), 6u);  // meta, 2 pieces, 2 segments, 1 event
  EXPECT_EQ(p.bytes, 100u + 2000 + 20 + 50);
  for (const auto& o : p.delete_) EXPECT_EQ(ParseRedisObjectName(o.name)->chain, Chain(kT0)) << o.name;

  // The window exactly at a chain's base: that chain is the one in use.
  p = PlanRedisPrune(l, kT0 + kHourMs);
  EXPECT_EQ(p.kept_from, Chain(kT0 + kHourMs));
  EXPECT_EQ(p.chains, std::vector<std::string>{Chain(kT0)});
  // Just before it: the first chain is still in use.
  p = PlanRedisPrune(l, kT0 + kHourMs - 1);
  EXPECT_TRUE(p.delete_.empty());
}

TEST(RedisPrunePlan, MetaGoesFirstChainsOldestFirst) {
  auto p = PlanRedisPrune(Three(), kT0 + 10 * kHourMs);
  EXPECT_EQ(p.kept_from, Chain(kT0 + 2 * kHourMs));
  EXPECT_EQ(ChainsOf(p), (std::vector<std::string>{Chain(kT0), Chain(kT0 + kHourMs)}));
  ASSERT_EQ(p.delete_.size(), 12u);
  for (size_t first : {size_t{0}, size_t{6}}) {
    EXPECT_EQ(ParseRedisObjectName(p.delete_[first].name)->kind, RedisObjectKind::kChainMeta) << p.delete_[first].name;
    for (size_t i = first + 1; i < first + 6; ++i) {
      EXPECT_NE(ParseRedisObjectName(p.delete_[i].name)->kind, RedisObjectKind::kChainMeta) << p.delete_[i].name;
    }
  }
}

// A chain without meta is used by no restore: the chain in use is the newest one with meta.
TEST(RedisPrunePlan, ChainWithoutMetaIsNotTheChainInUse) {
  RedisStreamListing l;
  AddChain(l, kT0, true);
  AddChain(l, kT0 + kHourMs, false);  // an abandoned start
  AddChain(l, kT0 + 2 * kHourMs, true);
  auto p = PlanRedisPrune(l, kT0 + kHourMs + 5);
  EXPECT_EQ(p.kept_from, Chain(kT0));
  EXPECT_TRUE(p.delete_.empty());
  // Later, the abandoned one (and the first) go; the one without meta has no meta to go first.
  p = PlanRedisPrune(l, kT0 + 3 * kHourMs);
  EXPECT_EQ(ChainsOf(p), (std::vector<std::string>{Chain(kT0), Chain(kT0 + kHourMs)}));
  EXPECT_EQ(p.delete_.size(), 6u + 5u);
}

// The newest chain of a source may be the one a running capture writes (its meta comes after its
// base pieces): it always stays, with or without meta, and so does the chain in use before it.
TEST(RedisPrunePlan, NewestChainAlwaysStays) {
  RedisStreamListing l;
  AddChain(l, kT0, true);
  AddChain(l, kT0 + kHourMs, true);
  AddChain(l, kT0 + 2 * kHourMs, false);  // the capture is storing its base
  auto p = PlanRedisPrune(l, kT0 + 10 * kHourMs);
  EXPECT_EQ(p.kept_from, Chain(kT0 + kHourMs));
  EXPECT_EQ(p.chains, std::vector<std::string>{Chain(kT0)});

  RedisStreamListing one;
  AddChain(one, kT0, true);
  EXPECT_TRUE(PlanRedisPrune(one, kT0 + 10 * kHourMs).delete_.empty());
}

// A leftover of a prune interrupted after the meta: no meta, older than the chain in use: it goes.
TEST(RedisPrunePlan, InterruptedPruneLeftoverGoes) {
  RedisStreamListing l;
  AddChain(l, kT0, false);
  AddChain(l, kT0 + kHourMs, true);
  AddChain(l, kT0 + 2 * kHourMs, true);
  auto p = PlanRedisPrune(l, kT0 + kHourMs);
  EXPECT_EQ(p.chains, std::vector<std::string>{Chain(kT0)});
  EXPECT_EQ(p.delete_.size(), 5u);
}

TEST(RedisPrunePlan, UnknownNamesAreLeftAlone) {
  RedisStreamListing l = Three();
  l.objects["redis/" + kSrc + "/tmp-upload"] = 7;
  l.unknown.push_back("redis/" + kSrc + "/tmp-upload");
  auto p = PlanRedisPrune(l, kT0 + 10 * kHourMs);
  for (const auto& o : p.delete_) EXPECT_NE(o.name, "redis/" + kSrc + "/tmp-upload");
}

TEST(RedisPrunePlan, OldestRedisBackup) {
  auto snap = [](double t, const std::string& kind) {
    SnapshotRef r;
    r.doc = {{"time_unix", t}, {"components", {{"x", {{"kind", kind}}}}}};
    return r;
  };
  EXPECT_EQ(OldestRedisBackupMs({}), std::nullopt);
  EXPECT_EQ(OldestRedisBackupMs({snap(100, "files")}), std::nullopt);
  EXPECT_EQ(OldestRedisBackupMs({snap(300.5, "redis"), snap(100, "files"), snap(200.25, "redis")}), 200250);
  EXPECT_EQ(OldestRedisBackupMs({snap(-5, "redis")}), std::nullopt);
}

// Over real sealed objects: the planned chains are removed, the kept ones still check clean, and
// check names a damaged segment and a hole.
class RedisPruneStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = NewMemRepository(storage_);
    ASSERT_TRUE(repo_);
    store_ = std::make_unique<RedisStreamStore>(*repo_, RedisStreamStore::SourceOf(*repo_, "127.0.0.1:6379"));
  }
  std::string PutChain(int64_t base_ms) {
    const std::string c = RedisStreamStore::ChainOf(*repo_, base_ms, kReplid, 1000);
    RedisStreamObject piece;
    piece.kind = RedisObjectKind::kBasePiece;
    piece.written_ms = base_ms;
    piece.first_arrival_ms = piece.last_arrival_ms = base_ms;
    Bytes rdb(64, 'r');
    RedisStreamName pn{.kind = RedisObjectKind::kBasePiece, .chain = c};
    auto sp = store_->Seal(pn, piece, rdb);
    EXPECT_TRUE(sp.ok()) << sp.status().message();
    EXPECT_TRUE(store_->PutSealed(*storage_, *sp).ok());
    RedisChainMeta m;
    m.replid = kReplid;
    m.base_offset = 1000;
    m.base_ms = base_ms;
    m.redis_version = "7.2.4";
    m.run_id_hash = "0123456789abcdef";
    m.pieces = {{64, sp->content_id}};
    m.rdb_size = 64;
    for (uint64_t s = 1000; s < 1300; s += 100) {
      RedisStreamObject o;
      o.start = s;
      o.written_ms = base_ms + 5;
      o.first_arrival_ms = base_ms;
      o.last_arrival_ms = base_ms + 3;
      o.db = -1;
      o.time_index = {{0, base_ms}};
      RedisStreamName n{
          .kind = RedisObjectKind::kSegment, .chain = c, .hour = RedisHourOfMs(base_ms), .start = s, .end = s + 100};
      auto sealed = store_->Seal(n, o, Bytes(100, 'x'));
      EXPECT_TRUE(sealed.ok()) << sealed.status().message();
      EXPECT_TRUE(store_->PutSealed(*storage_, *sealed).ok());
    }
    auto sm = store_->SealMeta(c, m);
    EXPECT_TRUE(sm.ok()) << sm.status().message();
    EXPECT_TRUE(store_->PutSealed(*storage_, *sm).ok());
    return c;
  }
  std::string SegName(const std::string& c, int64_t base_ms, uint64_t s) const {
    return RedisObjectName({.kind = RedisObjectKind::kSegment,
                            .source = store_->source(),
                            .chain = c,
                            .hour = RedisHourOfMs(base_ms),
                            .start = s,
                            .end = s + 100});
  }
  CheckResult Check(bool read_data) {
    CheckResult r;
    CheckRedisStream(*repo_, *storage_, {read_data}, r.errors, r.warnings, r.report);
    return r;
  }
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<RedisStreamStore> store_;
};

TEST_F(RedisPruneStoreTest, PrunesOldChainsAndChecksClean) {
  const std::string a = PutChain(kT0), b = PutChain(kT0 + kHourMs), c = PutChain(kT0 + 2 * kHourMs);
  auto clean = Check(true);
  EXPECT_TRUE(clean.errors.empty()) << clean.errors.front();
  EXPECT_EQ(clean.report["objects_read"], 3u * 5);

  auto dry = PruneRedisStream(*repo_, *storage_, kT0 + kHourMs + 1, true);
  ASSERT_TRUE(dry.ok()) << dry.status().message();
  EXPECT_EQ(dry->objects_deleted, 5u);
  ASSERT_EQ(dry->chains_deleted.size(), 1u);
  EXPECT_EQ(dry->chains_deleted[0].name, store_->source() + "/" + a);
  EXPECT_EQ(dry->chains_deleted[0].objects, 5u);
  EXPECT_GT(dry->bytes_deleted, 400u);
  EXPECT_EQ(store_->List(*storage_)->chains.size(), 3u);  // a dry run deletes nothing

  auto r = PruneRedisStream(*repo_, *storage_, kT0 + kHourMs + 1, false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->bytes_deleted, dry->bytes_deleted);
  auto l = store_->List(*storage_);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->chains.size(), 2u);
  EXPECT_FALSE(l->chains.count(a));
  EXPECT_TRUE(l->chains.count(b) && l->chains.count(c));
  auto after = Check(true);
  EXPECT_TRUE(after.errors.empty()) << after.errors.front();

  // No kept Redis backup: nothing goes, and the report says so.
  auto none = PruneRedisStream(*repo_, *storage_, std::nullopt, false);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->objects_deleted, 0u);
  EXPECT_EQ(none->warnings.size(), 1u);
}

// A prune killed after any number of deletions: every chain that still has its meta has all its
// objects (a restore never trusts a meta whose segments are gone), the kept chains are untouched,
// check finds no damage, and the next prune finishes the job.
TEST_F(RedisPruneStoreTest, KilledAtEveryPointLeavesNothingMisread) {
  const int64_t window = kT0 + 2 * kHourMs + 1;
  for (size_t k = 0;; ++k) {
    SetUp();  // a fresh repository (its keys, so the chain ids, are new)
    const std::string a = PutChain(kT0), b = PutChain(kT0 + kHourMs), c = PutChain(kT0 + 2 * kHourMs);
    const auto before = store_->List(*storage_);
    ASSERT_TRUE(before.ok());
    const size_t total = PlanRedisPrune(*before, window).delete_.size();
    ASSERT_EQ(total, 10u);
    auto fault = std::make_shared<FaultStorage>(storage_);
    fault->Arm(FaultMode::kCrash, k);
    auto r = PruneRedisStream(*repo_, *fault, window, false);
    EXPECT_EQ(r.ok(), k >= total) << k;
    auto l = store_->List(*storage_);
    ASSERT_TRUE(l.ok());
    for (const auto& [id, ch] : l->chains) {
      if (!ch.has_meta) continue;
      const auto& orig = before->chains.at(id);
      EXPECT_EQ(ch.pieces, orig.pieces) << "k=" << k << " chain " << id;
      EXPECT_EQ(ch.segments.size(), orig.segments.size()) << "k=" << k << " chain " << id;
      EXPECT_EQ(ch.events, orig.events) << "k=" << k << " chain " << id;
    }
    EXPECT_TRUE(l->chains.count(c) && l->chains.at(c).has_meta) << k;
    auto chk = Check(true);
    EXPECT_TRUE(chk.errors.empty()) << "k=" << k << ": " << chk.errors.front();
    ASSERT_TRUE(PruneRedisStream(*repo_, *storage_, window, false).ok());
    l = store_->List(*storage_);
    EXPECT_EQ(l->chains.size(), 1u) << k;
    EXPECT_FALSE(l->chains.count(a) || l->chains.count(b)) << k;
    if (k >= total) break;
  }
}

TEST_F(RedisPruneStoreTest, CheckNamesADamagedSegmentWithReadData) {
  const std::string a = PutChain(kT0);
  const std::string seg = SegName(a, kT0, 1100);
  auto bytes = storage_->Get(seg);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= 1;
  ASSERT_TRUE(storage_->Remove(seg).ok());
  ASSERT_TRUE(storage_->Put(seg, bytes->data(), bytes->size(), PutMode::kCreateOnly).ok());
  EXPECT_TRUE(Check(false).errors.empty());  // the listing cannot see it
  auto r = Check(true);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find(seg), std::string::npos) << r.errors[0];
}

TEST_F(RedisPruneStoreTest, CheckReportsAHoleAndABadName) {
  const std::string a = PutChain(kT0);
  ASSERT_TRUE(storage_->Remove(SegName(a, kT0, 1100)).ok());
  const std::string bad = "redis/" + store_->source() + "/seg/" + a + "/2026111811/zz";
  ASSERT_TRUE(storage_->Put(bad, reinterpret_cast<const uint8_t*>("x"), 1, PutMode::kCreateOnly).ok());
  auto r = Check(false);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_NE(r.errors[0].find(bad), std::string::npos) << r.errors[0];
  EXPECT_NE(r.errors[1].find("stream bytes 1100-1200 are missing"), std::string::npos) << r.errors[1];
  EXPECT_EQ(r.report["sources"][0]["chains"][0]["durable_end"], 1100u);
}

}  // namespace
}  // namespace stb
