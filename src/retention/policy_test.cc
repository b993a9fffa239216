#include "retention/policy.h"

#include <gtest/gtest.h>

#include "time_util.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <map>
#include <random>
#include <set>

namespace stb {
namespace {

// Bucketing happens in local time, so every test fixes the zone it means (ScopedTz).
using testing::ScopedTz;
using testing::Utc;

std::string Format(int64_t t, const char* fmt) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

std::string Stamp(int64_t t) { return Format(t, "%Y-%m-%d %H:%M"); }

// 2024 (a leap year, Monday 1 January to Tuesday 31 December): a full backup every midnight and
// an incremental at half past every hour. Ids are "full 2024-03-01 00:00", "inc 2024-03-01 05:30".
std::vector<RetentionItem> YearOfBackups() {
  std::vector<RetentionItem> v;
  for (int day = 0; day < 366; day++) {
    const int64_t midnight = Utc(2024, 1, 1) + day * 86400LL;
    v.push_back({"full " + Stamp(midnight), midnight, "full"});
    for (int h = 0; h < 24; h++) {
      const int64_t t = midnight + h * 3600 + 1800;
      v.push_back({"inc " + Stamp(t), t, "incremental"});
    }
  }
  return v;
}

std::vector<RetentionItem> OfType(const std::vector<RetentionItem>& items, const std::string& type) {
  std::vector<RetentionItem> out;
  for (const auto& i : items) {
    if (i.type == type) out.push_back(i);
  }
  return out;
}

std::string Full(const std::string& date) { return "full " + date + " 00:00"; }

const int64_t kLongAfter = Utc(2030, 1, 1);  // "now" for timelines in the past

std::vector<Decision> Apply(const std::vector<RetentionItem>& items, const Policy& p, int64_t now = kLongAfter) {
  auto r = ApplyPolicy(items, p, now);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : std::vector<Decision>{};
}

std::vector<std::string> KeptIds(const std::vector<Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) {
    if (d.keep) out.push_back(d.item.id);
  }
  return out;
}

std::vector<std::string> AllIds(const std::vector<Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.item.id);
  return out;
}

std::map<std::string, std::vector<std::string>> KeptReasons(const std::vector<Decision>& ds) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& d : ds) {
    if (d.keep) out[d.item.id] = d.reasons;
  }
  return out;
}

// The expected result of one --keep-<bucket> n rule, found by grouping rather than by walking
// the list: label every snapshot with strftime(fmt) in UTC, take the newest snapshot (first in
// input order on ties) of each of the n latest labels, and add the oldest snapshot when fewer
// than n labels exist (restic keeps it to stretch the history while budget is left).
std::vector<std::string> NewestPerBucket(const std::vector<RetentionItem>& items, const char* fmt, int n) {
  std::vector<size_t> order(items.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return items[a].time_unix != items[b].time_unix ? items[a].time_unix > items[b].time_unix : a < b;
  });
  std::map<std::string, size_t, std::greater<>> newest;  // label -> position in order, newest label first
  for (size_t pos = 0; pos < order.size(); pos++) newest.try_emplace(Format(items[order[pos]].time_unix, fmt), pos);
  std::set<size_t> kept;
  int taken = 0;
  for (const auto& [label, pos] : newest) {
    if (n != -1 && taken == n) break;
    kept.insert(pos);
    taken++;
  }
  if (!order.empty() && (n == -1 || static_cast<int>(newest.size()) < n)) kept.insert(order.size() - 1);
  std::vector<std::string> out;
  for (size_t pos : kept) out.push_back(items[order[pos]].id);
  return out;
}

void ExpectOnlyReason(const std::vector<Decision>& ds, const std::string& reason) {
  for (size_t i = 0; i < ds.size(); i++) {
    if (!ds[i].keep) continue;
    const bool oldest_extra = i + 1 == ds.size() && ds[i].reasons == std::vector<std::string>{"oldest " + reason};
    EXPECT_TRUE(ds[i].reasons == std::vector<std::string>{reason} || oldest_extra) << ds[i].item.id;
  }
}

// --- Parsing -------------------------------------------------------------------------------------

