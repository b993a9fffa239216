#include "checker/wal_check.h"

#include <gtest/gtest.h>

#include "maintenance/wal_prune.h"
#include "repo_fixture.h"
#include "wal_segment.h"

namespace stb {
namespace {

constexpr uint32_t kSeg = 1u << 20;
constexpr uint64_t kSysid = 7310931155431581234ull;

Bytes Segment(uint32_t tli, uint64_t segno) { return FakeWalSegment(tli, segno, kSeg, kSysid); }

class WalCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = NewMemStorage();
    ASSERT_TRUE(Repository::Init(*storage_, FixtureKey()).ok());
    repo_ = std::move(Repository::Open(storage_, FixtureKey()).value());
    store_ = std::make_unique<WalStore>(*repo_, WalStore::ClusterOf(*repo_, kSysid));
  }
  void Push(uint32_t tli, uint64_t segno, int64_t written_ms) {
    ASSERT_TRUE(store_
                    ->PutSealed(*storage_, store_->Seal(SegmentWalName(tli, segno, kSeg), kSysid, kSeg,
                                                        Segment(tli, segno), written_ms))
                    .ok());
  }
  std::vector<std::string> errors, warnings;
  nlohmann::json report;
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<WalStore> store_;
};

TEST(WalGaps, RunsBetweenOldestAndNewest) {
  WalTimeline t;
  for (uint64_t s : {3, 4, 7, 9}) t.segments[s] = 1;
  auto g = FindWalGaps(t);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].first, 5u);
  EXPECT_EQ(g[0].last, 6u);
  EXPECT_EQ(g[1].first, 8u);
  EXPECT_EQ(g[1].last, 8u);
  // A base backup starting before the oldest stored segment needs the ones in between.
  g = FindWalGaps(t, 1);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].first, 1u);
  EXPECT_EQ(g[0].last, 2u);
  // The newest segment may be covered by parts from offset 0 only.
  t.parts[10].push_back({0, 0x1000});
  EXPECT_EQ(FindWalGaps(t).size(), 2u);
  t.parts[12].push_back({0x1000, 0x2000});  // not from 0: does not count
  EXPECT_EQ(FindWalGaps(t).size(), 2u);
}

TEST_F(WalCheckTest, CompleteWalPassesAndAGapIsNamedWithItsRanges) {
  for (uint64_t s = 2; s <= 5; ++s) Push(1, s, 1764320000000 + int64_t(s) * 1000);
  CheckWal(*repo_, *storage_, {}, errors, warnings, report);
  EXPECT_TRUE(errors.empty()) << errors[0];
  EXPECT_EQ(report["segments"], 4);
  EXPECT_EQ(report["gaps"], 0);

  ASSERT_TRUE(storage_->Remove(store_->ObjectName(SegmentWalName(1, 3, kSeg))).ok());
  errors.clear();
  CheckWal(*repo_, *storage_, {}, errors, warnings, report);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "wal: 000000010000000000000003 missing (cluster " + store_->cluster() +
                           ", timeline 1, 0/300000-0/400000): WAL written between " + IsoTimestamp(1764320002.0) +
                           " and " + IsoTimestamp(1764320004.0) +
                           " cannot be replayed; recovery from an earlier backup stops at 0/300000");
  EXPECT_EQ(report["gaps"], 1);
}

TEST_F(WalCheckTest, ReadDataOpensEveryObject) {
  Push(1, 2, 1);
  Push(1, 3, 2);
  std::string name = store_->ObjectName(SegmentWalName(1, 3, kSeg));
  Bytes b = storage_->Get(name).value();
  b[100] ^= 1;
  ASSERT_TRUE(storage_->Put(name, b).ok());
  CheckWal(*repo_, *storage_, {}, errors, warnings, report);
  EXPECT_TRUE(errors.empty());  // a listing does not read the data
  WalCheckOptions o;
  o.read_data = true;
  CheckWal(*repo_, *storage_, o, errors, warnings, report);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(name + " in mem fails authentication"), std::string::npos) << errors[0];
}

TEST_F(WalCheckTest, PruneKeepsEverythingWithoutPhysicalBackupsAndCutsBelowTheOldestStart) {
  for (uint64_t s = 2; s <= 6; ++s) Push(1, s, 1);
  std::string hist = "1\t0/300000\tx\n";
  ASSERT_TRUE(store_
                  ->PutSealed(*storage_, store_->Seal(*ParsePgWalFileName("00000002.history"), kSysid, 0,
                                                      {reinterpret_cast<const uint8_t*>(hist.data()), hist.size()}))
                  .ok());
  auto r = PruneWal(*repo_, *storage_, {}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->objects_deleted, 0u);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("all 6 WAL objects are kept"), std::string::npos) << r->warnings[0];
  // A backup starting inside segment 4 needs 4 onwards: 2 and 3 go; the history file stays.
  WalBackupStart b{"20261128_100000", store_->cluster(), 1, 4 * kSeg + 0x28};
  r = PruneWal(*repo_, *storage_, {b}, true);
  EXPECT_EQ(r->objects_deleted, 2u);
  EXPECT_TRUE(store_->Read(*storage_, SegmentWalName(1, 2, kSeg)).ok());  // dry run
  r = PruneWal(*repo_, *storage_, {b}, false);
  EXPECT_EQ(r->objects_deleted, 2u);
  EXPECT_EQ(store_->Read(*storage_, SegmentWalName(1, 3, kSeg)).status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->Read(*storage_, SegmentWalName(1, 4, kSeg)).ok());
  EXPECT_TRUE(store_->Read(*storage_, *ParsePgWalFileName("00000002.history")).ok());
  errors.clear();
  CheckWal(*repo_, *storage_, {}, errors, warnings, report);
  EXPECT_TRUE(errors.empty());
  // The backup's start is checked against what is stored.
  WalCheckOptions o;
  o.backups = {WalBackupStart{"20261128_090000", store_->cluster(), 1, 2 * kSeg}};
  CheckWal(*repo_, *storage_, o, errors, warnings, report);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("000000010000000000000002..000000010000000000000003 (2 segments) missing"),
            std::string::npos)
      << errors[0];
}

}  // namespace
}  // namespace stb
