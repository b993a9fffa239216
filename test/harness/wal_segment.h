// For the WAL tests: a segment whose first page carries PostgreSQL 15's long page header, as
// wal-push expects to find in pg_wal.
#pragma once

#include <cstdint>

#include "core/bytes.h"
#include "repository/wal_store.h"

namespace stb {

inline Bytes FakeWalSegment(uint32_t tli, uint64_t segno, uint32_t seg_size, uint64_t sysid) {
  Bytes b(seg_size, 0);
  auto put = [&](size_t at, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put(0, kWalPageMagicPg15, 2);
  put(2, 0x0002, 2);  // XLP_LONG_HEADER
  put(4, tli, 4);
  put(8, segno * seg_size, 8);
  put(24, sysid, 8);
  put(32, seg_size, 4);
  put(36, 8192, 4);
  for (size_t i = 40; i < 4096; ++i) b[i] = static_cast<uint8_t>(i * 31 + segno);
  return b;
}

}  // namespace stb
