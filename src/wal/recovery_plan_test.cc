#include "wal/recovery_plan.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace stb
