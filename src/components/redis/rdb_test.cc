#include "components/redis/rdb.h"

#include <gtest/gtest.h>

#include <string>

#include "components/redis/resp.h"

namespace stb {
namespace {

TEST(Crc64, RedisTestVector) {
  // Redis' own test: crc64(0, "123456789") == 0xe9c6d914c4b8d9ca (src/crc64.c).
  const std::string s = "123456789";
  EXPECT_EQ(Crc64(0, reinterpret_cast<const uint8_t*>(s.data()), s.size()), 0xe9c6d914c4b8d9caULL);
}

// A minimal valid RDB: header, one aux field, EOF opcode, CRC64 (little endian) of all before it.
Bytes MakeRdb(bool with_crc = true) {
  std::string body = "REDIS0011";
  body += '\xfa';
  body += '\x05';
  body += "redis";
  body += '\x03';
  body += "7.0";
  body += '\xff';
  Bytes b(body.begin(), body.end());
  uint64_t crc = with_crc ? Crc64(0, b.data(), b.size()) : 0;
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  return b;
}

Status Validate(const Bytes& b, size_t piece) {
  RdbValidator v;
  for (size_t i = 0; i < b.size(); i += piece) v.Update(b.data() + i, std::min(piece, b.size() - i));
  return v.Finish();
}

TEST(RdbValidator, AcceptsWholeSnapshotsFedInAnyPieces) {
  Bytes rdb = MakeRdb();
  for (size_t piece : {1, 2, 3, 7, 8, 9, 100}) EXPECT_TRUE(Validate(rdb, piece).ok()) << piece;
  EXPECT_TRUE(Validate(MakeRdb(false), 5).ok());  // rdbchecksum no: a zero CRC
}

TEST(RdbValidator, RejectsDamage) {
  Bytes rdb = MakeRdb();
  for (size_t i = 0; i < rdb.size(); ++i) {
    Bytes bad = rdb;
    bad[i] ^= 0x10;
    EXPECT_FALSE(Validate(bad, 4).ok()) << "flip at " << i;
  }
  for (size_t cut = 0; cut < rdb.size(); ++cut) {
    EXPECT_FALSE(Validate(Bytes(rdb.begin(), rdb.begin() + static_cast<ptrdiff_t>(cut)), 3).ok()) << cut;
  }
}

TEST(RedisInfo, ParsesFields) {
  auto f = ParseInfo("# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\ndb5:keys=10,expires=0,avg_ttl=0\r\n");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[1].first, "db5");
  EXPECT_EQ(f[1].second, "keys=10,expires=0,avg_ttl=0");
}

}  // namespace
}  // namespace stb
