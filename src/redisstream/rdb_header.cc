#include "redisstream/rdb_header.h"

#include <cctype>
#include <cstring>
#include <limits>

#include "core/parse.h"

namespace stb {

namespace {

// A plain length: 6 bits, 14 bits, or a 32/64-bit big-endian number after 0x80/0x81.
StatusOr<uint64_t> ReadLength(const RdbNextByte& next, uint8_t first) {
  switch (first >> 6) {
    case 0:
      return uint64_t{first & 0x3fu};
    case 1: {
      ASSIGN_OR_RETURN(uint8_t b2, next());
      return uint64_t(first & 0x3f) << 8 | b2;
    }
    default: {
      int bytes = first == 0x80 ? 4 : first == 0x81 ? 8 : 0;
      if (!bytes) return Corrupt("RDB header: bad length encoding");
      uint64_t len = 0;
      for (int i = 0; i < bytes; ++i) {
        ASSIGN_OR_RETURN(uint8_t x, next());
        len = len << 8 | x;
      }
      return len;
    }
  }
}

StatusOr<uint64_t> ReadLength(const RdbNextByte& next) {
  ASSIGN_OR_RETURN(uint8_t b, next());
  return ReadLength(next, b);
}

Status ReadRaw(const RdbNextByte& next, uint64_t n, std::string* value) {
  if (value) value->reserve(static_cast<size_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(uint8_t b, next());
    if (value) value->push_back(static_cast<char>(b));
  }
  return Status::Ok();
}

// LZF as Redis writes it (lzf_c.c's format): a control byte below 32 starts a run of ctrl+1
// literal bytes; any other is a back reference of (ctrl>>5)+2 bytes (7: plus a length byte) to
// distance ((ctrl&31)<<8 | next byte) + 1 behind the output's end.
Status LzfExpand(const std::string& in, uint64_t ulen, std::string& out) {
  const Status bad = Corrupt("RDB header: damaged LZF-compressed aux field");
  out.clear();
  out.reserve(static_cast<size_t>(ulen));
  size_t i = 0;
  while (i < in.size()) {
    const uint8_t ctrl = static_cast<uint8_t>(in[i++]);
    if (ctrl < 32) {
      const size_t n = size_t{ctrl} + 1;
      if (n > in.size() - i || n > ulen - out.size()) return bad;
      out.append(in, i, n);
      i += n;
      continue;
    }
    size_t n = ctrl >> 5;
    if (n == 7) {
      if (i >= in.size()) return bad;
      n += static_cast<uint8_t>(in[i++]);
    }
    if (i >= in.size()) return bad;
    const size_t back = (size_t{ctrl & 0x1fu} << 8 | static_cast<uint8_t>(in[i++])) + 1;
    n += 2;
    if (back > out.size() || n > ulen - out.size()) return bad;
    const size_t from = out.size() - back;
    for (size_t k = 0; k < n; ++k) out.push_back(out[from + k]);  // may overlap what it appends
  }
  if (out.size() != ulen) return bad;
  return Status::Ok();
}

}  // namespace

Status ReadRdbString(const RdbNextByte& next, std::string* value, uint64_t max_len) {
  if (value) value->clear();
  ASSIGN_OR_RETURN(uint8_t b, next());
  if ((b >> 6) != 3) {
    ASSIGN_OR_RETURN(uint64_t len, ReadLength(next, b));
    if (len > max_len) return Corrupt("RDB header: aux field too long");
    return ReadRaw(next, len, value);
  }
  const int enc = b & 0x3f;
  if (enc <= 2) {  // int8, int16, int32, little-endian and signed
    const int n = 1 << enc;
    uint32_t u = 0;
    for (int i = 0; i < n; ++i) {
      ASSIGN_OR_RETURN(uint8_t x, next());
      u |= uint32_t{x} << (8 * i);
    }
    int64_t v = n == 1   ? int64_t{static_cast<int8_t>(u)}
                : n == 2 ? int64_t{static_cast<int16_t>(u)}
                         : int64_t{static_cast<int32_t>(u)};
    if (value) *value = std::to_string(v);
    return Status::Ok();
  }
  if (enc != 3) return Corrupt("RDB header: bad string encoding");
  ASSIGN_OR_RETURN(uint64_t clen, ReadLength(next));
  ASSIGN_OR_RETURN(uint64_t ulen, ReadLength(next));
  if (clen > max_len || (value && ulen > max_len)) return Corrupt("RDB header: aux field too long");
  if (!value) return ReadRaw(next, clen, nullptr);
  std::string compressed;
  RETURN_IF_ERROR(ReadRaw(next, clen, &compressed));
  return LzfExpand(compressed, ulen, *value);
}

StatusOr<RdbAux> ReadRdbAux(std::span<const uint8_t> header) {
  if (header.size() < 9 || std::memcmp(header.data(), "REDIS", 5) != 0) {
    return Corrupt("not an RDB snapshot (no REDIS header)");
  }
  RdbAux aux;
  auto version = ParseUint(std::string_view(reinterpret_cast<const char*>(header.data()) + 5, 4), 9999);
  if (!version.ok()) return Corrupt("RDB header has no version number");
  aux.rdb_version = static_cast<int>(*version);
  size_t pos = 9;
  RdbNextByte next = [&]() -> StatusOr<uint8_t> {
    if (pos >= header.size()) return Corrupt("RDB header ends inside an aux field");
    return header[pos++];
  };
  while (pos < header.size() && header[pos] == 0xFA) {
    ++pos;
    std::string key, value;
    RETURN_IF_ERROR(ReadRdbString(next, &key));
    RETURN_IF_ERROR(ReadRdbString(next, &value));
    if (key == "repl-id") {
      bool hex = value.size() == 40;
      for (char c : value) hex = hex && std::isxdigit(static_cast<unsigned char>(c));
      if (!hex) return Corrupt("RDB aux field repl-id is not 40 hex digits: " + QuoteForError(value));
      aux.repl_id = value;
    } else if (key == "repl-offset") {
      auto n = ParseUint(value, std::numeric_limits<int64_t>::max(), "RDB aux field repl-offset");
      if (!n.ok()) return Corrupt(n.status().message());
      aux.repl_offset = *n;
    } else if (key == "ctime") {
      auto n = ParseInt(value, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
                        "RDB aux field ctime");
      if (!n.ok()) return Corrupt(n.status().message());
      aux.ctime = *n;
    } else if (key == "redis-ver") {
      bool printable = !value.empty() && value.size() <= 64;
      for (char c : value) printable = printable && std::isgraph(static_cast<unsigned char>(c));
      if (!printable) return Corrupt("RDB aux field redis-ver is not a version: " + QuoteForError(value));
      aux.redis_ver = value;
    }
  }
  return aux;
}

}  // namespace stb
