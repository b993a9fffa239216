#include "schedule/cron.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "time_util.h"

namespace stb {
namespace {

using testing::OffsetAt;
using testing::ScopedTz;
using testing::Utc;
using testing::UtcText;

template <size_t N>
std::vector<int> Values(const std::bitset<N>& bits) {
  std::vector<int> out;
  for (size_t i = 0; i < N; ++i) {
    if (bits[i]) out.push_back(static_cast<int>(i));
  }
  return out;
}

std::vector<int> Span(int lo, int hi) {
  std::vector<int> out;
  for (int i = lo; i <= hi; ++i) out.push_back(i);
  return out;
}

CronExpr MustParse(const char* text) {
  StatusOr<CronExpr> e = ParseCron(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().message();
  return e.ok() ? *e : CronExpr{};
}

// The next run as UTC text, so a failure shows both times readably.
std::string Next(const char* expr, time_t after) {
  StatusOr<CronExpr> e = ParseCron(expr);
  if (!e.ok()) return "parse error: " + e.status().message();
  StatusOr<time_t> t = NextRun(*e, after);
  return t.ok() ? UtcText(*t) : "error: " + t.status().message();
}

// The next n runs, each strictly after the one before.
std::vector<std::string> Runs(const char* expr, time_t after, int n) {
  std::vector<std::string> out;
  StatusOr<CronExpr> e = ParseCron(expr);
  if (!e.ok()) return {"parse error: " + e.status().message()};
  for (int i = 0; i < n; ++i) {
    StatusOr<time_t> t = NextRun(*e, after);
    if (!t.ok()) return out;
    out.push_back(UtcText(*t));
    after = *t;
  }
  return out;
}

// Most tests pin UTC so the machine's zone cannot shift the expectations.
class CronUtc : public ::testing::Test {
 protected:
  ScopedTz tz_{"UTC"};
};

// ---- Parsing ----

TEST(ParseCron, SingleValues) {
  CronExpr e = MustParse("5 4 3 2 1");
  EXPECT_EQ(Values(e.minute), std::vector<int>{5});
  EXPECT_EQ(Values(e.hour), std::vector<int>{4});
  EXPECT_EQ(Values(e.day_of_month), std::vector<int>{3});
  EXPECT_EQ(Values(e.month), std::vector<int>{2});
  EXPECT_EQ(Values(e.day_of_week), std::vector<int>{1});
  EXPECT_FALSE(e.day_of_month_star);
  EXPECT_FALSE(e.day_of_week_star);
  EXPECT_EQ(e.text, "5 4 3 2 1");
}

TEST(ParseCron, StarsCoverEachFieldsRange) {
  CronExpr e = MustParse("* * * * *");
  EXPECT_EQ(Values(e.minute), Span(0, 59));
  EXPECT_EQ(Values(e.hour), Span(0, 23));
  EXPECT_EQ(Values(e.day_of_month), Span(1, 31));
  EXPECT_EQ(Values(e.month), Span(1, 12));
  EXPECT_EQ(Values(e.day_of_week), Span(0, 6));
  EXPECT_TRUE(e.day_of_month_star);
  EXPECT_TRUE(e.day_of_week_star);
}

TEST(ParseCron, Lists) {
  CronExpr e = MustParse("1,5,59 0,23 1,15,31 1,12 0,6");
  EXPECT_EQ(Values(e.minute), (std::vector<int>{1, 5, 59}));
  EXPECT_EQ(Values(e.hour), (std::vector<int>{0, 23}));
  EXPECT_EQ(Values(e.day_of_month), (std::vector<int>{1, 15, 31}));
  EXPECT_EQ(Values(e.month), (std::vector<int>{1, 12}));
  EXPECT_EQ(Values(e.day_of_week), (std::vector<int>{0, 6}));
}

TEST(ParseCron, Ranges) {
  CronExpr e = MustParse("1-5 9-17 10-12 3-4 1-5");
  EXPECT_EQ(Values(e.minute), Span(1, 5));
  EXPECT_EQ(Values(e.hour), Span(9, 17));
  EXPECT_EQ(Values(e.day_of_month), Span(10, 12));
  EXPECT_EQ(Values(e.month), Span(3, 4));
  EXPECT_EQ(Values(e.day_of_week), Span(1, 5));
  EXPECT_EQ(Values(MustParse("7-7 * * * *").minute), std::vector<int>{7});
}

TEST(ParseCron, StepsOverStar) {
  CronExpr e = MustParse("*/15 */6 */10 */3 */2");
  EXPECT_EQ(Values(e.minute), (std::vector<int>{0, 15, 30, 45}));
  EXPECT_EQ(Values(e.hour), (std::vector<int>{0, 6, 12, 18}));
  EXPECT_EQ(Values(e.day_of_month), (std::vector<int>{1, 11, 21, 31}));
  EXPECT_EQ(Values(e.month), (std::vector<int>{1, 4, 7, 10}));
  EXPECT_EQ(Values(e.day_of_week), (std::vector<int>{0, 2, 4, 6}));
  // "*/n" still starts with '*': for the day rule it is unrestricted.
  EXPECT_TRUE(e.day_of_month_star);
  EXPECT_TRUE(e.day_of_week_star);
}

TEST(ParseCron, StepsOverRanges) {
  CronExpr e = MustParse("10-50/10 1-23/11 5-25/10 2-12/5 1-5/2");
  EXPECT_EQ(Values(e.minute), (std::vector<int>{10, 20, 30, 40, 50}));
  EXPECT_EQ(Values(e.hour), (std::vector<int>{1, 12, 23}));
  EXPECT_EQ(Values(e.day_of_month), (std::vector<int>{5, 15, 25}));
  EXPECT_EQ(Values(e.month), (std::vector<int>{2, 7, 12}));
  EXPECT_EQ(Values(e.day_of_week), (std::vector<int>{1, 3, 5}));
  EXPECT_EQ(Values(MustParse("0-59/59 * * * *").minute), (std::vector<int>{0, 59}));
}

TEST(ParseCron, ListsOfRangesAndSteps) {
  EXPECT_EQ(Values(MustParse("0-4,30,*/20 * * * *").minute), (std::vector<int>{0, 1, 2, 3, 4, 20, 30, 40}));
}

TEST(ParseCron, MonthAndDayNamesInAnyCase) {
  CronExpr e = MustParse("0 0 * JAN,mar-May,Dec mon-FRI,Sun");
  EXPECT_EQ(Values(e.month), (std::vector<int>{1, 3, 4, 5, 12}));
  EXPECT_EQ(Values(e.day_of_week), (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(Values(MustParse("0 0 * jan-dec/6 *").month), (std::vector<int>{1, 7}));
  EXPECT_EQ(Values(MustParse("0 0 * 2-apr sat").month), (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(Values(MustParse("0 0 * * SaT").day_of_week), (std::vector<int>{6}));
}

TEST(ParseCron, SundayIsZeroOrSeven) {
  EXPECT_EQ(Values(MustParse("0 0 * * 7").day_of_week), std::vector<int>{0});
  EXPECT_EQ(Values(MustParse("0 0 * * 0").day_of_week), std::vector<int>{0});
  EXPECT_EQ(Values(MustParse("0 0 * * 5-7").day_of_week), (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(Values(MustParse("0 0 * * 0-7").day_of_week), Span(0, 6));
  EXPECT_EQ(Values(MustParse("0 0 * * */7").day_of_week), std::vector<int>{0});
}

TEST(ParseCron, ToleratesExtraWhitespace) {
  CronExpr e = MustParse("  0\t2   *  * \t* ");
  EXPECT_EQ(Values(e.minute), std::vector<int>{0});
  EXPECT_EQ(Values(e.hour), std::vector<int>{2});
  EXPECT_EQ(e.text, "0 2 * * *");
}

TEST(ParseCron, MacrosEqualTheirFiveFields) {
  const std::pair<const char*, const char*> cases[] = {
      {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
      {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {" @DAILY ", "0 0 * * *"},
  };
  for (const auto& [macro, fields] : cases) {
    SCOPED_TRACE(macro);
    CronExpr m = MustParse(macro), f = MustParse(fields);
    EXPECT_EQ(m.minute, f.minute);
    EXPECT_EQ(m.hour, f.hour);
    EXPECT_EQ(m.day_of_month, f.day_of_month);
    EXPECT_EQ(m.month, f.month);
    EXPECT_EQ(m.day_of_week, f.day_of_week);
    EXPECT_EQ(m.day_of_month_star, f.day_of_month_star);
    EXPECT_EQ(m.day_of_week_star, f.day_of_week_star);
  }
  EXPECT_EQ(MustParse("@weekly").text, "@weekly");
  EXPECT_EQ(Values(MustParse("@weekly").day_of_week), std::vector<int>{0});
  EXPECT_EQ(Values(MustParse("@hourly").hour), Span(0, 23));
}

TEST(ParseCron, DayStarFlagsFollowTheTextNotTheValues) {
  CronExpr e = MustParse("0 0 1-31 * 0-7");  // every day, but written as restrictions
  EXPECT_FALSE(e.day_of_month_star);
  EXPECT_FALSE(e.day_of_week_star);
  e = MustParse("0 0 */2 * 1");
  EXPECT_TRUE(e.day_of_month_star);
  EXPECT_FALSE(e.day_of_week_star);
}

TEST(ParseCron, ErrorsNameTheFieldAndValue) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "empty cron expression"},
      {"  \t ", "empty cron expression"},
      {"0 2 * *", "cron expression '0 2 * *' has 4 fields; expected 5 (minute hour day-of-month month day-of-week)"},
      {"0 2 * * * *",
       "cron expression '0 2 * * * *' has 6 fields; expected 5 (minute hour day-of-month month day-of-week)"},
      {"60 * * * *", "cron field 'minute': 60 is out of range 0-59"},
      {"0 25 * * *", "cron field 'hour': 25 is out of range 0-23"},
      {"0 0 0 * *", "cron field 'day-of-month': 0 is out of range 1-31"},
      {"0 0 32 * *", "cron field 'day-of-month': 32 is out of range 1-31"},
      {"0 0 * 0 *", "cron field 'month': 0 is out of range 1-12"},
      {"0 0 * 13 *", "cron field 'month': 13 is out of range 1-12"},
      {"0 0 * * 8", "cron field 'day-of-week': 8 is out of range 0-7"},
      {"99999999999 * * * *", "cron field 'minute': 99999999999 is out of range 0-59"},
      {"0 1-24 * * *", "cron field 'hour': 24 is out of range 0-23"},
      {"x * * * *", "cron field 'minute': 'x' is not a number"},
      {"0 mon * * *", "cron field 'hour': 'mon' is not a number"},
      {"0 0 * foo *", "cron field 'month': 'foo' is not a number or month name (jan-dec)"},
      {"0 0 * * funday", "cron field 'day-of-week': 'funday' is not a number or day name (sun-sat)"},
      {"0 0 * * jan", "cron field 'day-of-week': 'jan' is not a number or day name (sun-sat)"},
      {"5-1 * * * *", "cron field 'minute': range '5-1' goes backwards (write it as 5-59,0-1)"},
      {"0 22-2 * * *", "cron field 'hour': range '22-2' goes backwards (write it as 22-23,0-2)"},
      {"*/0 * * * *", "cron field 'minute': step 0 is out of range 1-59"},
      {"0 */24 * * *", "cron field 'hour': step 24 is out of range 1-23"},
      {"*/x * * * *", "cron field 'minute': 'x' is not a valid step"},
      {"*/ * * * *", "cron field 'minute': '' is not a valid step"},
      {"*/5/2 * * * *", "cron field 'minute': '5/2' is not a valid step"},
      {"5/10 * * * *", "cron field 'minute': step in '5/10' needs a range or '*' (e.g. 5-59/10)"},
      {"1,,2 * * * *", "cron field 'minute': empty list item in '1,,2'"},
      {"1, * * * *", "cron field 'minute': empty list item in '1,'"},
      {"1- * * * *", "cron field 'minute': missing value in '1-'"},
      {"-1 * * * *", "cron field 'minute': missing value in '-1'"},
      {"1-2-3 * * * *", "cron field 'minute': '2-3' is not a number"},
      {"@reboot",
       "unknown cron macro '@reboot' (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)"},
      {"@daily 0",
       "unknown cron macro '@daily 0' (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)"},
  };
  for (const auto& [text, message] : cases) {
    StatusOr<CronExpr> e = ParseCron(text);
    ASSERT_FALSE(e.ok()) << "'" << text << "' parsed";
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument) << text;
    EXPECT_EQ(e.status().message(), message) << text;
  }
}

TEST(ParseCron, RejectsExpressionsThatNeverFire) {
  const std::pair<const char*, const char*> cases[] = {
      {"0 0 30 2 *", "cron expression '0 0 30 2 *' never fires: no month in '2' has a day in '30'"},
      {"0 0 30,31 feb *", "cron expression '0 0 30,31 feb *' never fires: no month in 'feb' has a day in '30,31'"},
      {"0 0 31 4,6,9,11 *",
       "cron expression '0 0 31 4,6,9,11 *' never fires: no month in '4,6,9,11' has a day in '31'"},
      // A day-of-week starting with '*' makes both day fields count (the AND rule): still impossible.
      {"0 0 30 2 */7", "cron expression '0 0 30 2 */7' never fires: no month in '2' has a day in '30'"},
  };
  for (const auto& [text, message] : cases) {
    StatusOr<CronExpr> e = ParseCron(text);
    ASSERT_FALSE(e.ok()) << "'" << text << "' parsed";
    EXPECT_EQ(e.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(e.status().message(), message);
  }
  // Possible after all: March has a 31st, leap years a 29 February, the OR rule adds Mondays, and
  // "*/30" is days 1 and 31.
  for (const char* ok : {"0 0 31 2,3 *", "0 0 29 2 *", "0 0 30 2 mon", "0 0 */30 2 *"}) {
    EXPECT_TRUE(ParseCron(ok).ok()) << ok;
  }
}

// ---- NextRun in UTC ----

TEST_F(CronUtc, StrictlyAfterToTheMinute) {
  EXPECT_EQ(Next("* * * * *", Utc(2026, 5, 6, 12, 0, 0)), "2026-05-06 12:01:00Z");
  EXPECT_EQ(Next("* * * * *", Utc(2026, 5, 6, 12, 0, 59)), "2026-05-06 12:01:00Z");
  EXPECT_EQ(Next("* * * * *", Utc(2026, 5, 6, 11, 59, 59)), "2026-05-06 12:00:00Z");
  EXPECT_EQ(Next("0 12 * * *", Utc(2026, 5, 6, 12, 0, 0)), "2026-05-07 12:00:00Z");
  EXPECT_EQ(Next("0 12 * * *", Utc(2026, 5, 6, 11, 59, 59)), "2026-05-06 12:00:00Z");
}

TEST_F(CronUtc, CrossesHourDayMonthAndYear) {
  EXPECT_EQ(Runs("*/15 * * * *", Utc(2026, 5, 6, 12, 50), 3),
            (std::vector<std::string>{"2026-05-06 13:00:00Z", "2026-05-06 13:15:00Z", "2026-05-06 13:30:00Z"}));
  EXPECT_EQ(Next("0 0 * * *", Utc(2026, 1, 31, 12, 0)), "2026-02-01 00:00:00Z");
  EXPECT_EQ(Next("30 10 * * *", Utc(2026, 12, 31, 11, 0)), "2027-01-01 10:30:00Z");
  EXPECT_EQ(Next("0 0 1 1 *", Utc(2026, 6, 15)), "2027-01-01 00:00:00Z");
  EXPECT_EQ(Runs("59 23 31 12 *", Utc(2026, 12, 31, 23, 58), 2),
            (std::vector<std::string>{"2026-12-31 23:59:00Z", "2027-12-31 23:59:00Z"}));
  EXPECT_EQ(Runs("0 9-17/4 * * mon-fri", Utc(2026, 5, 8, 16, 0), 3),  // Friday afternoon to Monday
            (std::vector<std::string>{"2026-05-08 17:00:00Z", "2026-05-11 09:00:00Z", "2026-05-11 13:00:00Z"}));
}

TEST_F(CronUtc, SkipsMonthsWithoutTheDay) {
  EXPECT_EQ(Runs("0 0 31 * *", Utc(2026, 1, 31), 4),
            (std::vector<std::string>{"2026-03-31 00:00:00Z", "2026-05-31 00:00:00Z", "2026-07-31 00:00:00Z",
                                      "2026-08-31 00:00:00Z"}));
}

TEST_F(CronUtc, LeapYears) {
  EXPECT_EQ(Runs("0 12 29 2 *", Utc(2026, 1, 1), 3),
            (std::vector<std::string>{"2028-02-29 12:00:00Z", "2032-02-29 12:00:00Z", "2036-02-29 12:00:00Z"}));
  // 2100 is not a leap year, 2400 is.
  EXPECT_EQ(Next("0 12 29 2 *", Utc(2097, 1, 1)), "2104-02-29 12:00:00Z");
  EXPECT_EQ(Next("0 12 29 2 *", Utc(2396, 3, 1)), "2400-02-29 12:00:00Z");
  EXPECT_EQ(Runs("0 0 28-29 2 *", Utc(2027, 1, 1), 3),
            (std::vector<std::string>{"2027-02-28 00:00:00Z", "2028-02-28 00:00:00Z", "2028-02-29 00:00:00Z"}));
  EXPECT_EQ(Next("0 0 * * *", Utc(2028, 2, 28, 1)), "2028-02-29 00:00:00Z");
  EXPECT_EQ(Next("0 0 1 3 *", Utc(2028, 2, 28, 1)), "2028-03-01 00:00:00Z");
}

TEST_F(CronUtc, RarestPossibleExpressionIsFoundWithinTheSearchHorizon) {
  // 29 February on a Sunday (the AND rule, as day-of-week starts with '*'): 2088, then 2128.
  EXPECT_EQ(Runs("0 0 29 2 */7", Utc(2026, 1, 1), 2),
            (std::vector<std::string>{"2032-02-29 00:00:00Z", "2060-02-29 00:00:00Z"}));
  EXPECT_EQ(Next("0 0 29 2 */7", Utc(2088, 3, 1)), "2128-02-29 00:00:00Z");
}

TEST_F(CronUtc, DefaultBackupSchedules) {
  EXPECT_EQ(Runs("0 2 * * *", Utc(2026, 3, 1, 1, 59), 3),
            (std::vector<std::string>{"2026-03-01 02:00:00Z", "2026-03-02 02:00:00Z", "2026-03-03 02:00:00Z"}));
  EXPECT_EQ(Next("0 2 * * *", Utc(2026, 3, 1, 2, 0)), "2026-03-02 02:00:00Z");
  EXPECT_EQ(Runs("0 * * * *", Utc(2026, 3, 1, 22, 30), 3),
            (std::vector<std::string>{"2026-03-01 23:00:00Z", "2026-03-02 00:00:00Z", "2026-03-02 01:00:00Z"}));
  EXPECT_EQ(Next("0 * * * *", Utc(2026, 3, 1, 2, 0)), "2026-03-01 03:00:00Z");
}

TEST_F(CronUtc, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // April 2026: Fridays are the 3rd, 10th, 17th and 24th; the 13th is a Monday; 1 May is a Friday.
  EXPECT_EQ(Runs("0 0 13 * fri", Utc(2026, 4, 1), 6),
            (std::vector<std::string>{"2026-04-03 00:00:00Z", "2026-04-10 00:00:00Z", "2026-04-13 00:00:00Z",
                                      "2026-04-17 00:00:00Z", "2026-04-24 00:00:00Z", "2026-05-01 00:00:00Z"}));
  EXPECT_EQ(Runs("0 0 13 * *", Utc(2026, 4, 1), 2),
            (std::vector<std::string>{"2026-04-13 00:00:00Z", "2026-05-13 00:00:00Z"}));
  EXPECT_EQ(Runs("0 0 * * fri", Utc(2026, 4, 1), 2),
            (std::vector<std::string>{"2026-04-03 00:00:00Z", "2026-04-10 00:00:00Z"}));
  // "*/2" starts with '*', so both must match: odd days that are Fridays.
  EXPECT_EQ(Runs("0 0 */2 * fri", Utc(2026, 4, 1), 4),
            (std::vector<std::string>{"2026-04-03 00:00:00Z", "2026-04-17 00:00:00Z", "2026-05-01 00:00:00Z",
                                      "2026-05-15 00:00:00Z"}));
  // "1-31" is a restriction in the text, so the OR rule makes it every day.
  EXPECT_EQ(Runs("0 0 1-31 * fri", Utc(2026, 4, 1), 2),
            (std::vector<std::string>{"2026-04-02 00:00:00Z", "2026-04-03 00:00:00Z"}));
  // A month restriction applies to both sides of the OR.
  EXPECT_EQ(Next("0 0 13 5 fri", Utc(2026, 4, 1)), "2026-05-01 00:00:00Z");
}

TEST_F(CronUtc, HandBuiltImpossibleExpressionReturnsNotFound) {
  CronExpr e = MustParse("0 0 30 * *");
  e.month.reset();
  e.month.set(2);  // 30 February: ParseCron would have refused it
  e.text = "0 0 30 2 *";
  StatusOr<time_t> t = NextRun(e, Utc(2026, 1, 1));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Code::kNotFound);
  EXPECT_EQ(t.status().message(),
            "cron expression '0 0 30 2 *' does not fire in the 50 years after 2026-01-01 00:00 UTC");

  e = MustParse("* * * * *");
  e.hour.reset();
  EXPECT_FALSE(NextRun(e, Utc(2026, 1, 1)).ok());
}

// The stepping search against a plain one (each day, then each minute of a matching day) on random
// expressions, so the skipping cannot drop a match the simple search finds.
time_t ReferenceNext(const CronExpr& e, time_t after) {
  time_t day = after - after % 86400;
  for (int i = 0; i < 366 * kCronSearchYears; ++i, day += 86400) {
    struct tm tm;
    gmtime_r(&day, &tm);
    if (!e.month[tm.tm_mon + 1]) continue;
    bool dom = e.day_of_month[tm.tm_mday], dow = e.day_of_week[tm.tm_wday];
    if (!e.day_of_month_star && !e.day_of_week_star ? !(dom || dow) : !(dom && dow)) continue;
    for (int m = 0; m < 1440; ++m) {
      time_t t = day + m * 60;
      if (t > after && e.hour[m / 60] && e.minute[m % 60]) return t;
    }
  }
  return -1;
}

// A field of random syntax; `names` (if any) name the values lo, lo+1, ... up to `named`.
std::string RandomField(std::mt19937& rng, int lo, int hi, const char* const* names = nullptr, int named = 0) {
  auto pick = [&](int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); };
  auto value = [&](int v) { return v - lo < named && pick(0, 1) ? std::string(names[v - lo]) : std::to_string(v); };
  switch (pick(0, 5)) {
    case 0:
      return "*";
    case 1:
      return value(pick(lo, hi));
    case 2:
      return value(pick(lo, hi)) + "," + value(pick(lo, hi)) + "," + value(pick(lo, hi));
    case 3: {
      int a = pick(lo, hi), b = pick(a, hi);
      return value(a) + "-" + value(b);
    }
    case 4:
      return "*/" + std::to_string(pick(1, hi));
    default: {
      int a = pick(lo, hi), b = pick(a, hi);
      return std::to_string(a) + "-" + std::to_string(b) + "/" + std::to_string(pick(1, hi));
    }
  }
}

TEST_F(CronUtc, MatchesAPlainMinuteSearchOnRandomExpressions) {
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  static constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::mt19937 rng(20260329);
  int checked = 0;
  for (int i = 0; i < 400; ++i) {
    std::string text = RandomField(rng, 0, 59) + " " + RandomField(rng, 0, 23) + " " + RandomField(rng, 1, 31) + " " +
                       RandomField(rng, 1, 12, kMonths, 12) + " " + RandomField(rng, 0, 7, kDays, 7);
    StatusOr<CronExpr> e = ParseCron(text);
    if (!e.ok()) {
      // Only impossible day and month pairs may be refused.
      EXPECT_NE(e.status().message().find("never fires"), std::string::npos) << text << ": " << e.status().message();
      continue;
    }
    time_t after = Utc(2026, 1, 1) + std::uniform_int_distribution<time_t>(0, 4 * 365 * 86400)(rng);
    for (int k = 0; k < 3; ++k) {
      StatusOr<time_t> got = NextRun(*e, after);
      time_t want = ReferenceNext(*e, after);
      ASSERT_TRUE(got.ok()) << text << ": " << got.status().message();
      ASSERT_EQ(UtcText(*got), UtcText(want)) << text << " after " << UtcText(after);
      after = *got;
      ++checked;
    }
  }
  EXPECT_GT(checked, 900);  // most random expressions are possible
}

// ---- Daylight saving ----

// Berlin, 2026: 29 March 02:00 CET becomes 03:00 CEST (01:00 UTC); 25 October 03:00 CEST becomes
// 02:00 CET (01:00 UTC), so 02:00-02:59 happens twice.
class CronBerlin : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(OffsetAt(Utc(2026, 1, 15)), 3600) << "tzdata lacks Europe/Berlin";
    ASSERT_EQ(OffsetAt(Utc(2026, 7, 15)), 7200) << "tzdata lacks Europe/Berlin";
  }
  ScopedTz tz_{"Europe/Berlin"};
};

TEST_F(CronBerlin, SpringForwardRunsSkippedTimeAtTheEndOfTheGap) {
  EXPECT_EQ(Runs("30 2 * * *", Utc(2026, 3, 27, 23, 0), 3),
            (std::vector<std::string>{"2026-03-28 01:30:00Z",     // 02:30 CET
                                      "2026-03-29 01:00:00Z",     // 03:00 CEST: 02:30 did not exist
                                      "2026-03-30 00:30:00Z"}));  // 02:30 CEST
  EXPECT_EQ(FormatLocalTime(Utc(2026, 3, 29, 1, 0)), "2026-03-29 03:00 CEST");
  // Several skipped times still give one run.
  EXPECT_EQ(Runs("0,15,30,45 2 * * *", Utc(2026, 3, 28, 23, 0), 2),
            (std::vector<std::string>{"2026-03-29 01:00:00Z", "2026-03-30 00:00:00Z"}));
  // The default full backup at 02:00.
  EXPECT_EQ(Next("0 2 * * *", Utc(2026, 3, 28, 23, 0)), "2026-03-29 01:00:00Z");
}

TEST_F(CronBerlin, SpringForwardLeavesJobsOutsideTheGapAlone) {
  EXPECT_EQ(Next("30 3 * * *", Utc(2026, 3, 28, 23, 0)), "2026-03-29 01:30:00Z");  // 03:30 CEST, no run at 03:00
  EXPECT_EQ(Next("0 3 * * *", Utc(2026, 3, 28, 23, 0)), "2026-03-29 01:00:00Z");
  EXPECT_EQ(Next("30 1 * * *", Utc(2026, 3, 28, 23, 0)), "2026-03-29 00:30:00Z");  // 01:30 CET
}

TEST_F(CronBerlin, SpringForwardHourlyAndEveryMinute) {
  // Hourly: 01:00 CET, then 03:00 CEST once (standing in for 02:00 and being 03:00), then 04:00.
  EXPECT_EQ(Runs("0 * * * *", Utc(2026, 3, 28, 23, 30), 3),
            (std::vector<std::string>{"2026-03-29 00:00:00Z", "2026-03-29 01:00:00Z", "2026-03-29 02:00:00Z"}));
  // At :30: 02:30 is skipped, so it runs at 03:00 as well as at 03:30.
  EXPECT_EQ(Runs("30 * * * *", Utc(2026, 3, 29, 0, 0), 3),
            (std::vector<std::string>{"2026-03-29 00:30:00Z", "2026-03-29 01:00:00Z", "2026-03-29 01:30:00Z"}));
  EXPECT_EQ(Runs("* * * * *", Utc(2026, 3, 29, 0, 58, 30), 3),
            (std::vector<std::string>{"2026-03-29 00:59:00Z", "2026-03-29 01:00:00Z", "2026-03-29 01:01:00Z"}));
  // Asked from inside the would-be gap's end minute: nothing left to catch up.
  EXPECT_EQ(Next("30 2 * * *", Utc(2026, 3, 29, 1, 0)), "2026-03-30 00:30:00Z");
}

TEST_F(CronBerlin, FallBackRunsARepeatedTimeOnce) {
  EXPECT_EQ(Runs("30 2 * * *", Utc(2026, 10, 24, 22, 0), 2),
            (std::vector<std::string>{"2026-10-25 00:30:00Z",     // 02:30 CEST, the first 02:30
                                      "2026-10-26 01:30:00Z"}));  // not 2026-10-25 01:30Z (02:30 CET)
  EXPECT_EQ(FormatLocalTime(Utc(2026, 10, 25, 0, 30)), "2026-10-25 02:30 CEST");
  EXPECT_EQ(FormatLocalTime(Utc(2026, 10, 25, 1, 30)), "2026-10-25 02:30 CET");
  // Hourly: 02:00 CEST, then 03:00 CET; the second 02:00 does not run.
  EXPECT_EQ(Runs("0 * * * *", Utc(2026, 10, 24, 23, 30), 3),
            (std::vector<std::string>{"2026-10-25 00:00:00Z", "2026-10-25 02:00:00Z", "2026-10-25 03:00:00Z"}));
  EXPECT_EQ(Next("0 2 * * *", Utc(2026, 10, 24, 22, 0)), "2026-10-25 00:00:00Z");
  EXPECT_EQ(Next("0 3 * * *", Utc(2026, 10, 24, 22, 0)), "2026-10-25 02:00:00Z");
}

TEST_F(CronBerlin, FallBackAskedDuringEitherPassOfTheRepeatedHour) {
  // First pass (02:10 CEST): the rest of the hour is still ahead.
  EXPECT_EQ(Next("* * * * *", Utc(2026, 10, 25, 0, 10)), "2026-10-25 00:11:00Z");
  EXPECT_EQ(Next("45 2 * * *", Utc(2026, 10, 25, 0, 10)), "2026-10-25 00:45:00Z");
  // Second pass (02:10 CET): every 02:xx already ran in the first pass.
  EXPECT_EQ(Next("* * * * *", Utc(2026, 10, 25, 1, 10)), "2026-10-25 02:00:00Z");
  EXPECT_EQ(Next("30 2 * * *", Utc(2026, 10, 25, 1, 10)), "2026-10-26 01:30:00Z");
  EXPECT_EQ(Next("0 2 * * *", Utc(2026, 10, 25, 0, 59)), "2026-10-26 01:00:00Z");
}

// New York, 2026: 8 March 02:00 EST becomes 03:00 EDT (07:00 UTC); 1 November 02:00 EDT becomes
// 01:00 EST (06:00 UTC), so 01:00-01:59 happens twice.
class CronNewYork : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(OffsetAt(Utc(2026, 1, 15)), -5 * 3600) << "tzdata lacks America/New_York";
    ASSERT_EQ(OffsetAt(Utc(2026, 7, 15)), -4 * 3600) << "tzdata lacks America/New_York";
  }
  ScopedTz tz_{"America/New_York"};
};

TEST_F(CronNewYork, SpringForward) {
  EXPECT_EQ(Runs("30 2 * * *", Utc(2026, 3, 8, 5, 0), 2),
            (std::vector<std::string>{"2026-03-08 07:00:00Z", "2026-03-09 06:30:00Z"}));
  EXPECT_EQ(Runs("0 2 * * *", Utc(2026, 3, 7, 5, 0), 3),
            (std::vector<std::string>{"2026-03-07 07:00:00Z",     // 02:00 EST
                                      "2026-03-08 07:00:00Z",     // 03:00 EDT
                                      "2026-03-09 06:00:00Z"}));  // 02:00 EDT
  EXPECT_EQ(Runs("0 * * * *", Utc(2026, 3, 8, 5, 30), 3),
            (std::vector<std::string>{"2026-03-08 06:00:00Z", "2026-03-08 07:00:00Z", "2026-03-08 08:00:00Z"}));
}

TEST_F(CronNewYork, FallBack) {
  EXPECT_EQ(Runs("30 1 * * *", Utc(2026, 11, 1, 4, 0), 2),
            (std::vector<std::string>{"2026-11-01 05:30:00Z",                    // 01:30 EDT
                                      "2026-11-02 06:30:00Z"}));                 // 01:30 EST the next day
  EXPECT_EQ(Next("0 2 * * *", Utc(2026, 11, 1, 4, 0)), "2026-11-01 07:00:00Z");  // 02:00 EST, only once
  EXPECT_EQ(Runs("0 * * * *", Utc(2026, 11, 1, 4, 30), 3),
            (std::vector<std::string>{"2026-11-01 05:00:00Z", "2026-11-01 07:00:00Z", "2026-11-01 08:00:00Z"}));
  EXPECT_EQ(FormatLocalTime(Utc(2026, 11, 1, 7, 0)), "2026-11-01 02:00 EST");
}

TEST(CronLordHowe, HalfHourGap) {
  // Lord Howe Island moves by 30 minutes: 4 October 2026 02:00 +10:30 becomes 02:30 +11 (15:30 UTC).
  ScopedTz tz("Australia/Lord_Howe");
  ASSERT_EQ(OffsetAt(Utc(2026, 7, 15)), 37800) << "tzdata lacks Australia/Lord_Howe";
  EXPECT_EQ(Next("15 2 * * *", Utc(2026, 10, 3, 13, 0)), "2026-10-03 15:30:00Z");
  EXPECT_EQ(Next("45 2 * * *", Utc(2026, 10, 3, 13, 0)), "2026-10-03 15:45:00Z");
  EXPECT_EQ(Next("0 2 * * *", Utc(2026, 10, 3, 13, 0)), "2026-10-03 15:30:00Z");
}

TEST(CronTz, ScopedTzRestoresTheZone) {
  const char* before = std::getenv("TZ");
  std::string saved = before ? before : "";
  {
    ScopedTz tz("America/New_York");
    EXPECT_STREQ(std::getenv("TZ"), "America/New_York");
  }
  const char* after = std::getenv("TZ");
  EXPECT_EQ(after != nullptr, before != nullptr);
  if (after) {
    EXPECT_EQ(saved, after);
  }
}

}  // namespace
}  // namespace stb
