#include "redisstream/restore_plan.h"

#include "redisstream/segment_fixture.h"

#include <gtest/gtest.h>

#include <map>

namespace stb {
namespace {

const std::string kReplA(40, 'a');
const std::string kReplB(40, 'b');

using testing::Cmd;
using testing::Seg;

struct World {
  std::vector<RedisPlanChain> chains;
  std::map<std::string, RedisStreamObject> objects;
  int loads = 0;
  void AddChain(const std::string& id, const std::string& replid, uint64_t base, int64_t base_ms) {
    RedisPlanChain c;
    c.id = id;
    c.meta.replid = replid;
    c.meta.base_offset = base;
    c.meta.base_ms = base_ms;
    chains.push_back(c);
  }
  // Appends a segment to the last chain; returns its end.
  uint64_t AddSeg(RedisStreamObject o) {
    RedisPlanSegment s{
        {o.start, o.end}, o.first_arrival_ms, o.last_arrival_ms, chains.back().id + "/" + std::to_string(o.start)};
    chains.back().segments.push_back(s);
    objects[s.name] = o;
    return o.end;
  }
  StatusOr<RedisRestorePlan> Plan(RedisRestoreTarget t, std::vector<RedisSnapshotBase> snaps = {}) {
    return PlanRedisRestore(chains, snaps, t, [this](const RedisPlanSegment& s) -> StatusOr<RedisStreamObject> {
      ++loads;
      auto it = objects.find(s.name);
      if (it == objects.end()) return NotFound(s.name);
      return it->second;
    });
  }
};

RedisRestoreTarget At(int64_t ms) { return {false, ms}; }

const std::string kSetA = Cmd({"SET", "a", "1"});
const std::string kSetB = Cmd({"SET", "b", "2"});
const std::string kSetC = Cmd({"SET", "c", "3"});

// One chain at offset 100: segment 1 [100, ..) at 1000/2000/3000 ms, segment 2 at 5000/6000.
World OneChain() {
  World w;
  w.AddChain("c1", kReplA, 100, 500);
  uint64_t e = w.AddSeg(Seg(100, 0, 0, {{Cmd({"SELECT", "0"}) + kSetA, 1000}, {kSetB, 2000}, {kSetC, 3000}}));
  w.AddSeg(Seg(e, 0, 0, {{Cmd({"DEL", "a"}), 5000}, {Cmd({"DEL", "b"}), 6000}}));
  return w;
}

TEST(RestorePlan, LatestIsTheEndOfTheNewestChain) {
  World w = OneChain();
  auto p = w.Plan({});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->chain, "c1");
  EXPECT_EQ(p->base_from, "stream");
  EXPECT_EQ(p->base_offset, 100u);
  EXPECT_EQ(p->cut, w.chains[0].segments[1].range.end);
  EXPECT_EQ(p->recovered_ms, 6000);
  EXPECT_EQ(p->recovered_replid, kReplA);
  EXPECT_EQ(p->segments.size(), 2u);
  EXPECT_EQ(p->replayed_bytes, p->cut - 100);
  EXPECT_FALSE(p->lost_interval_seconds.has_value());
}

TEST(RestorePlan, TimeInsideASegmentCutsByItsTimeIndex) {
  World w = OneChain();
  const uint64_t after_b = 100 + Cmd({"SELECT", "0"}).size() + kSetA.size() + kSetB.size();
  struct Row {
    int64_t t;
    uint64_t cut;
    int64_t recovered;
  } rows[] = {{2000, after_b, 2000},
              {2999, after_b, 2000},
              {3000, after_b + kSetC.size(), 3000},
              {1500, after_b - kSetB.size(), 1000},
              {700, 100, 500}};
  for (const auto& r : rows) {
    auto p = w.Plan(At(r.t));
    ASSERT_TRUE(p.ok()) << r.t << ": " << p.status().message();
    EXPECT_EQ(p->cut, r.cut) << r.t;
    EXPECT_EQ(p->recovered_ms, r.recovered) << r.t;
    EXPECT_TRUE(p->warnings.empty()) << r.t;
  }
}

TEST(RestorePlan, IdleTimeBetweenContiguousSegmentsCutsAtTheFirstOnesEnd) {
  World w = OneChain();
  auto p = w.Plan(At(4000));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->cut, w.chains[0].segments[0].range.end);
  EXPECT_EQ(p->segments.size(), 1u);
}

TEST(RestorePlan, CutInsideMultiMovesBackBeforeIt) {
  World w;
  w.AddChain("c1", kReplA, 0, 500);
  // MULTI opened at 2000, EXEC arrives at 3000: T = 2500 cuts before MULTI.
  w.AddSeg(Seg(0, 0, 0, {{kSetA, 1000}, {Cmd({"MULTI"}) + kSetB, 2000}, {kSetC + Cmd({"EXEC"}), 3000}}));
  auto p = w.Plan(At(2500));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->cut, kSetA.size());
  EXPECT_EQ(p->recovered_ms, 1000);
  auto q = w.Plan(At(3000));
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->cut, w.chains[0].segments[0].range.end);
}

