#include "retention/policy.h"

#include <algorithm>
#include <climits>
#include <ctime>
#include <optional>

#include "core/env.h"

namespace stb {

namespace {

constexpr const char* kWithinSyntax = "is not a duration like 1y2m3d4h";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12), and back. Plain integer
// arithmetic, so month and day arithmetic below cannot overflow struct tm's int fields.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct CivilDate {
  int64_t year;
  int month, day;
};

CivilDate CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (month <= 2), month, day};
}

std::tm LocalTm(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  return tm;
}

// The calendar fields the bucket rules look at, in local time (as restic, which buckets by the
// snapshot's wall clock).
struct Calendar {
  int64_t year, month, day, hour, iso_year, iso_week;
};

Calendar CalendarOf(int64_t t) {
  const std::tm tm = LocalTm(t);
  Calendar c{tm.tm_year + 1900LL, tm.tm_mon + 1LL, tm.tm_mday, tm.tm_hour, 0, 0};
  // ISO 8601: a week belongs to the year that holds its Thursday, and is numbered from that
  // year's first Thursday. So 2024-12-30 (a Monday) is in week 1 of 2025.
  const int64_t days = DaysFromCivil(c.year, c.month, c.day);
  const int64_t monday_based = ((days + 3) % 7 + 7) % 7;  // 1970-01-01 was a Thursday
  const int64_t thursday = days - monday_based + 3;
  c.iso_year = CivilFromDays(thursday).year;
  c.iso_week = (thursday - DaysFromCivil(c.iso_year, 1, 1)) / 7 + 1;
  return c;
}

enum class Bucket { kLast, kHourly, kDaily, kWeekly, kMonthly, kYearly };

int64_t BucketOf(Bucket b, const Calendar& c, size_t index) {
  switch (b) {
    case Bucket::kLast:
      return static_cast<int64_t>(index);  // every snapshot is its own bucket
    case Bucket::kHourly:
      return ((c.year * 100 + c.month) * 100 + c.day) * 100 + c.hour;
    case Bucket::kDaily:
      return (c.year * 100 + c.month) * 100 + c.day;
    case Bucket::kWeekly:
      return c.iso_year * 100 + c.iso_week;
    case Bucket::kMonthly:
      return c.year * 100 + c.month;
    case Bucket::kYearly:
      return c.year;
  }
  return 0;
}

// The instant `d` before `latest`: calendar steps on the local wall clock, with overflowing days
// carried over (like Go's AddDate, which restic uses), then the hours as elapsed time.
int64_t WithinStart(int64_t latest, const Duration& d) {
  const std::tm tm = LocalTm(latest);
  const int64_t total_months = (tm.tm_year + 1900LL - d.years) * 12 + tm.tm_mon - d.months;
  const int64_t year = FloorDiv(total_months, 12);
  const int64_t month = total_months - year * 12 + 1;
  const CivilDate date = CivilFromDays(DaysFromCivil(year, month, 1) + tm.tm_mday - 1 - d.days);
  // Before year 1 every real snapshot is inside the range; stopping here also keeps tm_year in range.
  if (date.year < 1) return INT64_MIN;
  std::tm start{};
  start.tm_year = static_cast<int>(date.year - 1900);
  start.tm_mon = date.month - 1;
  start.tm_mday = date.day;
  start.tm_hour = tm.tm_hour;
  start.tm_min = tm.tm_min;
  start.tm_sec = tm.tm_sec;
  start.tm_isdst = -1;  // whatever DST says on that date, not on the latest snapshot's
  return static_cast<int64_t>(std::mktime(&start)) - static_cast<int64_t>(d.hours) * 3600;
}

Status CheckCount(const char* option, int n) {
  if (n >= -1) return Status::Ok();
  return InvalidArgument(std::string(option) + ": " + std::to_string(n) +
                         " is not a count; use -1 (or 'unlimited') to keep all");
}

// Within durations with a zero value count as unset (restic's Duration.Zero).
std::optional<Duration> WithinOf(const Policy& p) {
  if (p.within.empty()) return std::nullopt;
  auto d = ParseWithin(p.within);
  if (!d.ok() || d->Zero()) return std::nullopt;
  return *d;
}

}  // namespace

std::string Duration::ToString() const {
  std::string s;
  if (years != 0) s += std::to_string(years) + "y";
  if (months != 0) s += std::to_string(months) + "m";
  if (days != 0) s += std::to_string(days) + "d";
  if (hours != 0) s += std::to_string(hours) + "h";
  return s;
}

