#include "core/crc32c.h"

#include <array>

namespace stb {

#if defined(__x86_64__)
// The SSE4.2 crc32 instruction computes this very CRC about ten times faster than the tables
// (base backups checksum every byte on their one reading thread); chosen at run time.
__attribute__((target("sse4.2"))) static uint32_t Crc32cSse42(uint32_t crc, const uint8_t* data, size_t n) {
  uint64_t c = ~crc;
  for (; n >= 8; data += 8, n -= 8) {
    uint64_t v;
    __builtin_memcpy(&v, data, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++data, --n) c32 = __builtin_ia32_crc32qi(c32, *data);
  return ~c32;
}
static const bool kHaveSse42 = [] {
  __builtin_cpu_init();  // this runs before main
  return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

namespace {

constexpr uint32_t kPoly = 0x82F63B78;  // reflected Castagnoli polynomial

struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  constexpr Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
    }
  }
};

constexpr Tables kTables;

}  // namespace

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t n) {
#if defined(__x86_64__)
  if (kHaveSse42) return Crc32cSse42(crc, data, n);
#endif
  return Crc32cTables(crc, data, n);
}

uint32_t Crc32cTables(uint32_t crc, const uint8_t* data, size_t n) {
  const auto& t = kTables.t;
  uint32_t c = ~crc;
  // Eight bytes at a time: each table advances one byte position further.
  while (n >= 8) {
    uint32_t lo = c ^ (uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 | uint32_t{data[3]} << 24);
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][data[4]] ^
        t[2][data[5]] ^ t[1][data[6]] ^ t[0][data[7]];
    data += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ t[0][(c ^ *data++) & 0xFF];
  return ~c;
}

}  // namespace stb
