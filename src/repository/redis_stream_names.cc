// Names of Redis stream objects and the contiguity of a chain: pure functions over strings that a
// listing of a location (hostile or damaged) hands us; fuzzed.
#include <algorithm>
#include <cstdio>

#include "core/parse.h"
#include "repository/redis_stream_store.h"

namespace stb {

namespace {

bool IsLowerHex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsDigits(std::string_view s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string Hex(uint64_t v, int digits) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%0*llx", digits, static_cast<unsigned long long>(v));
  return buf;
}

StatusOr<uint64_t> HexField(std::string_view s, size_t n, std::string_view what) {
  if (!IsLowerHex(s, n)) {
    return InvalidArgument(std::string(what) + " '" + QuoteForError(s) + "' is not " + std::to_string(n) +
                           " lower-case hex digits");
  }
  return ParseHex(s, n, what);
}

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, UTC).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

std::vector<std::string_view> SplitSlash(std::string_view s) {
  std::vector<std::string_view> out;
  size_t b = 0;
  while (true) {
    size_t e = s.find('/', b);
    out.push_back(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
    if (e == std::string_view::npos) return out;
    b = e + 1;
  }
}

// The hours a name may carry: 1970 to 9999 (YYYY is four digits).
constexpr int64_t kMaxHour = (int64_t{2932896} + 1) * 24 - 1;  // 9999-12-31T23

}  // namespace

std::string RedisChainId::Str() const { return Hex(static_cast<uint64_t>(base_ms), 12) + "-" + Hex(tag, 8); }

StatusOr<RedisChainId> ParseRedisChainId(std::string_view text) {
  if (text.size() != 21 || text[12] != '-') {
    return InvalidArgument("Redis chain id '" + QuoteForError(text) + "' is not <12 hex>-<8 hex>");
  }
  RedisChainId c;
  ASSIGN_OR_RETURN(uint64_t ms, HexField(text.substr(0, 12), 12, "Redis chain time"));
  ASSIGN_OR_RETURN(uint64_t tag, HexField(text.substr(13), 8, "Redis chain tag"));
  c.base_ms = static_cast<int64_t>(ms);
  c.tag = static_cast<uint32_t>(tag);
  return c;
}

int64_t RedisHourOfMs(int64_t ms) {
  constexpr int64_t kHour = 3600000;
  return ms / kHour - (ms % kHour < 0 ? 1 : 0);
}

std::string FormatRedisHour(int64_t hour) {
  if (hour < 0 || hour > kMaxHour) return "0000000000";  // no parser accepts it
  int64_t days = hour / 24;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02u%02lld", static_cast<long long>(y), m, d,
                static_cast<long long>(hour - days * 24));
  return buf;
}

StatusOr<int64_t> ParseRedisHour(std::string_view text) {
  auto bad = [&] { return InvalidArgument("Redis segment hour '" + QuoteForError(text) + "' is not a YYYYMMDDHH"); };
  if (!IsDigits(text, 10)) return bad();
  int64_t y = (text[0] - '0') * 1000 + (text[1] - '0') * 100 + (text[2] - '0') * 10 + (text[3] - '0');
  unsigned m = static_cast<unsigned>((text[4] - '0') * 10 + (text[5] - '0'));
  unsigned d = static_cast<unsigned>((text[6] - '0') * 10 + (text[7] - '0'));
  int64_t h = (text[8] - '0') * 10 + (text[9] - '0');
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m) || h > 23) return bad();
  return DaysFromCivil(y, m, d) * 24 + h;
}

std::string RedisObjectName(const RedisStreamName& n) {
  std::string p = "redis/" + n.source + "/";
  switch (n.kind) {
    case RedisObjectKind::kChainMeta:
      return p + "chains/" + n.chain;
    case RedisObjectKind::kBasePiece: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "%06u", n.piece);
      return p + "base/" + n.chain + "/" + buf;
    }
    case RedisObjectKind::kSegment:
      return p + "seg/" + n.chain + "/" + FormatRedisHour(n.hour) + "/" + Hex(n.start, 16) + "-" + Hex(n.end, 16);
    case RedisObjectKind::kReplidSwitch:
      return p + "ids/" + n.chain + "/" + Hex(n.start, 16);
    case RedisObjectKind::kEvent:
      return p + "events/" + n.chain + "/" + Hex(static_cast<uint64_t>(n.event_ms), 12);
  }
  return p;
}