StatusOr<Duration> ParseWithin(const std::string& text) {
  auto syntax_error = [&] { return InvalidArgument("--keep-within: '" + text + "' " + kWithinSyntax); };
  size_t begin = 0, end = text.size();
  while (begin < end && IsSpace(text[begin])) begin++;
  while (end > begin && IsSpace(text[end - 1])) end--;
  if (begin == end) return syntax_error();
  Duration d;
  size_t i = begin;
  while (i < end) {
    if (text[i] == '-') {
      // restic's parser accepts "-5d", and its forget command then rejects it.
      return InvalidArgument("--keep-within: '" + text + "' is negative; durations look like 1y2m3d4h");
    }
    int64_t n = 0;
    size_t digits = 0;
    for (; i < end && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
      n = n * 10 + (text[i] - '0');
      if (n > INT_MAX) return InvalidArgument("--keep-within: '" + text + "' is too large");
    }
    if (digits == 0 || i == end) return syntax_error();
    switch (text[i++]) {
      case 'y':
        d.years = static_cast<int>(n);
        break;
      case 'm':
        d.months = static_cast<int>(n);
        break;
      case 'd':
        d.days = static_cast<int>(n);
        break;
      case 'h':
        d.hours = static_cast<int>(n);
        break;
      default:
        return syntax_error();
    }
  }
  return d;
}

StatusOr<int> ParseKeepCount(const std::string& option, const std::string& text) {
  if (text == "unlimited" || text == "-1") return -1;
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument(option + ": '" + text + "' is not a count (a number, or 'unlimited' to keep all)");
  }
  return std::stoi(text);
}

bool Policy::Empty() const {
  if (last != 0 || hourly != 0 || daily != 0 || weekly != 0 || monthly != 0 || yearly != 0) return false;
  if (within.empty()) return true;
  auto d = ParseWithin(within);
  return d.ok() && d->Zero();  // a bad duration is not "no policy": ApplyPolicy reports it
}

std::string Policy::Describe() const {
  const std::pair<int, const char*> counts[] = {{last, "latest"},   {hourly, "hourly"},   {daily, "daily"},
                                                {weekly, "weekly"}, {monthly, "monthly"}, {yearly, "yearly"}};
  std::string s;
  for (const auto& [n, what] : counts) {
    if (n == 0) continue;
    if (!s.empty()) s += ", ";
    s += (n == -1 ? std::string("all") : std::to_string(n)) + " " + what;
  }
  if (!s.empty()) s += " snapshots";
  if (!within.empty()) {
    auto d = ParseWithin(within);
    if (!d.ok() || !d->Zero()) {
      if (!s.empty()) s += " and ";
      s += "all snapshots within " + (d.ok() ? d->ToString() : "'" + within + "'") + " of the newest";
    }
  }
  return s.empty() ? "no policy (keeps everything)" : "keep " + s;
}

Status ValidatePolicy(const Policy& p) {
  RETURN_IF_ERROR(CheckCount("--keep-last", p.last));
  RETURN_IF_ERROR(CheckCount("--keep-hourly", p.hourly));
  RETURN_IF_ERROR(CheckCount("--keep-daily", p.daily));
  RETURN_IF_ERROR(CheckCount("--keep-weekly", p.weekly));
  RETURN_IF_ERROR(CheckCount("--keep-monthly", p.monthly));
  RETURN_IF_ERROR(CheckCount("--keep-yearly", p.yearly));
  if (!p.within.empty()) RETURN_IF_ERROR(ParseWithin(p.within).status());
  return Status::Ok();
}

StatusOr<std::vector<Decision>> ApplyPolicy(std::vector<RetentionItem> items, const Policy& p, int64_t now_unix) {
  RETURN_IF_ERROR(ValidatePolicy(p));
  std::stable_sort(items.begin(), items.end(),
                   [](const RetentionItem& a, const RetentionItem& b) { return a.time_unix > b.time_unix; });
  std::vector<Decision> out;
  out.reserve(items.size());
  if (p.Empty()) {
    for (auto& item : items) out.push_back({std::move(item), true, {"no policy"}});
    return out;
  }

  const std::optional<Duration> within = WithinOf(p);
  int64_t within_start = INT64_MIN;
  if (within) {
    // A snapshot stamped in the future (clock skew) must not push the range past all the others.
    std::optional<int64_t> latest;
    for (const auto& item : items) {
      if (item.time_unix <= now_unix && (!latest || item.time_unix > *latest)) latest = item.time_unix;
    }
    // With no snapshot up to now, restic counts back from year 1: everything is within.
    if (latest) within_start = WithinStart(*latest, *within);
  }
  const std::string within_reason = within ? "within " + within->ToString() : "";

  struct Rule {
    int budget;  // -1: unlimited
    Bucket bucket;
    const char* reason;
    std::optional<int64_t> last_bucket = std::nullopt;
  };
  Rule rules[] = {{p.last, Bucket::kLast, "last snapshot"},          {p.hourly, Bucket::kHourly, "hourly snapshot"},
                  {p.daily, Bucket::kDaily, "daily snapshot"},       {p.weekly, Bucket::kWeekly, "weekly snapshot"},
                  {p.monthly, Bucket::kMonthly, "monthly snapshot"}, {p.yearly, Bucket::kYearly, "yearly snapshot"}};

  for (size_t i = 0; i < items.size(); i++) {
    Decision d{std::move(items[i]), false, {}};
    if (within && d.item.time_unix > within_start) d.reasons.push_back(within_reason);
    const Calendar cal = CalendarOf(d.item.time_unix);
    const bool oldest = i + 1 == items.size();
    for (Rule& r : rules) {
      if (r.budget == 0) continue;
      const int64_t b = BucketOf(r.bucket, cal, i);
      // Newest first, so the first snapshot seen in a bucket is that bucket's newest. The oldest
      // snapshot is kept as well while a rule has budget left (restic 0.16+): with too few
      // snapshots to fill the rule, it is the only way to keep the history as long as asked.
      const bool same_bucket = r.last_bucket && *r.last_bucket == b;
      if (same_bucket && !oldest) continue;
      d.reasons.push_back(same_bucket ? std::string("oldest ") + r.reason : r.reason);
      r.last_bucket = b;
      if (r.budget > 0) r.budget--;
    }
    d.keep = !d.reasons.empty();
    out.push_back(std::move(d));
  }
  return out;
}

