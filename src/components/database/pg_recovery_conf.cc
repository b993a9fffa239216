#include "components/database/pg_recovery_conf.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "repository/wal_store.h"

namespace stb {

std::string RecoveryTarget::Describe() const {
  switch (kind) {
    case kLatest:
      return "latest";
    case kImmediate:
      return "immediate";
    case kTime:
      return "time " + PgTimestampUtc(time_unix);
    case kLsn:
      return "lsn " + FormatLsn(lsn);
  }
  return "";
}

namespace {

bool Digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

// "Z", "UTC", "+HH", "+HHMM", "+HH:MM" (or -): seconds east of UTC.
bool ParseZone(std::string_view z, int& offset) {
  if (z == "Z" || z == "z" || z == "UTC" || z == "utc") {
    offset = 0;
    return true;
  }
  if (z.size() < 3 || (z[0] != '+' && z[0] != '-')) return false;
  int h = 0, m = 0;
  if (!Digits(z, 1, 2, h)) return false;
  if (z.size() == 5 && !Digits(z, 3, 2, m)) return false;
  if (z.size() == 6 && (z[3] != ':' || !Digits(z, 4, 2, m))) return false;
  if (z.size() != 3 && z.size() != 5 && z.size() != 6) return false;
  if (h > 14 || m > 59) return false;
  offset = (z[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  return true;
}

}  // namespace

StatusOr<double> ParseTargetTime(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("--target-time '" + std::string(text) + "': " + why +
                           " (use YYYY-MM-DD HH:MM:SS[.fff][+HH:MM|Z], or ISO 8601 with T)");
  };
  std::tm tm{};
  int y, mo, d, h, mi, s;
  if (!Digits(text, 0, 4, y) || text.size() < 19 || text[4] != '-' || !Digits(text, 5, 2, mo) || text[7] != '-' ||
      !Digits(text, 8, 2, d) || (text[10] != ' ' && text[10] != 'T' && text[10] != 't') || !Digits(text, 11, 2, h) ||
      text[13] != ':' || !Digits(text, 14, 2, mi) || text[16] != ':' || !Digits(text, 17, 2, s)) {
    return bad("not a date and time");
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return bad("a field is out of range");
  size_t pos = 19;
  double frac = 0;
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    size_t start = ++pos;
    for (; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos, scale /= 10)
      frac += (text[pos] - '0') * scale;
    if (pos == start) return bad("no digits after '.'");
  }
  std::string_view zone = text.substr(pos);
  while (!zone.empty() && zone.front() == ' ') zone.remove_prefix(1);
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::tm check = tm;
  time_t t;
  if (zone.empty()) {
    tm.tm_isdst = -1;
    t = ::mktime(&tm);
    if (t == -1) return bad("not a valid local time");
  } else {
    int offset = 0;
    if (!ParseZone(zone, offset)) return bad("unknown zone '" + std::string(zone) + "'");
    t = ::timegm(&tm) - offset;
  }
  if (tm.tm_mday != check.tm_mday || tm.tm_mon != check.tm_mon) return bad("no such day");
  return double(t) + frac;
}

std::string PgTimestampUtc(double unix_seconds) {
  double whole = std::floor(unix_seconds);
  long micros = std::lround((unix_seconds - whole) * 1e6);
  time_t t = time_t(whole);
  if (micros >= 1000000) {
    ++t;
    micros -= 1000000;
  }
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06ld+00", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

std::string PgConfQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + "'";
}

std::string RestoreCommandWord(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') {
      out += "'\\''";
    } else if (c == '%') {
      out += "%%";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string RecoveryConfText(const RecoveryConf& c) {
  std::string t = "\n# " + c.comment + "\n";
  auto set = [&](const std::string& name, const std::string& value) { t += name + " = " + PgConfQuote(value) + "\n"; };
  set("restore_command",
      RestoreCommandWord(c.binary) + " wal-fetch --staging " + RestoreCommandWord(c.stage_dir) + " %f %p");
  set("recovery_target_timeline", "latest");
  switch (c.target.kind) {
    case RecoveryTarget::kTime:
      set("recovery_target_time", PgTimestampUtc(c.target.time_unix));
      break;
    case RecoveryTarget::kLsn:
      set("recovery_target_lsn", FormatLsn(c.target.lsn));
      break;
    case RecoveryTarget::kImmediate:
      set("recovery_target", "immediate");
      break;
    case RecoveryTarget::kLatest:
      break;
  }
  if (c.target.kind == RecoveryTarget::kTime || c.target.kind == RecoveryTarget::kLsn) {
    set("recovery_target_inclusive", "on");
  }
  set("recovery_target_action", "promote");
  if (c.archive_off) set("archive_mode", "off");
  if (c.scratch) {
    set("port", std::to_string(c.port));
    set("listen_addresses", "");
    set("unix_socket_directories", c.socket_dir);
    set("synchronous_standby_names", "");
    set("primary_conninfo", "");
  }
  return t;
}

}  // namespace stb
