// CRC-32C (Castagnoli), the checksum PostgreSQL's backup manifests carry per file; no Debian
// library we depend on exports it (zlib has only CRC-32), so this small slice-by-8 one does.
#pragma once

#include <cstddef>
#include <cstdint>

namespace stb {

// Continues crc over data: start from 0, pass the previous result for the next piece.
// Crc32c(0, "123456789", 9) == 0xE3069283.
// Uses the CPU's crc32 instruction where there is one (x86-64 with SSE4.2).
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t n);
// The table-driven computation every CPU runs (Crc32c without the instruction); tests compare both.
uint32_t Crc32cPortable(uint32_t crc, const uint8_t* data, size_t n);

// The CRC-32C of A followed by B from crc_a = Crc32c(0, A), crc_b = Crc32c(0, B) and B's length:
// pieces of a file checksummed out of order (by several restore workers) give the file's CRC.
uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

}  // namespace stb