TEST(RestorePlan, MultiOpenAcrossSegmentsGoesBackToThePreviousSegment) {
  World w;
  w.AddChain("c1", kReplA, 0, 500);
  uint64_t e = w.AddSeg(Seg(0, 0, 0, {{kSetA, 1000}, {Cmd({"MULTI"}), 1500}}));
  w.AddSeg(Seg(e, 0, 1, {{kSetB, 2000}, {Cmd({"EXEC"}), 3000}}));
  auto p = w.Plan(At(2500));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->cut, kSetA.size());
  EXPECT_EQ(p->segments.size(), 1u);
}

TEST(RestorePlan, GapBetweenChainsNamesTheIntervalAndRestartIsTheNextChain) {
  World w = OneChain();
  w.AddChain("c2", kReplB, 0, 10000);
  w.AddSeg(Seg(0, 0, 0, {{Cmd({"SELECT", "0"}) + kSetA, 11000}}));
  auto gap = w.Plan(At(8000));
  ASSERT_FALSE(gap.ok());
  const std::string m = gap.status().message();
  EXPECT_NE(m.find("no recoverable point at 1970-01-01T00:00:08.000Z"), std::string::npos) << m;
  EXPECT_NE(m.find("00:00:06.000Z … 1970-01-01T00:00:10.000Z missing"), std::string::npos) << m;
  EXPECT_NE(m.find("nearest"), std::string::npos) << m;
  auto next = w.Plan(At(12000));
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_EQ(next->chain, "c2");
  EXPECT_EQ(next->recovered_replid, kReplB);
  EXPECT_EQ(next->recovered_ms, 11000);
  EXPECT_EQ(next->warnings.size(), 1u);  // after the newest arrival
  auto latest = w.Plan({});
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->chain, "c2");
}

TEST(RestorePlan, BeforeTheFirstChainAndNoChainAreErrors) {
  World w = OneChain();
  auto p = w.Plan(At(100));
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("before the first stream chain"), std::string::npos);
  World none;
  EXPECT_FALSE(none.Plan({}).ok());
}

TEST(RestorePlan, AfterTheNewestArrivalWarnsAndRecoversTheNewestPoint) {
  World w = OneChain();
  auto p = w.Plan(At(99000));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_NE(p->warnings[0].find("after the newest arrival"), std::string::npos);
  EXPECT_EQ(p->recovered_ms, 6000);
}

// Segments [0,a) and [b,c) with b > a: bytes lost inside the chain.
World Holey(uint64_t& hole_start, uint64_t& hole_end) {
  World w;
  w.AddChain("c1", kReplA, 0, 500);
  hole_start = w.AddSeg(Seg(0, 0, 0, {{kSetA, 1000}}));
  hole_end = hole_start + 1000;
  w.AddSeg(Seg(hole_end, 0, 0, {{kSetB, 5000}, {kSetC, 6000}}));
  return w;
}

TEST(RestorePlan, TimeInMissingBytesAndMissingSegmentsAreNamed) {
  uint64_t hs = 0, he = 0;
  World w = Holey(hs, he);
  auto in_hole = w.Plan(At(3000));
  ASSERT_FALSE(in_hole.ok());
  EXPECT_NE(in_hole.status().message().find("missing (bytes " + std::to_string(hs) + "-" + std::to_string(he)),
            std::string::npos)
      << in_hole.status().message();
  // T after the hole: the stream base cannot reach it.
  auto after = w.Plan(At(5500));
  ASSERT_FALSE(after.ok());
  EXPECT_NE(
      after.status().message().find("stream bytes " + std::to_string(hs) + "-" + std::to_string(he) + " is missing"),
      std::string::npos)
      << after.status().message();
  // A backup taken at the hole's end makes it a base.
  auto based = w.Plan(At(5500), {{"backup-1", kReplA, he, 4000}});
  ASSERT_TRUE(based.ok()) << based.status().message();
  EXPECT_EQ(based->base_from, "backup-1");
  EXPECT_EQ(based->cut, he + kSetB.size());
  // latest stops before the hole, with a warning.
  auto latest = w.Plan({});
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->cut, hs);
  EXPECT_EQ(latest->warnings.size(), 1u);
}