TEST(ParseWithinTest, AcceptsResticSyntax) {
  struct Case {
    const char* text;
    Duration want;
    const char* canonical;
  } cases[] = {
      {"9h", {0, 0, 0, 9}, "9h"},         {"3d", {0, 0, 3, 0}, "3d"},     {"1y2m3d4h", {1, 2, 3, 4}, "1y2m3d4h"},
      {"5d7m", {0, 7, 5, 0}, "7m5d"},                                      // any order; printed canonically
      {"4h3d9m", {0, 9, 3, 4}, "9m3d4h"}, {"  2d\n", {0, 0, 2, 0}, "2d"},  // surrounding space is trimmed
      {"1d2d", {0, 0, 2, 0}, "2d"},                                        // a repeated unit replaces, as in restic
      {"0d", {0, 0, 0, 0}, ""},
  };
  for (const auto& c : cases) {
    auto d = ParseWithin(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status().message();
    EXPECT_EQ(d->years, c.want.years) << c.text;
    EXPECT_EQ(d->months, c.want.months) << c.text;
    EXPECT_EQ(d->days, c.want.days) << c.text;
    EXPECT_EQ(d->hours, c.want.hours) << c.text;
    EXPECT_EQ(d->ToString(), c.canonical) << c.text;
  }
}

TEST(ParseWithinTest, RejectsOtherTextNamingTheOption) {
  auto r = ParseWithin("5x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "--keep-within: '5x' is not a duration like 1y2m3d4h");
  for (const char* bad : {"", "   ", "5", "d", "2w", "1y4m3w1d", "1.5d", "+1d", "1 d", "-1d", "1y-2m", "3000000000d"}) {
    auto b = ParseWithin(bad);
    ASSERT_FALSE(b.ok()) << "'" << bad << "'";
    EXPECT_EQ(b.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(b.status().message().rfind("--keep-within: '", 0), 0u) << b.status().message();
  }
}

TEST(ParseKeepCountTest, NumbersAndUnlimited) {
  EXPECT_EQ(*ParseKeepCount("--keep-daily", "0"), 0);
  EXPECT_EQ(*ParseKeepCount("--keep-daily", "7"), 7);
  EXPECT_EQ(*ParseKeepCount("--keep-daily", "unlimited"), -1);
  EXPECT_EQ(*ParseKeepCount("--keep-daily", "-1"), -1);
  for (const char* bad : {"", "-2", "x", "7d", " 7", "1e3", "99999999999"}) {
    auto r = ParseKeepCount("--keep-weekly", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind("--keep-weekly: '", 0), 0u) << r.status().message();
  }
}

TEST(PolicyTest, ValidationNamesTheOption) {
  Policy p;
  p.daily = -2;
  auto st = ValidatePolicy(p);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("--keep-daily: -2 ", 0), 0u) << st.message();
  p = Policy{};
  p.yearly = -5;
  EXPECT_EQ(ValidatePolicy(p).message().rfind("--keep-yearly: ", 0), 0u);
  p = Policy{};
  p.within = "5x";
  auto r = ApplyPolicy({{"a", 1, "full"}}, p, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "--keep-within: '5x' is not a duration like 1y2m3d4h");
  p = Policy{};
  p.last = -1;
  EXPECT_TRUE(ValidatePolicy(p).ok());
}

TEST(PolicyTest, Empty) {
  EXPECT_TRUE(Policy{}.Empty());
  Policy p;
  p.within = "0d";  // a zero duration is no rule (restic's Duration.Zero)
  EXPECT_TRUE(p.Empty());
  p.within = "1h";
  EXPECT_FALSE(p.Empty());
  p.within = "5x";  // invalid is not "empty": applying it reports the error instead
  EXPECT_FALSE(p.Empty());
  Policy q;
  q.last = -1;
  EXPECT_FALSE(q.Empty());
  EXPECT_FALSE(DefaultRetention().full.Empty());
  EXPECT_FALSE(DefaultRetention().incremental.Empty());
}

TEST(PolicyTest, Describe) {
  EXPECT_EQ(DefaultRetention().full.Describe(), "keep 7 daily, 4 weekly, 12 monthly, 3 yearly snapshots");
  EXPECT_EQ(DefaultRetention().incremental.Describe(), "keep all snapshots within 1d of the newest");
  Policy p;
  p.last = 2;
  p.hourly = -1;
  p.within = "5d7m";
  EXPECT_EQ(p.Describe(), "keep 2 latest, all hourly snapshots and all snapshots within 7m5d of the newest");
  EXPECT_EQ(Policy{}.Describe(), "no policy (keeps everything)");
}

// --- ApplyPolicy, small hand-checked cases ------------------------------------------------------

TEST(ApplyPolicyTest, EmptyInputAndEmptyPolicy) {
  Policy daily;
  daily.daily = 3;
  EXPECT_TRUE(Apply({}, daily).empty());
  auto ds = Apply({{"a", Utc(2024, 1, 1), "full"}, {"b", Utc(2024, 1, 2), "full"}}, Policy{});
  ASSERT_EQ(ds.size(), 2u);
  for (const auto& d : ds) {
    EXPECT_TRUE(d.keep);
    EXPECT_EQ(d.reasons, std::vector<std::string>{"no policy"});
  }
}

TEST(ApplyPolicyTest, KeepLastSortsNewestFirstAndKeepsTiesInInputOrder) {
  ScopedTz tz("UTC");
  const std::vector<RetentionItem> items = {{"a", Utc(2024, 5, 1, 10), "full"},
                                            {"b", Utc(2024, 5, 1, 12), "full"},
                                            {"c", Utc(2024, 5, 1, 11), "full"},
                                            {"d", Utc(2024, 5, 1, 12), "full"},
                                            {"e", Utc(2024, 5, 1, 9), "full"}};
  Policy p;
  p.last = 3;
  auto ds = Apply(items, p);
  EXPECT_EQ(AllIds(ds), (std::vector<std::string>{"b", "d", "c", "a", "e"}));
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"b", "d", "c"}));
  ExpectOnlyReason(ds, "last snapshot");
  p.last = 10;  // more than there are: all kept, never as "oldest" (each snapshot is its own bucket)
  ds = Apply(items, p);
  EXPECT_EQ(KeptIds(ds).size(), 5u);
  EXPECT_EQ(ds.back().reasons, std::vector<std::string>{"last snapshot"});
  p.last = -1;
  EXPECT_EQ(KeptIds(Apply(items, p)).size(), 5u);
}

