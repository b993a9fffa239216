#include "schedule/cron.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace stb {

namespace {

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct Field {
  const char* name;
  int lo, hi;
  const char* const* names;  // three-letter names of lo, lo+1, ... (month and day-of-week only)
  int name_count;
  const char* names_hint;
};

// Day-of-week allows 7 as well as 0 for Sunday, as every cron does; ParseCron folds it into 0.
constexpr Field kFields[5] = {
    {"minute", 0, 59, nullptr, 0, nullptr},
    {"hour", 0, 23, nullptr, 0, nullptr},
    {"day-of-month", 1, 31, nullptr, 0, nullptr},
    {"month", 1, 12, kMonthNames, 12, "month name (jan-dec)"},
    {"day-of-week", 0, 7, kDayNames, 7, "day name (sun-sat)"},
};

struct Macro {
  const char* name;
  const char* fields;
};

constexpr Macro kMacros[] = {
    {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@weekly", "0 0 * * 0"},
    {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"},
};

Status FieldError(const Field& f, const std::string& what) {
  return InvalidArgument("cron field '" + std::string(f.name) + "': " + what);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Parses digits without overflow: anything longer than four digits is out of every field's range.
int SmallNumber(std::string_view digits) {
  if (digits.size() > 4) return 99999;
  int v = 0;
  for (char c : digits) v = v * 10 + (c - '0');
  return v;
}

std::string RangeText(int lo, int hi) { return std::to_string(lo) + "-" + std::to_string(hi); }

// A number or, in month and day-of-week, a three-letter name.
StatusOr<int> ParseValue(const Field& f, std::string_view tok, std::string_view item) {
  if (tok.empty()) return FieldError(f, "missing value in '" + std::string(item) + "'");
  if (AllDigits(tok)) {
    int v = SmallNumber(tok);
    if (v < f.lo || v > f.hi) return FieldError(f, std::string(tok) + " is out of range " + RangeText(f.lo, f.hi));
    return v;
  }
  if (f.names == nullptr) return FieldError(f, "'" + std::string(tok) + "' is not a number");
  std::string lower = Lower(tok);
  for (int i = 0; i < f.name_count; ++i) {
    if (lower == f.names[i]) return f.lo + i;
  }
  return FieldError(f, "'" + std::string(tok) + "' is not a number or " + f.names_hint);
}

// One list item: "*", "5", "1-5", "*/15" or "10-50/10"; sets its values in `bits`.
Status ParseItem(const Field& f, std::string_view item, std::string_view field_text, uint64_t& bits) {
  if (item.empty()) return FieldError(f, "empty list item in '" + std::string(field_text) + "'");
  std::string_view range = item, step_text;
  bool has_step = false;
  if (size_t slash = item.find('/'); slash != std::string_view::npos) {
    range = item.substr(0, slash);
    step_text = item.substr(slash + 1);
    has_step = true;
  }
  int lo = f.lo, hi = f.hi;
  if (range != "*") {
    size_t dash = range.find('-');
    ASSIGN_OR_RETURN(lo, ParseValue(f, range.substr(0, dash), item));
    if (dash != std::string_view::npos) {
      ASSIGN_OR_RETURN(hi, ParseValue(f, range.substr(dash + 1), item));
      if (hi < lo) {
        return FieldError(f, "range '" + std::string(range) + "' goes backwards (write it as " +
                                 std::string(range.substr(0, dash)) + "-" + std::to_string(f.hi) + "," +
                                 std::to_string(f.lo) + "-" + std::string(range.substr(dash + 1)) + ")");
      }
    } else if (has_step) {
      // Vixie cron rejects "5/10"; others read it as 5-59/10. Asking for the range avoids guessing.
      return FieldError(f, "step in '" + std::string(item) + "' needs a range or '*' (e.g. " + std::string(range) +
                               "-" + std::to_string(f.hi) + "/" + std::string(step_text) + ")");
    } else {
      hi = lo;
    }
  }
  int step = 1;
  if (has_step) {
    if (!AllDigits(step_text)) return FieldError(f, "'" + std::string(step_text) + "' is not a valid step");
    step = SmallNumber(step_text);
    if (step < 1 || step > f.hi) {
      return FieldError(f, "step " + std::string(step_text) + " is out of range " + RangeText(1, f.hi));
    }
  }
  for (int v = lo; v <= hi; v += step) bits |= uint64_t{1} << v;
  return Status::Ok();
}

StatusOr<uint64_t> ParseField(const Field& f, std::string_view text) {
  uint64_t bits = 0;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    RETURN_IF_ERROR(ParseItem(f, item, text, bits));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return bits;
}

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

std::chrono::sys_days CivilDay(int y, int m, int d) {
  return std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(static_cast<unsigned>(m)) /
                               std::chrono::day(static_cast<unsigned>(d)));
}

// A local wall-clock minute, which may not exist (spring forward) or exist twice (fall back).
struct Civil {
  int year, month, day, hour, minute;
};

void NextMonth(Civil& c) {
  c.day = 1;
  c.hour = c.minute = 0;
  if (++c.month > 12) {
    c.month = 1;
    ++c.year;
  }
}

void NextDay(Civil& c) {
  c.hour = c.minute = 0;
  if (++c.day > DaysInMonth(c.year, c.month)) NextMonth(c);
}

void NextHour(Civil& c) {
  c.minute = 0;
  if (++c.hour > 23) NextDay(c);
}

void NextMinute(Civil& c) {
  if (++c.minute > 59) NextHour(c);
}

template <size_t N>
int FirstSetFrom(const std::bitset<N>& bits, int from) {
  for (int i = from; i < static_cast<int>(N); ++i) {
    if (bits[i]) return i;
  }
  return -1;
}

// The first matching wall-clock minute at or after `c`, skipping whole months, days and hours that
// cannot match so that a rare expression costs a few steps per month searched, not one per minute.
std::optional<Civil> FirstMatch(const CronExpr& e, Civil c, int last_year) {
  while (c.year <= last_year) {
    if (!e.month[c.month]) {
      NextMonth(c);
      continue;
    }
    if (!e.MatchesDay(c.year, c.month, c.day)) {
      NextDay(c);
      continue;
    }
    int hour = FirstSetFrom(e.hour, c.hour);
    if (hour < 0) {
      NextDay(c);
      continue;
    }
    if (hour != c.hour) {
      c.hour = hour;
      c.minute = 0;
    }
    int minute = FirstSetFrom(e.minute, c.minute);
    if (minute < 0) {
      NextHour(c);
      continue;
    }
    c.minute = minute;
    return c;
  }
  return std::nullopt;
}

// Seconds since the epoch of the wall-clock time read as if it were UTC.
int64_t CivilSeconds(const Civil& c) {
  int64_t days = CivilDay(c.year, c.month, c.day).time_since_epoch().count();
  return days * 86400 + c.hour * 3600 + c.minute * 60;
}

long UtcOffset(time_t t) {
  struct tm tm;
  return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

int64_t LocalSeconds(time_t t) { return static_cast<int64_t>(t) + UtcOffset(t); }

// The instant a wall-clock minute happens: its first occurrence when the clock went back over it,
// the end of the gap when the clock jumped over it. Not mktime: what it does with tm_isdst = -1 for
// such times is unspecified (glibc picks by the previous call's state).
time_t Resolve(const Civil& c) {
  const int64_t cs = CivilSeconds(c);
  // The offsets in force a day either side of cs include those before and after any transition near
  // it (no zone changes its offset twice within two days).
  const long offsets[3] = {UtcOffset(cs - 86400), UtcOffset(cs), UtcOffset(cs + 86400)};
  std::optional<time_t> first;
  for (long off : offsets) {
    time_t t = cs - off;
    if (LocalSeconds(t) == cs && (!first || t < *first)) first = t;
  }
  if (first) return *first;
  // In a gap. Local time only rises across it, so bisect for the first instant past cs, between
  // where cs lands under the offset after the gap (before it) and the one before (after it).
  auto [min_off, max_off] = std::minmax({offsets[0], offsets[1], offsets[2]});
  time_t lo = cs - max_off, hi = cs - min_off;
  if (!(LocalSeconds(lo) < cs && LocalSeconds(hi) > cs)) return cs - offsets[1];  // not a real zone
  while (hi - lo > 1) {
    time_t mid = lo + (hi - lo) / 2;
    (LocalSeconds(mid) > cs ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace

bool CronExpr::MatchesDay(int y, int m, int d) const {
  const unsigned weekday = std::chrono::weekday(CivilDay(y, m, d)).c_encoding();
  const bool dom = day_of_month[d], dow = day_of_week[weekday];
  if (!day_of_month_star && !day_of_week_star) return dom || dow;
  return dom && dow;
}

StatusOr<CronExpr> ParseCron(std::string_view text) {
  std::vector<std::string_view> fields = SplitWhitespace(text);
  if (fields.empty()) return InvalidArgument("empty cron expression");
  const std::string trimmed(fields.front().data(), fields.back().data() + fields.back().size());
  if (fields[0][0] == '@') {
    std::string name = Lower(fields[0]);
    for (const Macro& m : kMacros) {
      if (fields.size() == 1 && name == m.name) {
        ASSIGN_OR_RETURN(CronExpr e, ParseCron(m.fields));
        e.text = std::string(fields[0]);
        return e;
      }
    }
    return InvalidArgument("unknown cron macro '" + trimmed +
                           "' (use @hourly, @daily, @midnight, @weekly, @monthly, @yearly or @annually)");
  }
  if (fields.size() != 5) {
    return InvalidArgument("cron expression '" + trimmed + "' has " + std::to_string(fields.size()) +
                           " fields; expected 5 (minute hour day-of-month month day-of-week)");
  }
  uint64_t bits[5];
  for (int i = 0; i < 5; ++i) {
    ASSIGN_OR_RETURN(bits[i], ParseField(kFields[i], fields[i]));
  }
  if (bits[4] & (uint64_t{1} << 7)) bits[4] = (bits[4] | 1) & ~(uint64_t{1} << 7);

  CronExpr e;
  e.minute = std::bitset<60>(bits[0]);
  e.hour = std::bitset<24>(bits[1]);
  e.day_of_month = std::bitset<32>(bits[2]);
  e.month = std::bitset<13>(bits[3]);
  e.day_of_week = std::bitset<7>(bits[4]);
  e.day_of_month_star = fields[2][0] == '*';
  e.day_of_week_star = fields[4][0] == '*';
  e.text = std::string(fields[0]);
  for (int i = 1; i < 5; ++i) e.text += " " + std::string(fields[i]);

  // Only the day-of-month AND month combination can be impossible: a restricted day-of-week alone
  // widens the days (the OR rule), "*/n" always includes day 1, and any date that exists falls on
  // every weekday some year.
  if (!e.day_of_month_star && e.day_of_week_star) {
    bool possible = false;
    for (int m = 1; m <= 12; ++m) {
      if (!e.month[m]) continue;
      for (int d = 1; d <= DaysInMonth(2000, m); ++d) possible |= e.day_of_month[d];  // 2000: Feb has 29
    }
    if (!possible) {
      return InvalidArgument("cron expression '" + e.text + "' never fires: no month in '" + std::string(fields[3]) +
                             "' has a day in '" + std::string(fields[2]) + "'");
    }
  }
  return e;
}

StatusOr<time_t> NextRun(const CronExpr& expr, time_t after) {
  struct tm tm;
  if (!localtime_r(&after, &tm)) return InvalidArgument("time " + std::to_string(after) + " is out of range");
  Civil c{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min};
  NextMinute(c);
  const int last_year = c.year + kCronSearchYears;
  while (true) {
    std::optional<Civil> match = FirstMatch(expr, c, last_year);
    if (!match) {
      return NotFound("cron expression '" + expr.text + "' does not fire in the " + std::to_string(kCronSearchYears) +
                      " years after " + FormatLocalTime(after));
    }
    time_t t = Resolve(*match);
    if (t > after) return t;
    // The first occurrence of a repeated wall-clock minute is already past: it does not fire again.
    c = *match;
    NextMinute(c);
  }
}

std::string FormatLocalTime(time_t t) {
  struct tm tm;
  char buf[64];
  if (!localtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%d %H:%M %Z", &tm) == 0) return std::to_string(t);
  return buf;
}

}  // namespace stb
