#include "core/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace stb {

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

// Polynomials over GF(2) modulo the Castagnoli polynomial, bit-reflected like the CRC itself: the
// top bit is x^0. Appending len_b bytes to A multiplies A's register by x^(8*len_b), and the
// pre/post inversion of both CRCs cancels out, so combining is one multiplication and one xor.
constexpr uint32_t MulModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t m = 1u << 31; m != 0; m >>= 1) {
    if (a & m) product ^= b;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return product;
}

// kXPow2[k] = x^(2^k) mod P, for every bit of a 64-bit bit count.
struct Powers {
  std::array<uint32_t, 64> p{};
  constexpr Powers() {
    p[0] = 1u << 30;  // x^1
    for (size_t k = 1; k < p.size(); ++k) p[k] = MulModP(p[k - 1], p[k - 1]);
  }
};

constexpr Powers kXPow2;

#if defined(__x86_64__)
// SSE4.2's crc32 instruction computes exactly this CRC, 8 bytes a step: several GB/s, where the
// tables give about one. A restore checksums every byte it writes, so this is most of its cost.
__attribute__((target("sse4.2"))) uint32_t HardwareCrc(uint32_t c, const uint8_t* data, size_t n) {
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, data, 8);
    c64 = _mm_crc32_u64(c64, v);
    data += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (n--) c = _mm_crc32_u8(c, *data++);
  return c;
}

bool HasSse42() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return has;
}
#endif

}  // namespace

uint32_t Crc32cPortable(uint32_t crc, const uint8_t* data, size_t n) {
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

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t n) {
#if defined(__x86_64__)
  if (HasSse42()) return ~HardwareCrc(~crc, data, n);
#endif
  return Crc32cPortable(crc, data, n);
}

uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  // x^(8*len_b): bit k of len_b contributes x^(2^(k+3)); len_b < 2^61 bytes.
  uint32_t shift = 1u << 31;  // x^0
  for (size_t k = 3; len_b != 0 && k < kXPow2.p.size(); ++k, len_b >>= 1) {
    if (len_b & 1) shift = MulModP(kXPow2.p[k], shift);
  }
  return MulModP(shift, crc_a) ^ crc_b;
}

}  // namespace stb