TEST(ApplyPolicyTest, TieInOneBucketKeepsTheFirstInInputOrder) {
  ScopedTz tz("UTC");
  Policy p;
  p.daily = 1;
  const int64_t t = Utc(2024, 5, 5, 10);
  EXPECT_EQ(KeptIds(Apply({{"x", t, "full"}, {"y", t, "full"}}, p)), std::vector<std::string>{"x"});
  EXPECT_EQ(KeptIds(Apply({{"y", t, "full"}, {"x", t, "full"}}, p)), std::vector<std::string>{"y"});
}

TEST(ApplyPolicyTest, SeveralInOneBucketKeepTheNewest) {
  ScopedTz tz("UTC");
  const std::vector<RetentionItem> items = {{"morning", Utc(2024, 5, 5, 8), "full"},
                                            {"evening", Utc(2024, 5, 5, 20), "full"},
                                            {"noon", Utc(2024, 5, 5, 12), "full"}};
  Policy p;
  p.daily = 1;
  auto ds = Apply(items, p);
  EXPECT_EQ(KeptIds(ds), std::vector<std::string>{"evening"});
  // Budget left at the oldest snapshot: restic keeps it too, marked "oldest".
  p.daily = 2;
  ds = Apply(items, p);
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"evening", "morning"}));
  EXPECT_EQ(KeptReasons(ds)["morning"], std::vector<std::string>{"oldest daily snapshot"});
}

TEST(ApplyPolicyTest, IsoWeeksCrossTheYearBoundary) {
  ScopedTz tz("UTC");
  // 2024-12-30 (Mon) and 2025-01-05 (Sun) are both in ISO week 1 of 2025.
  const std::vector<RetentionItem> items = {{"2025-01-05", Utc(2025, 1, 5, 12), "full"},
                                            {"2024-12-27", Utc(2024, 12, 27, 12), "full"},
                                            {"2024-12-30", Utc(2024, 12, 30, 12), "full"},
                                            {"2025-01-06", Utc(2025, 1, 6, 12), "full"},
                                            {"2024-12-29", Utc(2024, 12, 29, 12), "full"}};
  Policy p;
  p.weekly = 3;
  auto ds = Apply(items, p);
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"2025-01-06", "2025-01-05", "2024-12-29"}));
  p.weekly = 4;
  ds = Apply(items, p);
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"2025-01-06", "2025-01-05", "2024-12-29", "2024-12-27"}));
  EXPECT_EQ(KeptReasons(ds)["2024-12-27"], std::vector<std::string>{"oldest weekly snapshot"});
}

