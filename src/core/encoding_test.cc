#include "core/encoding.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace stb
