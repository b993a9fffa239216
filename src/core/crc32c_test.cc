#include "core/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stb {
namespace {

const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

TEST(Crc32c, CheckValue) { EXPECT_EQ(Crc32c(0, U("123456789"), 9), 0xE3069283u); }

TEST(Crc32c, Rfc3720Vectors) {
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xFF), inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(Crc32c(0, zeros.data(), 32), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(0, ones.data(), 32), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(0, inc.data(), 32), 0x46DD794Eu);
}

TEST(Crc32c, PiecesEqualWhole) {
  std::string s = "The quick brown fox jumps over the lazy dog, twice over and again";
  uint32_t whole = Crc32c(0, U(s), s.size());
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    EXPECT_EQ(Crc32c(Crc32c(0, U(s), cut), U(s) + cut, s.size() - cut), whole) << cut;
  }
}

TEST(Crc32c, DefaultEqualsPortableAtEveryLengthAndOffset) {
  EXPECT_EQ(Crc32cPortable(0, U("123456789"), 9), 0xE3069283u);
  std::vector<uint8_t> data(600);
  uint32_t x = 12345;
  for (auto& b : data) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  for (size_t off = 0; off < 9; ++off) {
    for (size_t n = 0; n + off <= data.size(); n += 7) {
      ASSERT_EQ(Crc32c(0x1234567u, data.data() + off, n), Crc32cPortable(0x1234567u, data.data() + off, n))
          << off << " " << n;
    }
  }
}

TEST(Crc32c, CombineEqualsWhole) {
  std::string s;
  for (int i = 0; i < 5000; ++i) s.push_back(static_cast<char>((i * 131) ^ (i >> 3)));
  uint32_t whole = Crc32c(0, U(s), s.size());
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{100}, size_t{4095}, s.size() - 1, s.size()}) {
    uint32_t a = Crc32c(0, U(s), cut), b = Crc32c(0, U(s) + cut, s.size() - cut);
    EXPECT_EQ(Crc32cCombine(a, b, s.size() - cut), whole) << cut;
  }
  // Three pieces combined left to right, as a restore does per file.
  uint32_t abc = Crc32cCombine(Crc32cCombine(Crc32c(0, U(s), 10), Crc32c(0, U(s) + 10, 3000), 3000),
                               Crc32c(0, U(s) + 3010, s.size() - 3010), s.size() - 3010);
  EXPECT_EQ(abc, whole);
  EXPECT_NE(Crc32cCombine(Crc32c(0, U(s), 10), Crc32c(0, U(s) + 10, 100), 101), Crc32c(0, U(s), 110));
}

}  // namespace
}  // namespace stb