TEST(ApplyPolicyTest, BucketsUseLocalTime) {
  ScopedTz tz("EST5");  // UTC-5 all year
  // Local days: "late" is 1 June 22:00, "early" 1 June 15:00, "next" 2 June 01:00.
  const std::vector<RetentionItem> items = {{"early", Utc(2024, 6, 1, 20), "full"},
                                            {"late", Utc(2024, 6, 2, 3), "full"},
                                            {"next", Utc(2024, 6, 2, 6), "full"}};
  Policy p;
  p.daily = 2;
  EXPECT_EQ(KeptIds(Apply(items, p)), (std::vector<std::string>{"next", "late"}));
}

TEST(ApplyPolicyTest, ReasonsListEveryRuleInResticOrder) {
  ScopedTz tz("UTC");
  const std::vector<RetentionItem> items = {{"new", Utc(2024, 6, 10, 12), "full"},
                                            {"same-day", Utc(2024, 6, 10, 8), "full"},
                                            {"old", Utc(2024, 5, 1, 12), "full"}};
  Policy p;
  p.last = 1;
  p.daily = 5;
  p.monthly = 1;
  p.within = "24h";
  auto reasons = KeptReasons(Apply(items, p));
  EXPECT_EQ(reasons["new"],
            (std::vector<std::string>{"within 24h", "last snapshot", "daily snapshot", "monthly snapshot"}));
  EXPECT_EQ(reasons["same-day"], std::vector<std::string>{"within 24h"});
  EXPECT_EQ(reasons["old"], std::vector<std::string>{"daily snapshot"});
}

// --- keep-within -------------------------------------------------------------------------------

TEST(KeepWithinTest, MonthsAreCalendarStepsWithOverflowingDaysCarried) {
  ScopedTz tz("UTC");
  Policy p;
  p.within = "1m";
  // One month before 31 March 2024 is "31 February", which is 2 March in a leap year.
  std::vector<RetentionItem> items = {{"latest", Utc(2024, 3, 31, 12), "full"},
                                      {"just-inside", Utc(2024, 3, 2, 12, 0, 1), "full"},
                                      {"boundary", Utc(2024, 3, 2, 12), "full"},  // not after the start
                                      {"mar-1", Utc(2024, 3, 1, 12), "full"},
                                      {"feb-29", Utc(2024, 2, 29, 12), "full"}};
  EXPECT_EQ(KeptIds(Apply(items, p)), (std::vector<std::string>{"latest", "just-inside"}));
  // ... and 3 March in 2023.
  items = {{"latest", Utc(2023, 3, 31, 12), "full"},
           {"mar-3-13h", Utc(2023, 3, 3, 13), "full"},
           {"mar-3-12h", Utc(2023, 3, 3, 12), "full"},
           {"feb-28", Utc(2023, 2, 28, 12), "full"}};
  EXPECT_EQ(KeptIds(Apply(items, p)), (std::vector<std::string>{"latest", "mar-3-13h"}));
}

TEST(KeepWithinTest, AllUnitsTogether) {
  ScopedTz tz("UTC");
  Policy p;
  p.within = "1y2m3d4h";
  // 2024-05-10 10:00 - 1y - 2m - 3d = 2023-03-07 10:00, - 4h = 06:00.
  const std::vector<RetentionItem> items = {{"latest", Utc(2024, 5, 10, 10), "full"},
                                            {"in", Utc(2023, 3, 7, 6, 1), "full"},
                                            {"out", Utc(2023, 3, 7, 6, 0), "full"}};
  auto ds = Apply(items, p);
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"latest", "in"}));
  EXPECT_EQ(KeptReasons(ds)["in"], std::vector<std::string>{"within 1y2m3d4h"});
}

TEST(KeepWithinTest, CalendarStepsFollowLocalDaylightSavingTime) {
  ScopedTz tz("CET-1CEST,M3.5.0,M10.5.0/3");  // Central Europe, without needing tzdata
  Policy p;
  p.within = "1m";
  // Latest: 15 April 12:00 CEST (10:00 UTC). One month earlier is 15 March 12:00 CET (11:00 UTC),
  // not 10:00 UTC as a month counted in UTC would give.
  const std::vector<RetentionItem> items = {{"latest", Utc(2024, 4, 15, 10), "full"},
                                            {"in", Utc(2024, 3, 15, 11, 0, 1), "full"},
                                            {"out", Utc(2024, 3, 15, 10, 30), "full"}};
  EXPECT_EQ(KeptIds(Apply(items, p)), (std::vector<std::string>{"latest", "in"}));
  // The other way round: 15 November 12:00 CET (11:00 UTC) goes back to 15 October 12:00 CEST,
  // which is 10:00 UTC.
  const std::vector<RetentionItem> autumn = {{"latest", Utc(2024, 11, 15, 11), "full"},
                                             {"in", Utc(2024, 10, 15, 10, 30), "full"},
                                             {"out", Utc(2024, 10, 15, 10), "full"}};
  EXPECT_EQ(KeptIds(Apply(autumn, p)), (std::vector<std::string>{"latest", "in"}));
}

