// WAL names and PostgreSQL's small formats: LSNs, WAL file names, object names, timeline
// history files and the first page header of a segment. Everything here parses outside bytes
// through core/parse and is fuzzed.
#include <cstdio>

#include "core/parse.h"
#include "repository/wal_store.h"

namespace stb {

namespace {

std::string Hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", v);
  return buf;
}

// Exactly 8 upper-case hex digits (the fields of PostgreSQL's file names).
StatusOr<uint32_t> Field8(std::string_view s, std::string_view what) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
      return InvalidArgument(std::string(what) + ": '" + QuoteForError(s) + "' is not 8 upper-case hex digits");
    }
  }
  if (s.size() != 8) return InvalidArgument(std::string(what) + ": '" + QuoteForError(s) + "' is not 8 hex digits");
  ASSIGN_OR_RETURN(uint64_t v, ParseHex(s, 8, what));
  return static_cast<uint32_t>(v);
}

StatusOr<WalName> ParseSegmentFields(std::string_view s24, WalName::Kind kind) {
  WalName n;
  n.kind = kind;
  ASSIGN_OR_RETURN(n.tli, Field8(s24.substr(0, 8), "WAL file timeline"));
  ASSIGN_OR_RETURN(n.log, Field8(s24.substr(8, 8), "WAL file log number"));
  ASSIGN_OR_RETURN(n.seg, Field8(s24.substr(16, 8), "WAL file segment number"));
  if (n.tli == 0) return InvalidArgument("WAL file name '" + QuoteForError(s24) + "': timeline 0 does not exist");
  return n;
}

}  // namespace

StatusOr<uint64_t> ParseLsn(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return InvalidArgument("LSN '" + QuoteForError(text) + "' is not X/Y");
  ASSIGN_OR_RETURN(uint64_t hi, ParseHex(text.substr(0, slash), 8, "LSN high half"));
  ASSIGN_OR_RETURN(uint64_t lo, ParseHex(text.substr(slash + 1), 8, "LSN low half"));
  return hi << 32 | lo;
}

std::string FormatLsn(uint64_t lsn) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<uint32_t>(lsn >> 32), static_cast<uint32_t>(lsn));
  return buf;
}

bool ValidSegmentSize(uint64_t s) { return s >= (1u << 20) && s <= (1u << 30) && (s & (s - 1)) == 0; }

uint64_t WalName::Segno(uint32_t seg_size) const { return uint64_t(log) * ((uint64_t(1) << 32) / seg_size) + seg; }

std::string WalName::SegmentName() const { return Hex8(tli) + Hex8(log) + Hex8(seg); }

std::string WalName::FileName() const {
  switch (kind) {
    case kSegment:
      return SegmentName();
    case kPgPartial:
      return SegmentName() + ".partial";
    case kHistory:
      return Hex8(tli) + ".history";
    case kBackupHistory:
      return SegmentName() + "." + Hex8(begin) + ".backup";
    case kPart:
      return SegmentName() + ".r" + Hex8(begin) + "-" + Hex8(end);
  }
  return "";
}

WalName SegmentWalName(uint32_t tli, uint64_t segno, uint32_t seg_size, WalName::Kind kind) {
  uint64_t per = (uint64_t(1) << 32) / seg_size;
  WalName n;
  n.kind = kind;
  n.tli = tli;
  n.log = static_cast<uint32_t>(segno / per);
  n.seg = static_cast<uint32_t>(segno % per);
  return n;
}

std::string SegmentFileName(uint32_t tli, uint64_t segno, uint32_t seg_size) {
  return SegmentWalName(tli, segno, seg_size).SegmentName();
}

StatusOr<WalName> ParsePgWalFileName(std::string_view f) {
  auto bad = [&] {
    return InvalidArgument("'" + QuoteForError(f) +
                           "' is not a WAL file name (24 hex digits, optionally .partial; 8 hex digits .history; "
                           "or 24 hex digits .XXXXXXXX.backup)");
  };
  if (f.size() == 16 && f.ends_with(".history")) {
    WalName n;
    n.kind = WalName::kHistory;
    ASSIGN_OR_RETURN(n.tli, Field8(f.substr(0, 8), "history file timeline"));
    if (n.tli == 0) return bad();
    return n;
  }
  if (f.size() < 24) return bad();
  std::string_view rest = f.substr(24);
  WalName::Kind kind;
  if (rest.empty()) {
    kind = WalName::kSegment;
  } else if (rest == ".partial") {
    kind = WalName::kPgPartial;
  } else if (rest.size() == 16 && rest[0] == '.' && rest.ends_with(".backup")) {
    kind = WalName::kBackupHistory;
  } else {
    return bad();
  }
  ASSIGN_OR_RETURN(WalName n, ParseSegmentFields(f.substr(0, 24), kind));
  if (kind == WalName::kBackupHistory) {
    ASSIGN_OR_RETURN(n.begin, Field8(rest.substr(1, 8), "backup history offset"));
  }
  return n;
}

std::string WalObjectName(const std::string& cluster, const WalName& n) {
  if (n.kind == WalName::kHistory) return "wal/" + cluster + "/history/" + n.FileName();
  return "wal/" + cluster + "/" + n.SegmentName().substr(0, 16) + "/" + n.FileName();
}