TEST(RestorePlan, BaseIsTheHighestMatchingOffsetUpToTheCut) {
  World w = OneChain();
  w.chains[0].replid_switches.push_back({150, kReplB});
  const uint64_t cut = w.chains[0].segments[0].range.end;  // T = 4000
  struct Row {
    std::vector<RedisSnapshotBase> snaps;
    std::string from;
    uint64_t offset;
  } rows[] = {
      {{}, "stream", 100},
      {{{"s1", kReplA, 110, 0}}, "s1", 110},
      {{{"s1", kReplA, 110, 0}, {"s2", kReplA, 120, 0}}, "s2", 120},
      {{{"s1", kReplA, 110, 0}, {"s3", kReplB, 105, 0}}, "s1", 110},  // B names offsets from 150 only
      {{{"s1", kReplA, 110, 0}, {"s4", kReplB, 160, 0}}, "s4", 160},
      {{{"s5", kReplA, 160, 0}}, "stream", 100},      // A no longer names 160
      {{{"s6", kReplA, 150, 0}}, "s6", 150},          // both name the switch point
      {{{"s7", kReplA, 50, 0}}, "stream", 100},       // before the chain's base
      {{{"s8", kReplB, cut + 1, 0}}, "stream", 100},  // after the cut
      {{{"s9", std::string(40, 'c'), 110, 0}}, "stream", 100},
  };
  for (const auto& r : rows) {
    auto p = w.Plan(At(4000), r.snaps);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->base_from, r.from) << r.from;
    EXPECT_EQ(p->base_offset, r.offset) << r.from;
    EXPECT_EQ(p->replayed_bytes, cut - r.offset);
    EXPECT_EQ(p->recovered_replid, kReplB);
  }
}

// A replication id switch at offset 0 (review finding: S - 1 underflowed there and named the newest
// id as the one before the switch).
TEST(RestorePlan, ReplidSwitchAtOffsetZero) {
  World w;
  w.AddChain("c1", kReplA, 0, 500);
  w.AddSeg(Seg(0, 0, 0, {{Cmd({"SELECT", "0"}) + kSetA, 1000}, {kSetB, 2000}, {kSetC, 3000}}));
  const std::string kReplC(40, 'c');
  w.chains[0].replid_switches = {{20, kReplC}, {0, kReplB}};
  struct Row {
    std::vector<RedisSnapshotBase> snaps;
    std::string from;
    uint64_t offset;
  } rows[] = {
      {{}, "stream", 0},
      {{{"s1", kReplC, 0, 0}}, "stream", 0},  // C names offsets from 20 only
      {{{"s2", kReplB, 10, 0}}, "s2", 10},
      {{{"s3", kReplB, 20, 0}}, "s3", 20},    // both name the switch point
      {{{"s4", kReplC, 25, 0}}, "s4", 25},
      {{{"s5", kReplA, 10, 0}}, "stream", 0},  // A no longer names 10
  };
  for (const auto& r : rows) {
    auto p = w.Plan({}, r.snaps);
    ASSERT_TRUE(p.ok()) << p.status().message();
    EXPECT_EQ(p->base_from, r.from) << r.from;
    EXPECT_EQ(p->base_offset, r.offset) << r.from;
    EXPECT_EQ(p->recovered_replid, kReplC);
  }
}

TEST(RestorePlan, LostIntervalIsTheFirstLinkLostAfterTheRecoveredPoint) {
  World w = OneChain();
  RedisChainEvent early{RedisChainEvent::kLinkLost, 1500, 0, 0, "", ""};
  RedisChainEvent lost{RedisChainEvent::kLinkLost, 8500, 0, 0, "", ""};
  RedisChainEvent later{RedisChainEvent::kLinkLost, 9000, 0, 0, "", ""};
  w.chains[0].events = {later, early, lost};
  auto p = w.Plan({});
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->lost_interval_seconds.has_value());
  EXPECT_DOUBLE_EQ(*p->lost_interval_seconds, 2.5);
}

TEST(RestorePlan, ReportFields) {
  World w = OneChain();
  auto p = w.Plan({}, {{"backup-7", kReplA, 100 + Cmd({"SELECT", "0"}).size(), 0}});
  ASSERT_TRUE(p.ok());
  const auto r = RedisRestoreReport(*p, 4);
  EXPECT_EQ(r["recovered_to"]["time"], "1970-01-01T00:00:06.000Z");
  EXPECT_EQ(r["recovered_to"]["offset"], p->cut);
  EXPECT_EQ(r["recovered_to"]["replid"], kReplA);
  EXPECT_EQ(r["base"]["from"], "backup-7");
  EXPECT_EQ(r["base"]["offset"], 123u);
  EXPECT_EQ(r["replayed_bytes"], p->cut - 123);
  EXPECT_EQ(r["replayed_commands"], 4u);
  EXPECT_TRUE(r["lost_interval_seconds"].is_null());
  w.chains[0].events = {{RedisChainEvent::kLinkLost, 7000, 0, 0, "", ""}};
  EXPECT_EQ(RedisRestoreReport(*w.Plan({}), 0)["lost_interval_seconds"], 1.0);
}

TEST(RestorePlan, CorruptSegmentIsAnError) {
  World w = OneChain();
  w.objects[w.chains[0].segments[0].name].raw[0] = 'x';
  EXPECT_FALSE(w.Plan(At(2000)).ok());
}

}  // namespace
}  // namespace stb
