#include "wal/recovery_plan.h"

#include <gtest/gtest.h>

#include "repo_fixture.h"
#include "wal_segment.h"

namespace stb {
namespace {

constexpr uint32_t kSeg = 16u << 20;

WalListing Listing(std::map<uint32_t, std::vector<uint64_t>> segs) {
  WalListing l;
  l.seg_size = kSeg;
  for (const auto& [tli, list] : segs) {
    for (uint64_t s : list) l.timelines[tli].segments[s] = kSeg;
  }
  return l;
}

TEST(RecoveryPlan, OneTimelineToItsEnd) {
  auto p = PlanRecovery(Listing({{1, {3, 4, 5, 6}}}), {}, 1, 5 * uint64_t(kSeg) + 0x28);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->Timelines(), std::vector<uint32_t>({1}));
  EXPECT_EQ(p->wal_end_lsn, 7 * uint64_t(kSeg));
  EXPECT_EQ(p->last_segno, 6u);
  EXPECT_FALSE(p->gap);
}

TEST(RecoveryPlan, PartsExtendTheEnd) {
  WalListing l = Listing({{1, {5, 6}}});
  l.timelines[1].parts[7] = {{0, 8192}, {8192, 40960}, {81920, 90000}};
  auto p = PlanRecovery(l, {}, 1, 5 * uint64_t(kSeg));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->wal_end_lsn, 7 * uint64_t(kSeg) + 40960);
  EXPECT_EQ(p->last_segno, 7u);
  EXPECT_FALSE(p->gap);
}

TEST(RecoveryPlan, GapIsNamed) {
  auto p = PlanRecovery(Listing({{1, {5, 6, 8, 9}}}), {}, 1, 5 * uint64_t(kSeg));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->wal_end_lsn, 7 * uint64_t(kSeg));
  ASSERT_TRUE(p->gap);
  EXPECT_NE(p->gap->find("000000010000000000000007 missing (0/7000000-0/8000000)"), std::string::npos) << *p->gap;
}

TEST(RecoveryPlan, FollowsTimelinesToTheNewest) {
  // Timeline 2 branched off 1 at 0/7000100; timeline 3 off 2 at 0/9000000. PG reads segment 7
  // (holding the switch) from timeline 2, and 9 on from timeline 3.
  std::map<uint32_t, std::vector<TimelineHistoryEntry>> h;
  h[2] = {{1, 0x7000100}};
  h[3] = {{1, 0x7000100}, {2, 0x9000000}};
  WalListing l = Listing({{1, {5, 6}}, {2, {7, 8}}, {3, {9, 10}}});
  l.timelines[1].pg_partials.insert(7);
  auto p = PlanRecovery(l, h, 1, 5 * uint64_t(kSeg));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->Timelines(), std::vector<uint32_t>({1, 2, 3}));
  EXPECT_EQ(p->TimelineFor(6), 1u);
  EXPECT_EQ(p->TimelineFor(7), 2u);
  EXPECT_EQ(p->TimelineFor(9), 3u);
  EXPECT_EQ(p->TimelineAt(0x7000000), 1u);
  EXPECT_EQ(p->TimelineAt(0x7000100), 2u);
  EXPECT_EQ(p->wal_end_lsn, 11 * uint64_t(kSeg));
  EXPECT_FALSE(p->gap);
}

TEST(RecoveryPlan, ProbesContiguousHistoriesOnly) {
  // 3.history without 2.history: PostgreSQL's probe stops at 2, so does the plan.
  std::map<uint32_t, std::vector<TimelineHistoryEntry>> h;
  h[3] = {{1, 0x7000100}, {2, 0x9000000}};
  auto p = PlanRecovery(Listing({{1, {5, 6}}}), h, 1, 5 * uint64_t(kSeg));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Timelines(), std::vector<uint32_t>({1}));
}

TEST(RecoveryPlan, Refusals) {
  EXPECT_FALSE(PlanRecovery(WalListing{}, {}, 1, 0x5000000).ok());  // no WAL at all
  auto missing_start = PlanRecovery(Listing({{1, {6, 7}}}), {}, 1, 5 * uint64_t(kSeg));
  ASSERT_FALSE(missing_start.ok());
  EXPECT_NE(missing_start.status().message().find("000000010000000000000005"), std::string::npos);
  std::map<uint32_t, std::vector<TimelineHistoryEntry>> early;
  early[2] = {{1, 0x4000000}};  // branched before the backup started
  EXPECT_FALSE(PlanRecovery(Listing({{1, {5}}, {2, {5}}}), early, 1, 5 * uint64_t(kSeg)).ok());
}

TEST(RecoveryPlan, TargetTimeAfterTheNewestWalIsRefusedNamingIt) {
  auto p = PlanRecovery(Listing({{1, {5, 6}}}), {}, 1, 5 * uint64_t(kSeg));
  ASSERT_TRUE(p.ok());
  const double newest = 1795860300.5;  // 2026-11-28 10:05:00.5 UTC
  EXPECT_TRUE(CheckTargetTime(*p, newest - 60, newest).ok());
  EXPECT_TRUE(CheckTargetTime(*p, newest, newest).ok());
  EXPECT_TRUE(CheckTargetTime(*p, newest + 3600, 0).ok());  // unknown: PostgreSQL decides
  Status st = CheckTargetTime(*p, newest + 30, newest);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("2026-11-28T10:05:00.5"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("0/7000000"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("--latest"), std::string::npos) << st.message();
}

TEST(RecoveryPlan, NewestWalWrittenAtReadsTheObjectHoldingTheEnd) {
  constexpr uint32_t kSmall = 1u << 20;
  constexpr uint64_t kSysid = 7310931155431581234ull;
  std::shared_ptr<Storage> storage = NewMemStorage();
  ASSERT_TRUE(Repository::Init(*storage, FixtureKey()).ok());
  auto repo = std::move(Repository::Open(storage, FixtureKey()).value());
  WalStore store(*repo, WalStore::ClusterOf(*repo, kSysid));
  auto put = [&](const WalName& n, const Bytes& raw, int64_t ms) {
    ASSERT_TRUE(store.PutSealed(*storage, store.Seal(n, kSysid, kSmall, raw, ms)).ok());
  };
  put(SegmentWalName(1, 5, kSmall), FakeWalSegment(1, 5, kSmall, kSysid), 1795860000000);
  put(SegmentWalName(1, 6, kSmall), FakeWalSegment(1, 6, kSmall, kSysid), 1795860100000);
  auto listing = store.List(*storage);
  ASSERT_TRUE(listing.ok());
  auto p = PlanRecovery(*listing, {}, 1, 5 * uint64_t(kSmall));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(NewestWalWrittenAt(store, *storage, *listing, *p), 1795860100.0);
  // wal-receive's parts of the next segment: the one ending last was stored last.
  Bytes seg7 = FakeWalSegment(1, 7, kSmall, kSysid);
  WalName a = SegmentWalName(1, 7, kSmall, WalName::kPart), b = a;
  a.begin = 0;
  a.end = 8192;
  b.begin = 8192;
  b.end = 16384;
  put(a, Bytes(seg7.begin(), seg7.begin() + 8192), 1795860200000);
  put(b, Bytes(seg7.begin() + 8192, seg7.begin() + 16384), 1795860201000);
  listing = store.List(*storage);
  ASSERT_TRUE(listing.ok());
  p = PlanRecovery(*listing, {}, 1, 5 * uint64_t(kSmall));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->last_segno, 7u);
  EXPECT_EQ(NewestWalWrittenAt(store, *storage, *listing, *p), 1795860201.0);
}

}  // namespace
}  // namespace stb