TEST(KeepWithinTest, CountsFromTheNewestSnapshotNotNowAndIgnoresFutureOnes) {
  ScopedTz tz("UTC");
  Policy p;
  p.within = "1d";
  const int64_t now = Utc(2024, 6, 5, 6);
  const std::vector<RetentionItem> items = {{"future", Utc(2024, 6, 10), "full"},  // clock skew
                                            {"latest", Utc(2024, 6, 5), "full"},
                                            {"day-before", Utc(2024, 6, 4, 12), "full"},
                                            {"older", Utc(2024, 6, 3, 12), "full"}};
  EXPECT_EQ(KeptIds(Apply(items, p, now)), (std::vector<std::string>{"future", "latest", "day-before"}));
  // Long after the newest snapshot, the range still ends at it.
  EXPECT_EQ(KeptIds(Apply(items, p, Utc(2030, 1, 1))), (std::vector<std::string>{"future"}));
  // Everything in the future: nothing to count from, so nothing is old enough to go.
  EXPECT_EQ(KeptIds(Apply(items, p, Utc(2020, 1, 1))).size(), 4u);
}

// --- A year of backups, each rule against an independent count -----------------------------------

class YearTest : public ::testing::Test {
 protected:
  void SetUp() override {
    all_ = YearOfBackups();
    // Shuffled, so the result cannot depend on the input happening to be sorted.
    std::mt19937 rng(42);
    std::shuffle(all_.begin(), all_.end(), rng);
    fulls_ = OfType(all_, "full");
    incs_ = OfType(all_, "incremental");
  }
  ScopedTz tz_{"UTC"};
  std::vector<RetentionItem> all_, fulls_, incs_;
};

TEST_F(YearTest, Timeline) {
  EXPECT_EQ(fulls_.size(), 366u);
  EXPECT_EQ(incs_.size(), 366u * 24);
}

TEST_F(YearTest, EachBucketRuleKeepsTheNewestOfTheLatestNBuckets) {
  struct Rule {
    int Policy::*field;
    const char* fmt;
    const char* reason;
    bool on_incrementals;  // hourly needs several snapshots a day
    std::vector<int> counts;
  } rules[] = {
      {&Policy::hourly, "%Y-%m-%d %H", "hourly snapshot", true, {1, 24, 100, 8784, 9000, -1}},
      {&Policy::daily, "%Y-%m-%d", "daily snapshot", true, {1, 7, 30, 366, 400, -1}},
      {&Policy::daily, "%Y-%m-%d", "daily snapshot", false, {1, 7, 366, 400, -1}},
      {&Policy::weekly, "%G-W%V", "weekly snapshot", false, {1, 4, 52, 53, 60, -1}},
      {&Policy::monthly, "%Y-%m", "monthly snapshot", false, {1, 6, 12, 13, -1}},
      {&Policy::yearly, "%Y", "yearly snapshot", false, {1, 3, -1}},
      {&Policy::last, "%Y-%m-%d %H:%M:%S", "last snapshot", false, {1, 10, 366, 500, -1}},
  };
  for (const auto& r : rules) {
    const auto& items = r.on_incrementals ? incs_ : fulls_;
    for (int n : r.counts) {
      SCOPED_TRACE(std::string(r.reason) + " " + std::to_string(n));
      Policy p;
      p.*r.field = n;
      auto ds = Apply(items, p);
      EXPECT_EQ(KeptIds(ds), NewestPerBucket(items, r.fmt, n));
      ExpectOnlyReason(ds, r.reason);
    }
  }
}

