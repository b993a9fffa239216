// CRC-32C (Castagnoli), the checksum PostgreSQL's backup manifests carry per file; no Debian
// library we depend on exports it (zlib has only CRC-32), so this small slice-by-8 one does.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stb {

// Continues crc over data: start from 0, pass the previous result for the next piece.
// Crc32c(0, "123456789", 9) == 0xE3069283.
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t n);
// The same by tables, where the CPU has no crc32 instruction (and for the tests to compare).
uint32_t Crc32cTables(uint32_t crc, const uint8_t* data, size_t n);

}  // namespace stb
