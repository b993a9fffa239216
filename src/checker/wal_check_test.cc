#include "checker/wal_check.h"

#include <gtest/gtest.h>

#include "checker/recovery_window.h"
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

// WAL lost before every kept base backup (a slot PostgreSQL invalidated, then a new base backup)
// is no restore's business: a warning; the same gap after a backup's start stays an error.
TEST_F(WalCheckTest, AGapBeforeEveryKeptBackupIsAWarning) {
  for (uint64_t s : {2, 7, 8, 9}) Push(1, s, 1764320000000 + int64_t(s) * 1000);
  WalCheckOptions o;
  o.backups.push_back({"b1", store_->cluster(), 1, 7 * kSeg + 40, 8 * kSeg, 0});
  CheckWal(*repo_, *storage_, o, errors, warnings, report);
  EXPECT_TRUE(errors.empty()) << errors[0];
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("000000010000000000000003..000000010000000000000006 (4 segments) missing"),
            std::string::npos)
      << warnings[0];
  o.backups[0].start_lsn = 6 * kSeg;
  warnings.clear();
  CheckWal(*repo_, *storage_, o, errors, warnings, report);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(warnings.empty());
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

// A snapshot as the physical base backup writes it (component database, kind postgresql-physical).
SnapshotRef PhysicalSnapshot(const std::string& id, const std::string& cluster, uint32_t tli, uint64_t start,
                             uint64_t end, double end_time) {
  SnapshotRef r;
  r.backup_id = id;
  r.object = "snapshots/" + id;
  r.doc = nlohmann::json::parse(R"({"type": "full", "components": {"database": {"kind": "postgresql-physical",
      "system_identifier": "7310931155431581234", "wal_segment_size": 1048576, "label": "x", "end_tli": 1,
      "wal_source": "archive", "roots": []}}})");
  auto& e = r.doc["components"]["database"];
  e["wal_cluster"] = cluster;
  e["start_tli"] = tli;
  e["start_lsn"] = FormatLsn(start);
  e["end_lsn"] = FormatLsn(end);
  e["end_time_unix"] = end_time;
  return r;
}

TEST(WalWindow, ContiguousEnd) {
  WalTimeline t;
  for (uint64_t s : {3, 4, 5, 7}) t.segments[s] = 1;
  EXPECT_EQ(ContiguousWalEnd(t, 3), 5u);
  EXPECT_EQ(ContiguousWalEnd(t, 7), 7u);
  EXPECT_FALSE(ContiguousWalEnd(t, 6).has_value());
  t.parts[8].push_back({0, 0x1000});  // the newest segment as parts from 0 extends the run
  EXPECT_EQ(ContiguousWalEnd(t, 7), 8u);
}

TEST_F(WalCheckTest, RecoveryWindowRunsFromTheBackupsEndToTheNewestContiguousWal) {
  const int64_t t0 = 1764320000000;
  for (uint64_t s = 2; s <= 6; ++s) Push(1, s, t0 + int64_t(s) * 1000);
  Push(1, 8, t0 + 8000);  // after a gap (7 missing): not replayable from these backups
  // Two backups recover into the same run; the window starts at the earlier's end.
  std::vector<SnapshotRef> snaps = {
      PhysicalSnapshot("20261128_100000", store_->cluster(), 1, 2 * kSeg + 0x28, 2 * kSeg + 0x138, 1764320002.5),
      PhysicalSnapshot("20261128_110000", store_->cluster(), 1, 4 * kSeg + 0x28, 4 * kSeg + 0x138, 1764320004.5),
      // Its own WAL is missing (7): it opens no window.
      PhysicalSnapshot("20261128_120000", store_->cluster(), 1, 7 * kSeg + 0x28, 7 * kSeg + 0x138, 1764320007.5)};
  // A logical snapshot has no window.
  SnapshotRef logical;
  logical.backup_id = "20261128_090000";
  logical.doc = nlohmann::json::parse(R"({"components": {"database": {"kind": "postgresql", "dump": "x"}}})");
  snaps.push_back(logical);
  auto w = RecoveryWindows(*repo_, *storage_, snaps, errors);
  EXPECT_TRUE(errors.empty()) << errors[0];
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].tli, 1u);
  EXPECT_EQ(w[0].from_time, 1764320002.5);
  EXPECT_EQ(w[0].to_time, 1764320006.0);
  EXPECT_EQ(w[0].to_lsn, 7u * kSeg);
  EXPECT_EQ(w[0].backup_ids, (std::vector<std::string>{"20261128_100000", "20261128_110000"}));
  auto j = RecoveryWindowsJson(w);
  EXPECT_EQ(j[0]["tli"], 1);
  EXPECT_EQ(j[0]["from_time"], IsoTimestamp(1764320002.5));
  EXPECT_EQ(j[0]["to_time"], IsoTimestamp(1764320006.0));
  EXPECT_EQ(j[0]["seconds"], 3.5);
  // Segment 7 arrives: the run now reaches 8, and the third backup recovers into it too.
  Push(1, 7, t0 + 7000);
  w = RecoveryWindows(*repo_, *storage_, snaps, errors);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].to_time, 1764320008.0);
  EXPECT_EQ(w[0].backup_ids.size(), 3u);
}

TEST_F(WalCheckTest, RecoveryWindowFollowsTheTimelinesAfterAFailover) {
  const int64_t t0 = 1764320000000;
  for (uint64_t s = 2; s <= 5; ++s) Push(1, s, t0 + int64_t(s) * 1000);
  // A standby promoted at 0/5000100 (in segment 5): timeline 2 goes on to segment 7.
  for (uint64_t s = 5; s <= 7; ++s) Push(2, s, t0 + 10000 + int64_t(s) * 1000);
  std::string history = "1\t" + FormatLsn(5 * kSeg + 0x100) + "\tno recovery target specified\n";
  ASSERT_TRUE(store_
                  ->PutSealed(*storage_, store_->Seal(WalName{WalName::kHistory, 2}, kSysid, kSeg,
                                                      Bytes(history.begin(), history.end()), t0 + 15000))
                  .ok());
  std::vector<SnapshotRef> snaps = {
      PhysicalSnapshot("20261128_100000", store_->cluster(), 1, 2 * kSeg + 0x28, 2 * kSeg + 0x138, 1764320002.5)};
  auto w = RecoveryWindows(*repo_, *storage_, snaps, errors);
  EXPECT_TRUE(errors.empty()) << errors[0];
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].tli, 2u);
  EXPECT_EQ(w[0].timeline_path, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(w[0].to_lsn, 8u * kSeg);
  EXPECT_EQ(w[0].to_time, 1764320017.0);
  EXPECT_EQ(RecoveryWindowsJson(w)[0]["timeline_path"], nlohmann::json::array({1, 2}));
}

}  // namespace
}  // namespace stb