TEST_F(YearTest, HandCheckedBucketResults) {
  Policy p;
  p.weekly = 53;  // 2025-W01 (30-31 Dec) plus 2024-W01..W52: exactly the buckets there are
  auto kept = KeptIds(Apply(fulls_, p));
  ASSERT_EQ(kept.size(), 53u);
  EXPECT_EQ(kept[0], Full("2024-12-31"));
  EXPECT_EQ(kept[1], Full("2024-12-29"));
  EXPECT_EQ(kept[52], Full("2024-01-07"));
  p.weekly = 54;  // one to spare: 1 January (a Monday in W01, not the week's newest) as "oldest"
  auto ds = Apply(fulls_, p);
  EXPECT_EQ(KeptIds(ds).size(), 54u);
  EXPECT_EQ(KeptReasons(ds)[Full("2024-01-01")], std::vector<std::string>{"oldest weekly snapshot"});

  Policy m;
  m.monthly = 12;
  EXPECT_EQ(KeptIds(Apply(fulls_, m)),
            (std::vector<std::string>{Full("2024-12-31"), Full("2024-11-30"), Full("2024-10-31"), Full("2024-09-30"),
                                      Full("2024-08-31"), Full("2024-07-31"), Full("2024-06-30"), Full("2024-05-31"),
                                      Full("2024-04-30"), Full("2024-03-31"), Full("2024-02-29"), Full("2024-01-31")}));
  Policy h;
  h.hourly = 3;
  EXPECT_EQ(KeptIds(Apply(incs_, h)),
            (std::vector<std::string>{"inc 2024-12-31 23:30", "inc 2024-12-31 22:30", "inc 2024-12-31 21:30"}));
}

TEST_F(YearTest, KeepWithinAgainstPlainArithmetic) {
  // In UTC a day is 86400 s, so "1d" is plain subtraction from the newest incremental.
  Policy p;
  p.within = "1d";
  auto ds = Apply(incs_, p);
  const int64_t start = Utc(2024, 12, 31, 23, 30) - 86400;
  std::vector<std::string> want;
  for (const auto& d : ds) {
    if (d.item.time_unix > start) want.push_back(d.item.id);
  }
  EXPECT_EQ(want.size(), 24u);  // 31 Dec 00:30 .. 23:30; 30 Dec 23:30 sits on the boundary
  EXPECT_EQ(KeptIds(ds), want);
  ExpectOnlyReason(ds, "within 1d");

  // Months: 31 Dec - 1 month = "31 Nov" = 1 Dec, so 2..31 Dec; 31 Dec - 2 months = 31 Oct.
  p.within = "1m";
  auto kept = KeptIds(Apply(fulls_, p));
  ASSERT_EQ(kept.size(), 30u);
  EXPECT_EQ(kept.back(), Full("2024-12-02"));
  p.within = "2m";
  kept = KeptIds(Apply(fulls_, p));
  ASSERT_EQ(kept.size(), 61u);
  EXPECT_EQ(kept.back(), Full("2024-11-01"));
  p.within = "1y";  // back to 2023-12-31: the whole year
  EXPECT_EQ(KeptIds(Apply(fulls_, p)).size(), 366u);
  p.within = "11m30d";  // 31 Dec - 11 months = 31 Jan, - 30 days = 1 Jan: not after itself
  EXPECT_EQ(KeptIds(Apply(fulls_, p)).size(), 365u);
}

TEST_F(YearTest, UnlimitedKeepsOnePerBucketAndNeverMoreThanTheSum) {
  Policy p;
  p.daily = -1;
  auto ds = Apply(incs_, p);
  EXPECT_EQ(KeptIds(ds).size(), 366u + 1);  // 23:30 of each day, plus 1 Jan 00:30 as oldest
  EXPECT_EQ(ds.back().reasons, std::vector<std::string>{"oldest daily snapshot"});

  // restic's TestApplyPolicy check: never more kept than the counts add up to.
  const Policy policies[] = {{5, 0, 5}, {2, 0, 10}, {0, 20}, {0, 0, 3, 4}, {0, 0, 2, 2, 6}, {0, 0, 7, 2, 3, 10}};
  for (const Policy& q : policies) {
    const int sum = q.last + q.hourly + q.daily + q.weekly + q.monthly + q.yearly;
    for (const auto* items : {&fulls_, &incs_, &all_}) {
      auto d = Apply(*items, q);
      EXPECT_LE(KeptIds(d).size(), static_cast<size_t>(sum)) << q.Describe();
      EXPECT_EQ(d.size(), items->size());
      EXPECT_TRUE(std::is_sorted(d.begin(), d.end(), [](const Decision& a, const Decision& b) {
        return a.item.time_unix > b.item.time_unix;
      }));
    }
  }
}

