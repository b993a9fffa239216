// Cron expressions (the five fields of crontab(5) and the @daily-style macros) and the next local
// time one fires, with cronie's handling of daylight-saving gaps and repeats.
#pragma once

#include <bitset>
#include <ctime>
#include <string>
#include <string_view>

#include "core/status.h"

namespace stb {

struct CronExpr {
  std::bitset<60> minute;        // 0-59
  std::bitset<24> hour;          // 0-23
  std::bitset<32> day_of_month;  // 1-31 (bit 0 unused)
  std::bitset<13> month;         // 1-12 (bit 0 unused)
  std::bitset<7> day_of_week;    // 0-6, 0 = Sunday (a 7 in the text is stored as 0)
  // The field's text began with '*' ("*", "*/2"). Vixie cron decides the day rule on this, not on
  // which days the field ends up allowing: see MatchesDay.
  bool day_of_month_star = true;
  bool day_of_week_star = true;
  std::string text;  // as given, for log lines

  // When both day fields are restricted (neither starts with '*'), a day matches if EITHER does
  // ("0 0 13 * fri": every 13th and every Friday); otherwise both must.
  bool MatchesDay(int y, int m, int d) const;
};

// Parses "min hour dom month dow" (lists, ranges, steps, jan-dec, sun-sat in any case, 7 = Sunday)
// or @hourly @daily @midnight @weekly @monthly @yearly @annually. Errors are InvalidArgument and
// name the field and value, e.g. "cron field 'hour': 25 is out of range 0-23". An expression that
// can never fire ("0 0 30 2 *") is rejected here too, so NextRun always finds a parsed one's next time.
StatusOr<CronExpr> ParseCron(std::string_view text);

// How far NextRun looks ahead. Long enough for any expression ParseCron accepts: the rarest is a
// 29 February on a given weekday ("0 0 29 2 */7"), at most 40 years apart across 2100.
inline constexpr int kCronSearchYears = 50;

// The first time strictly after `after`, on a whole minute, at which `expr` fires in local time
// (the TZ environment variable). Daylight saving follows cronie's rules for fixed-time jobs:
//  - a wall-clock time skipped by a jump forward fires at the first minute after the gap ("30 2 * * *"
//    runs at 03:00 on the day Berlin skips 02:00-02:59), once however many skipped minutes match;
//  - a wall-clock time that occurs twice when the clock goes back fires at its first occurrence only.
// Unlike cronie, jobs with '*' in the minute or hour field follow the same two rules (cronie runs
// them on plain wall-clock time), so "0 * * * *" fires once, not twice, in a repeated hour.
// Returns NotFound when nothing fires within kCronSearchYears (only for a CronExpr built by hand
// whose fields can never meet).
StatusOr<time_t> NextRun(const CronExpr& expr, time_t after);

// "2026-03-29 03:00 CEST" in local time, for log lines; the zone abbreviation tells the two passes
// of a repeated hour apart.
std::string FormatLocalTime(time_t t);

}  // namespace stb