StatusOr<WalName> ParseWalObjectName(std::string_view object, std::string* cluster) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("'" + QuoteForError(object) + "' is not a WAL object name: " + why);
  };
  if (!object.starts_with("wal/")) return bad("not under wal/");
  std::string_view rest = object.substr(4);
  size_t a = rest.find('/');
  if (a != 16) return bad("the cluster folder is not 16 hex digits");
  std::string_view c = rest.substr(0, 16);
  for (char ch : c) {
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return bad("the cluster folder is not lower-case hex");
  }
  rest = rest.substr(17);
  size_t b = rest.find('/');
  if (b == std::string_view::npos) return bad("no folder below the cluster");
  std::string_view folder = rest.substr(0, b), file = rest.substr(b + 1);
  WalName n;
  if (file.size() == 43 && file[24] == '.' && file[25] == 'r' && file[34] == '-') {
    ASSIGN_OR_RETURN(n, ParseSegmentFields(file.substr(0, 24), WalName::kPart));
    ASSIGN_OR_RETURN(n.begin, Field8(file.substr(26, 8), "part start"));
    ASSIGN_OR_RETURN(n.end, Field8(file.substr(35, 8), "part end"));
    if (n.begin >= n.end) return bad("an empty part");
  } else {
    ASSIGN_OR_RETURN(n, ParsePgWalFileName(file));
  }
  if (WalObjectName(std::string(c), n) != object) return bad("the folder '" + QuoteForError(folder) + "' is wrong");
  if (cluster) *cluster = std::string(c);
  return n;
}

StatusOr<std::vector<TimelineHistoryEntry>> ParseTimelineHistory(std::string_view text) {
  std::vector<TimelineHistoryEntry> out;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    size_t p = line.find_first_not_of(" \t\r");
    if (p == std::string_view::npos || line[p] == '#') continue;
    line = line.substr(p);
    size_t t1 = line.find_first_of(" \t");
    if (t1 == std::string_view::npos) {
      return InvalidArgument("timeline history line " + std::to_string(line_no) + ": no switch point");
    }
    std::string_view rest = line.substr(t1);
    rest = rest.substr(std::min(rest.size(), rest.find_first_not_of(" \t")));
    std::string_view lsn = rest.substr(0, rest.find_first_of(" \t\r"));
    TimelineHistoryEntry e;
    auto tli = ParseUint(line.substr(0, t1), 0xFFFFFFFFu, "timeline history: timeline");
    if (!tli.ok()) return tli.status().Context("line " + std::to_string(line_no));
    auto sw = ParseLsn(lsn);
    if (!sw.ok()) return sw.status().Context("timeline history line " + std::to_string(line_no));
    e.tli = static_cast<uint32_t>(*tli);
    e.switch_lsn = *sw;
    if (e.tli == 0 || (!out.empty() && e.tli <= out.back().tli)) {
      return InvalidArgument("timeline history line " + std::to_string(line_no) + ": timelines must increase");
    }
    out.push_back(e);
  }
  return out;
}

StatusOr<WalPageHeader> ParseWalPageHeader(std::span<const uint8_t> d) {
  if (d.size() < 40) return Corrupt("WAL file shorter than a page header (" + std::to_string(d.size()) + " bytes)");
  WalPageHeader h;
  h.magic = static_cast<uint16_t>(d[0] | d[1] << 8);
  h.info = static_cast<uint16_t>(d[2] | d[3] << 8);
  h.tli = GetU32(d.data() + 4);
  h.pageaddr = GetU64(d.data() + 8);
  h.sysid = GetU64(d.data() + 24);
  h.seg_size = GetU32(d.data() + 32);
  return h;
}

StatusOr<WalPageHeader> ValidateSegment(const WalName& name, std::span<const uint8_t> data, uint64_t expected_sysid) {
  std::string what = "WAL file " + name.FileName();
  auto h = ParseWalPageHeader(data);
  if (!h.ok()) return h.status().Context(what);
  char buf[160];
  if (h->magic != kWalPageMagicPg15) {
    std::snprintf(buf, sizeof buf, ": page magic 0x%04X is not PostgreSQL 15's 0x%04X", h->magic, kWalPageMagicPg15);
    return Corrupt(what + buf);
  }
  if ((h->info & 0x0002) == 0) return Corrupt(what + ": the first page has no long header (XLP_LONG_HEADER unset)");
  if (!ValidSegmentSize(h->seg_size) || h->seg_size > kWalMaxSegmentSize) {
    return InvalidArgument(what + ": segment size " + std::to_string(h->seg_size) +
                           " is not supported (a power of two from 1 MiB to 64 MiB)");
  }
  if (name.kind == WalName::kSegment && data.size() != h->seg_size) {
    return Corrupt(what + ": " + std::to_string(data.size()) + " bytes, but its header says segments are " +
                   std::to_string(h->seg_size));
  }
  if (name.kind == WalName::kPgPartial && data.size() > h->seg_size) return Corrupt(what + ": longer than a segment");
  if (h->tli != name.tli) {
    return Corrupt(what + ": page header timeline " + std::to_string(h->tli) + " differs from the name's " +
                   std::to_string(name.tli));
  }
  if (name.seg >= (uint64_t(1) << 32) / h->seg_size) return Corrupt(what + ": segment number out of range");
  uint64_t expect = name.Segno(h->seg_size) * h->seg_size;
  if (h->pageaddr != expect) {
    return Corrupt(what + ": page address " + FormatLsn(h->pageaddr) + " is not the name's " + FormatLsn(expect));
  }
  if (expected_sysid != 0 && h->sysid != expected_sysid) {
    return Corrupt(what + ": system identifier " + std::to_string(h->sysid) + " is not the cluster's " +
                   std::to_string(expected_sysid));
  }
  return h;
}

}  // namespace stb
