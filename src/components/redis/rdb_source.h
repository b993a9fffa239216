// The RDB payload of a full resynchronisation as a replica receives it after +FULLRESYNC (or
// SYNC): "$<len>\r\n<bytes>" or, diskless, "$EOF:<40-byte mark>\r\n<bytes><mark>". Yields exactly
// the snapshot's bytes; the backup and the stream capture both read their base RDB through it.
#pragma once

#include <cstdint>
#include <string>

#include "components/redis/resp.h"
#include "core/bytes.h"
#include "core/status.h"

namespace stb {

class RdbSource {
 public:
  explicit RdbSource(RedisConnection& c) : conn_(c) {}

  // Reads the "$<len>" or "$EOF:<mark>" line, skipping the "\n" keep-alives before it.
  Status Start();
  // Up to n bytes of the snapshot; 0 at its end.
  StatusOr<size_t> Read(uint8_t* out, size_t n);

  static constexpr size_t kEofMarkLen = 40;

 private:
  RedisConnection& conn_;
  std::string mark_;
  uint64_t remaining_ = 0;
  Bytes pending_;
  bool done_ = false;
};

}  // namespace stb
