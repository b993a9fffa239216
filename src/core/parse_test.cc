#include "core/parse.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace stb {
namespace {

TEST(ParseUint, AcceptsDigitsWithinMax) {
  EXPECT_EQ(*ParseUint("0"), 0u);
  EXPECT_EQ(*ParseUint("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(*ParseUint("65535", 65535), 65535u);
  EXPECT_EQ(*ParseUint("007", 10), 7u);
}

TEST(ParseUint, RejectsEverythingElseWithAClearMessage) {
  for (const char* bad : {"", " 1", "1 ", "+1", "-1", "1e3", "0x10", "12a", "18446744073709551616"}) {
    EXPECT_FALSE(ParseUint(bad).ok()) << bad;
  }
  auto r = ParseUint("65536", 65535, "REDIS_PORT");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "REDIS_PORT: '65536' is not a whole number from 0 to 65535");
}

TEST(ParseUint, FourHundredDigitsIsAnErrorNotAnException) {
  std::string huge(400, '9');
  auto r = ParseUint(huge);
  ASSERT_FALSE(r.ok());
  // The text in the message is cut short, and control bytes never reach a log line.
  EXPECT_LT(r.status().message().size(), 120u);
  EXPECT_EQ(QuoteForError("a\r\nb"), "a??b");
}

TEST(ParseInt, SignAndRange) {
  EXPECT_EQ(*ParseInt("-1", -1, 10), -1);
  EXPECT_EQ(*ParseInt("-9223372036854775808", INT64_MIN, INT64_MAX), INT64_MIN);
  EXPECT_FALSE(ParseInt("-2", -1, 10).ok());
  EXPECT_FALSE(ParseInt("-", -1, 10).ok());
  EXPECT_FALSE(ParseInt("--1", -5, 10).ok());
  EXPECT_FALSE(ParseInt("9223372036854775808", INT64_MIN, INT64_MAX).ok());
  EXPECT_FALSE(ParseInt(std::string(400, '1'), INT64_MIN, INT64_MAX).ok());
}

TEST(ParseUintCapped, HugeValuesAreTheCap) {
  EXPECT_EQ(ParseUintCapped("120", 3600), 120u);
  EXPECT_EQ(ParseUintCapped("3601", 3600), 3600u);
  EXPECT_EQ(ParseUintCapped(std::string(400, '9'), 3600), 3600u);
  EXPECT_EQ(ParseUintCapped("18446744073709551616", UINT64_MAX), UINT64_MAX);
  EXPECT_EQ(ParseUintCapped("9", 5), 5u);
  EXPECT_EQ(ParseUintCapped("", 10), std::nullopt);
  EXPECT_EQ(ParseUintCapped("1.5", 10), std::nullopt);
}

TEST(ParseDecimal, PlainDecimalsOnly) {
  EXPECT_DOUBLE_EQ(*ParseDecimal("10", 0, 100), 10.0);
  EXPECT_DOUBLE_EQ(*ParseDecimal("0.5", 0, 100), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDecimal(".5", 0, 100), 0.5);
  EXPECT_DOUBLE_EQ(*ParseDecimal("-2.25", -5, 5), -2.25);
  for (const char* bad : {"", ".", "-", "1e2", "inf", "nan", "1.2.3", "0x1", " 1", "101", "1."}) {
    EXPECT_FALSE(ParseDecimal(bad, 0, 100).ok()) << bad;
  }
  EXPECT_FALSE(ParseDecimal(std::string(400, '9'), 0, 100).ok());
}

TEST(JsonNumbers, OnlyWholeNumbersInRange) {
  using nlohmann::json;
  EXPECT_EQ(*JsonUint(json(5), 10, "n"), 5u);
  EXPECT_EQ(*JsonUint(json(UINT64_MAX), UINT64_MAX, "n"), UINT64_MAX);
  for (const json& bad : {json(-1), json(11), json(1e300), json(2.5), json("5"), json(nullptr), json::array()}) {
    EXPECT_FALSE(JsonUint(bad, 10, "n").ok()) << bad.dump();
  }
  EXPECT_EQ(JsonUint(json("5"), 10, "pack_size").status().message(), "pack_size must be a whole number from 0 to 10");
  EXPECT_EQ(*JsonInt(json(-3), -5, 5, "n"), -3);
  EXPECT_EQ(*JsonInt(json(3u), -5, 5, "n"), 3);
  for (const json& bad : {json(-6), json(UINT64_MAX), json(1e300), json(true), json("1")}) {
    EXPECT_FALSE(JsonInt(bad, -5, 5, "n").ok()) << bad.dump();
  }
}

}  // namespace
}  // namespace stb