// --- Per-type retention ---------------------------------------------------------------------------

TEST_F(YearTest, DefaultRetentionOverAYear) {
  auto r = ApplyRetention(all_, DefaultRetention(), kLongAfter);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& ds = *r;
  ASSERT_EQ(ds.size(), all_.size());
  EXPECT_TRUE(std::is_sorted(ds.begin(), ds.end(),
                             [](const Decision& a, const Decision& b) { return a.item.time_unix > b.item.time_unix; }));

  std::map<std::string, std::vector<std::string>> want;
  const std::vector<std::string> d = {"daily snapshot"}, w = {"weekly snapshot"}, m = {"monthly snapshot"};
  want[Full("2024-12-31")] = {"daily snapshot", "weekly snapshot", "monthly snapshot", "yearly snapshot"};
  want[Full("2024-12-30")] = d;  // Monday of 2025-W01, which 31 Dec already holds
  want[Full("2024-12-29")] = {"daily snapshot", "weekly snapshot"};
  for (const char* day : {"2024-12-28", "2024-12-27", "2024-12-26", "2024-12-25"}) want[Full(day)] = d;
  for (const char* day : {"2024-12-22", "2024-12-15"}) want[Full(day)] = w;
  for (const char* day : {"2024-11-30", "2024-10-31", "2024-09-30", "2024-08-31", "2024-07-31", "2024-06-30",
                          "2024-05-31", "2024-04-30", "2024-03-31", "2024-02-29", "2024-01-31"}) {
    want[Full(day)] = m;
  }
  // Only one year of history, with two yearly snapshots to spare: the oldest full is kept too.
  want[Full("2024-01-01")] = {"oldest yearly snapshot"};
  for (int h = 0; h < 24; h++) {
    want["inc " + Stamp(Utc(2024, 12, 31, h, 30))] = {"within 1d"};
  }
  EXPECT_EQ(want.size(), 21u + 24u);
  EXPECT_EQ(KeptReasons(ds), want);

  // Types interleave by time in the output.
  EXPECT_EQ(ds[0].item.id, "inc 2024-12-31 23:30");
  EXPECT_EQ(ds[23].item.id, "inc 2024-12-31 00:30");
  EXPECT_EQ(ds[24].item.id, Full("2024-12-31"));
  EXPECT_EQ(ds[25].item.id, "inc 2024-12-30 23:30");
  EXPECT_FALSE(ds[25].keep);
}

TEST(ApplyRetentionTest, EachTypeHasItsOwnBudget) {
  ScopedTz tz("UTC");
  RetentionConfig c;
  c.full.last = 1;
  c.incremental.last = 1;
  const std::vector<RetentionItem> items = {{"full-old", Utc(2024, 1, 1), "full"},
                                            {"inc-1", Utc(2024, 1, 2), "incremental"},
                                            {"full-new", Utc(2024, 1, 3), "full"},
                                            {"inc-2", Utc(2024, 1, 4), "incremental"},
                                            {"inc-3", Utc(2024, 1, 4), "incremental"}};
  auto r = ApplyRetention(items, c, kLongAfter);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(AllIds(*r), (std::vector<std::string>{"inc-2", "inc-3", "full-new", "inc-1", "full-old"}));
  EXPECT_EQ(KeptIds(*r), (std::vector<std::string>{"inc-2", "full-new"}));
}