StatusOr<RedisStreamName> ParseRedisObjectName(std::string_view object) {
  auto bad = [&](std::string why) {
    return InvalidArgument("'" + QuoteForError(object) + "' is not a Redis stream object name: " + why);
  };
  std::vector<std::string_view> parts = SplitSlash(object);
  if (parts.size() < 4 || parts[0] != "redis") return bad("expected redis/<source>/<kind>/<chain>...");
  RedisStreamName n;
  if (!IsLowerHex(parts[1], 16)) return bad("the source is not 16 lower-case hex digits");
  n.source = std::string(parts[1]);
  auto chain = ParseRedisChainId(parts[3]);
  if (!chain.ok()) return bad(chain.status().message());
  n.chain = std::string(parts[3]);
  std::string_view kind = parts[2];
  size_t want = kind == "chains" ? 4 : kind == "seg" ? 6 : 5;
  if (parts.size() != want) return bad("wrong number of path elements");
  if (kind == "chains") {
    n.kind = RedisObjectKind::kChainMeta;
  } else if (kind == "base") {
    n.kind = RedisObjectKind::kBasePiece;
    if (!IsDigits(parts[4], 6)) return bad("the piece number is not 6 digits");
    n.piece = static_cast<uint32_t>(*ParseUint(parts[4], kRedisMaxPieces - 1, "piece"));
  } else if (kind == "seg") {
    n.kind = RedisObjectKind::kSegment;
    auto hour = ParseRedisHour(parts[4]);
    if (!hour.ok()) return bad(hour.status().message());
    n.hour = *hour;
    std::string_view r = parts[5];
    if (r.size() != 33 || r[16] != '-') return bad("the range is not <16 hex>-<16 hex>");
    auto s = HexField(r.substr(0, 16), 16, "segment start");
    auto e = HexField(r.substr(17), 16, "segment end");
    if (!s.ok() || !e.ok()) return bad((s.ok() ? e.status() : s.status()).message());
    if (*s >= *e) return bad("its start is not below its end");
    n.start = *s;
    n.end = *e;
  } else if (kind == "ids") {
    n.kind = RedisObjectKind::kReplidSwitch;
    auto s = HexField(parts[4], 16, "replication id switch offset");
    if (!s.ok()) return bad(s.status().message());
    n.start = *s;
  } else if (kind == "events") {
    n.kind = RedisObjectKind::kEvent;
    auto ms = HexField(parts[4], 12, "event time");
    if (!ms.ok()) return bad(ms.status().message());
    n.event_ms = static_cast<int64_t>(*ms);
  } else {
    return bad("unknown kind folder");
  }
  if (n.kind == RedisObjectKind::kSegment && n.hour > kMaxHour) return bad("hour out of range");
  return n;
}

RedisContiguity ChainContiguity(uint64_t base_offset, std::vector<RedisRange> segments) {
  std::sort(segments.begin(), segments.end(), [](const RedisRange& a, const RedisRange& b) {
    return a.start != b.start ? a.start < b.start : a.end < b.end;
  });
  RedisContiguity out;
  out.durable_end = base_offset;
  uint64_t covered = base_offset;
  bool in_first_run = true;
  for (const RedisRange& r : segments) {
    if (r.end <= covered) continue;
    if (r.start > covered) {
      out.missing.push_back({covered, r.start});
      in_first_run = false;
    }
    covered = r.end;
    if (in_first_run) out.durable_end = covered;
  }
  return out;
}

std::vector<RedisRange> RedisChainListing::Ranges() const {
  std::vector<RedisRange> out;
  out.reserve(segments.size());
  for (const auto& s : segments) out.push_back(s.range);
  return out;
}

bool ValidReplid(std::string_view s) { return IsLowerHex(s, 40); }

}  // namespace stb
