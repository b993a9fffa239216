#include "components/redis/rdb_source.h"

#include <gtest/gtest.h>

#include <string>

namespace stb {
namespace {

Bytes B(const std::string& s) { return Bytes(s.begin(), s.end()); }

StatusOr<std::string> ReadAll(const std::string& wire, size_t piece) {
  auto conn = RedisConnection::FromBytes(B(wire));
  RdbSource src(*conn);
  RETURN_IF_ERROR(src.Start());
  std::string out;
  for (;;) {
    std::string buf(piece, '\0');
    ASSIGN_OR_RETURN(size_t k, src.Read(reinterpret_cast<uint8_t*>(buf.data()), piece));
    if (k == 0) return out;
    out.append(buf, 0, k);
  }
}

TEST(RdbSource, LengthPrefixedAfterKeepAlives) {
  const std::string rdb = "REDIS0011\xff" + std::string(8, '\0') + "body";
  for (size_t piece : {1, 3, 64}) {
    auto got = ReadAll("\n\n$" + std::to_string(rdb.size()) + "\r\n" + rdb + "*1\r\n$4\r\nPING\r\n", piece);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, rdb);  // exactly the snapshot: the stream after it is not consumed as RDB
  }
}

TEST(RdbSource, DisklessEndsAtTheMark) {
  const std::string mark(40, 'm'), rdb = "REDIS0011" + std::string(100, 'x') + std::string(39, 'm') + "y";
  for (size_t piece : {1, 7, 4096}) {
    auto got = ReadAll("$EOF:" + mark + "\r\n" + rdb + mark, piece);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, rdb);
  }
}

TEST(RdbSource, RefusesBadStarts) {
  EXPECT_FALSE(ReadAll("$EOF:short\r\n", 10).ok());
  EXPECT_FALSE(ReadAll("$12x\r\n", 10).ok());
  EXPECT_FALSE(ReadAll("+OK\r\n", 10).ok());
}

}  // namespace
}  // namespace stb
