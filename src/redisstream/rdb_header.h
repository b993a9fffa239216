// The start of an RDB snapshot: Redis' length and string encodings, read a byte at a time from any
// source (the backup's streaming header splitter, a buffer), and the 0xFA aux fields after the
// "REDIS0011" magic that say which replication id and offset the snapshot stands at.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "core/status.h"

namespace stb {

// The next byte of an RDB stream; its error (e.g. the stream ended) is passed on unchanged.
using RdbNextByte = std::function<StatusOr<uint8_t>()>;

// Redis writes aux values of a few dozen bytes; a longer one is damage, not data.
constexpr uint64_t kRdbMaxAuxString = 1u << 20;

// Reads one RDB string: a length-prefixed raw string, an int8/16/32 integer encoding (decoded to
// its decimal text, as Redis reads it) or an LZF-compressed one. Its value goes to *value; with
// value null the string is only consumed (LZF data is then skipped, not expanded). A length over
// max_len or a bad encoding is kCorrupt.
Status ReadRdbString(const RdbNextByte& next, std::string* value, uint64_t max_len = kRdbMaxAuxString);

// The aux fields the replication code needs; each is absent when the snapshot does not carry it
// (repl-id/repl-offset are written only into snapshots made for replication or by a replica).
struct RdbAux {
  int rdb_version = 0;                 // the 4 digits after "REDIS"
  std::optional<std::string> repl_id;  // 40 hex digits
  std::optional<uint64_t> repl_offset;
  std::optional<std::string> redis_ver;
  std::optional<int64_t> ctime;  // Unix seconds
};

// Reads the magic and the 0xFA aux fields up to the first other opcode or the end of `header` (the
// backup's header blob, or a whole RDB). Malformed or truncated fields are kCorrupt; unknown aux
// fields are skipped.
StatusOr<RdbAux> ReadRdbAux(std::span<const uint8_t> header);

}  // namespace stb