TEST(ApplyRetentionTest, EmptyPolicyForATypeKeepsThatType) {
  RetentionConfig c;
  c.full.last = 1;
  const std::vector<RetentionItem> items = {
      {"f1", 100, "full"}, {"f2", 200, "full"}, {"i1", 150, "incremental"}, {"i2", 50, "incremental"}};
  auto r = ApplyRetention(items, c, 1000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(KeptIds(*r), (std::vector<std::string>{"f2", "i1", "i2"}));
}

TEST(ApplyRetentionTest, RejectsUnknownTypesAndBadConfig) {
  auto r = ApplyRetention({{"f1", 100, "full"}, {"odd1", 50, "differential"}}, DefaultRetention(), 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("odd1"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("'differential'"), std::string::npos) << r.status().message();

  RetentionConfig c = DefaultRetention();
  c.incremental.within = "1w";
  r = ApplyRetention({}, c, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "retention of incremental backups: --keep-within: '1w' is not a duration like 1y2m3d4h");
  c = DefaultRetention();
  c.full.monthly = -3;
  r = ApplyRetention({}, c, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("retention of full backups: --keep-monthly: -3 ", 0), 0u)
      << r.status().message();
}

// --- Cases after restic's own tests and docs (our data, same questions) --------------------------

TEST(ResticCasesTest, DocsExampleKeepDailyWithAMissedDay) {
  // doc/060_forget.rst: backups every weekday for two weeks, a second one on Fridays, and no
  // backup on the second Wednesday; --keep-daily 5 reaches back to the first Friday.
  ScopedTz tz("UTC");
  std::vector<RetentionItem> items;
  const int when[][3] = {{4, 21, 11}, {4, 22, 11}, {4, 23, 11}, {4, 24, 11}, {4, 25, 11}, {4, 25, 23},
                         {4, 28, 11}, {4, 29, 11}, {5, 1, 11},  {5, 2, 11},  {5, 2, 23}};
  for (const auto& w : when) {
    const int64_t t = Utc(2025, w[0], w[1], w[2]);
    items.push_back({Stamp(t), t, "full"});
  }
  Policy p;
  p.daily = 5;
  auto ds = Apply(items, p);
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"2025-05-02 23:00", "2025-05-01 11:00", "2025-04-29 11:00",
                                                   "2025-04-28 11:00", "2025-04-25 23:00"}));
  ExpectOnlyReason(ds, "daily snapshot");
}

TEST(ResticCasesTest, YearlyAndHourlyAsInResticsTimeline) {
  ScopedTz tz("UTC");
  const std::vector<RetentionItem> years = {
      {"2015-08-08", Utc(2015, 8, 8, 10, 20, 30), "full"},   {"2016-01-18", Utc(2016, 1, 18, 12, 2, 3), "full"},
      {"2014-11-22", Utc(2014, 11, 22, 10, 20, 30), "full"}, {"2014-08-08", Utc(2014, 8, 8, 10, 20, 30), "full"},
      {"2016-01-01", Utc(2016, 1, 1, 1, 2, 3), "full"},      {"2015-11-22", Utc(2015, 11, 22, 10, 20, 30), "full"}};
  Policy y;
  y.yearly = 10;
  auto ds = Apply(years, y);
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"2016-01-18", "2015-11-22", "2014-11-22", "2014-08-08"}));
  EXPECT_EQ(KeptReasons(ds)["2014-08-08"], std::vector<std::string>{"oldest yearly snapshot"});

  const std::vector<RetentionItem> hours = {
      {"12:24", Utc(2016, 1, 4, 12, 24, 3), "full"}, {"10:23", Utc(2016, 1, 4, 10, 23, 3), "full"},
      {"16:23", Utc(2016, 1, 4, 16, 23, 3), "full"}, {"12:30", Utc(2016, 1, 4, 12, 30, 3), "full"},
      {"11:23", Utc(2016, 1, 4, 11, 23, 3), "full"}, {"12:23", Utc(2016, 1, 4, 12, 23, 3), "full"},
      {"12:28", Utc(2016, 1, 4, 12, 28, 3), "full"}};
  Policy h;
  h.hourly = 3;
  EXPECT_EQ(KeptIds(Apply(hours, h)), (std::vector<std::string>{"16:23", "12:30", "11:23"}));
  h.hourly = 20;  // four hours hold snapshots; the oldest heads its own hour, so no "oldest" mark
  ds = Apply(hours, h);
  EXPECT_EQ(KeptIds(ds), (std::vector<std::string>{"16:23", "12:30", "11:23", "10:23"}));
  ExpectOnlyReason(ds, "hourly snapshot");
  EXPECT_EQ(ds.back().reasons, std::vector<std::string>{"hourly snapshot"});

  // {Last: -1, Hourly: -1}: everything kept; the head of each hour says so too.
  Policy all;
  all.last = -1;
  all.hourly = -1;
  auto reasons = KeptReasons(Apply(hours, all));
  const std::vector<std::string> both = {"last snapshot", "hourly snapshot"}, last = {"last snapshot"};
  EXPECT_EQ(reasons, (std::map<std::string, std::vector<std::string>>{{"16:23", both},
                                                                      {"12:30", both},
                                                                      {"12:28", last},
                                                                      {"12:24", last},
                                                                      {"12:23", last},
                                                                      {"11:23", both},
                                                                      {"10:23", both}}));
}

}  // namespace
}  // namespace stb