StatusOr<std::vector<Decision>> ApplyPolicy(std::vector<RetentionItem> items, const Policy& p) {
  return ApplyPolicy(std::move(items), p, static_cast<int64_t>(Env::Default().Now()));
}

StatusOr<Policy> ParsePolicySpec(const std::string& setting, const std::string& spec) {
  Policy p;
  size_t start = 0;
  while (start < spec.size()) {
    size_t comma = spec.find(',', start);
    std::string part = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? spec.size() : comma + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string key = part.substr(0, eq), value = eq == std::string::npos ? "" : part.substr(eq + 1);
    int* count = key == "last"      ? &p.last
                 : key == "hourly"  ? &p.hourly
                 : key == "daily"   ? &p.daily
                 : key == "weekly"  ? &p.weekly
                 : key == "monthly" ? &p.monthly
                 : key == "yearly"  ? &p.yearly
                                    : nullptr;
    if (count) {
      ASSIGN_OR_RETURN(*count, ParseKeepCount(setting + " " + key, value));
    } else if (key == "within") {
      RETURN_IF_ERROR(ParseWithin(value).status().Context(setting));
      p.within = value;
    } else {
      return InvalidArgument(
          setting + ": '" + part +
          "' is not one of last=N, hourly=N, daily=N, weekly=N, monthly=N, yearly=N, within=1y2m3d4h");
    }
  }
  return p;
}

RetentionConfig DefaultRetention() {
  RetentionConfig c;
  c.full.daily = 7;
  c.full.weekly = 4;
  c.full.monthly = 12;
  c.full.yearly = 3;
  c.incremental.within = "1d";
  return c;
}

StatusOr<std::vector<Decision>> ApplyRetention(std::vector<RetentionItem> items, const RetentionConfig& c,
                                               int64_t now_unix) {
  RETURN_IF_ERROR(ValidatePolicy(c.full).Context("retention of full backups"));
  RETURN_IF_ERROR(ValidatePolicy(c.incremental).Context("retention of incremental backups"));
  // Sorting once here fixes the order of ties across both types; each group then stays sorted.
  std::stable_sort(items.begin(), items.end(),
                   [](const RetentionItem& a, const RetentionItem& b) { return a.time_unix > b.time_unix; });
  std::vector<RetentionItem> fulls, incrementals;
  std::vector<bool> is_full;
  is_full.reserve(items.size());
  for (auto& item : items) {
    if (item.type == "full") {
      fulls.push_back(item);
    } else if (item.type == "incremental") {
      incrementals.push_back(item);
    } else {
      return InvalidArgument("snapshot " + item.id + " has backup type '" + item.type +
                             "'; retention knows only 'full' and 'incremental'");
    }
    is_full.push_back(item.type == "full");
  }
  ASSIGN_OR_RETURN(std::vector<Decision> full_out, ApplyPolicy(std::move(fulls), c.full, now_unix));
  ASSIGN_OR_RETURN(std::vector<Decision> inc_out, ApplyPolicy(std::move(incrementals), c.incremental, now_unix));
  std::vector<Decision> out;
  out.reserve(items.size());
  size_t fi = 0, ii = 0;
  for (bool full : is_full) out.push_back(std::move(full ? full_out[fi++] : inc_out[ii++]));
  return out;
}

StatusOr<std::vector<Decision>> ApplyRetention(std::vector<RetentionItem> items, const RetentionConfig& c) {
  return ApplyRetention(std::move(items), c, static_cast<int64_t>(Env::Default().Now()));
}

}  // namespace stb
