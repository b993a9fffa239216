#include "core/encoding.h"

#include <gtest/gtest.h>

#include <random>

#include "core/bytes.h"

namespace stb {
namespace {

TEST(Encoding, UriEncode) {
  EXPECT_EQ(UriEncode("data/ab/c d+e", true), "data/ab/c%20d%2Be");
  EXPECT_EQ(UriEncode("data/ab", false), "data%2Fab");
  EXPECT_EQ(UriEncode("a-b_c.d~e", false), "a-b_c.d~e");
}

TEST(Encoding, Base64RoundTripsAndRejectsGarbage) {
  std::string s = "any carnal pleasure.";
  EXPECT_EQ(Base64Encode(s), "YW55IGNhcm5hbCBwbGVhc3VyZS4=");
  auto back = Base64Decode("YW55IGNhcm5hbCBwbGVhc3VyZS4=");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::string(back->begin(), back->end()), s);
  EXPECT_FALSE(Base64Decode("abc").ok());
  EXPECT_FALSE(Base64Decode("a===").ok());  // accepted by EVP_DecodeBlock alone
  EXPECT_FALSE(Base64Decode("ab=c").ok());
  EXPECT_FALSE(Base64Decode("ab!c").ok());
  EXPECT_TRUE(Base64Decode("").ok());
  uint8_t raw[] = {0xfb, 0xff};
  EXPECT_EQ(Base64UrlEncode(raw, 2), "-_8");
}

TEST(Encoding, Base64UrlRoundTripsAndRejectsGarbage) {
  uint8_t raw[] = {0xfb, 0xff, 0x01};
  auto back = Base64UrlDecode(Base64UrlEncode(raw, 3));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, Bytes(raw, raw + 3));
  auto two = Base64UrlDecode("-_8");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, Bytes({0xfb, 0xff}));
  EXPECT_FALSE(Base64UrlDecode("+/8").ok());  // the standard alphabet is not base64url
  EXPECT_FALSE(Base64UrlDecode("a").ok());
  EXPECT_FALSE(Base64UrlDecode("ab!d").ok());
}

TEST(Encoding, HexRoundTripsAndRejectsGarbage) {
  uint8_t raw[] = {0x00, 0xab, 0xff};
  EXPECT_EQ(ToHex(raw, 3), "00abff");
  auto back = FromHex("00ABff");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, Bytes(raw, raw + 3));
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
}

// Id compares a word at a time: it must order exactly as the bytes do (memcmp), including ids that
// differ only in a late byte or in the high bit of a byte.
TEST(Encoding, HexDigitIsTheValueOfEitherCaseAndMinusOneOtherwise) {
  EXPECT_EQ(HexDigit('0'), 0);
  EXPECT_EQ(HexDigit('9'), 9);
  EXPECT_EQ(HexDigit('a'), 10);
  EXPECT_EQ(HexDigit('F'), 15);
  for (char c : std::string("gG/:@`\0 \xff", 9)) EXPECT_EQ(HexDigit(c), -1) << int(c);
}

TEST(Encoding, IdOrdersAsItsBytes) {
  std::mt19937_64 rng(7);
  auto random_id = [&] {
    Id id;
    for (auto& b : id.b) b = static_cast<uint8_t>(rng());
    return id;
  };
  auto sign = [](int c) { return (c > 0) - (c < 0); };
  for (int i = 0; i < 20000; ++i) {
    Id a = random_id(), b = a;
    size_t at = rng() % 32;
    b.b[at] = static_cast<uint8_t>(rng());
    if (i % 3 == 0) b = random_id();
    int want = sign(std::memcmp(a.b.data(), b.b.data(), 32));
    auto got = a <=> b;
    EXPECT_EQ(want < 0, got < 0);
    EXPECT_EQ(want == 0, got == 0);
    EXPECT_EQ(want == 0, a == b);
  }
  Id lo, hi;
  hi.b[31] = 0x80;
  EXPECT_LT(lo, hi);
  hi.b[31] = 0;
  hi.b[0] = 0x01;
  lo.b[1] = 0xff;
  EXPECT_LT(lo, hi);
}

TEST(Encoding, IdFromHexDecodesOnlySixtyFourHexDigits) {
  std::string hex(64, '0');
  hex[0] = 'A';
  hex[63] = 'f';
  auto id = Id::FromHex(hex);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->b[0], 0xa0);
  EXPECT_EQ(id->b[31], 0x0f);
  EXPECT_EQ(id->Hex(), "a0" + std::string(60, '0') + "0f");
  EXPECT_FALSE(Id::FromHex(hex.substr(1)).has_value());
  hex[40] = 'g';
  EXPECT_FALSE(Id::FromHex(hex).has_value());
}

}  // namespace
}  // namespace stb
