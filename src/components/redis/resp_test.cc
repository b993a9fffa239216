// The RESP reader fed from memory: well-formed replies, and the hostile ones a fake server could
// send (deep nesting, huge lengths, bad numbers) ending in a clean error.
#include "components/redis/resp.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "components/redis/redis_component.h"

namespace stb {
namespace {

StatusOr<RespValue> ReadFrom(const std::string& bytes) {
  auto c = RedisConnection::FromBytes(Bytes(bytes.begin(), bytes.end()));
  return c->Read();
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Resp, ReadsEveryType) {
  auto v = ReadFrom("*4\r\n+OK\r\n:-42\r\n$5\r\nab\r\nc\r\n*-1\r\n");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_EQ(v->type, RespValue::Type::kArray);
  ASSERT_EQ(v->elems.size(), 4u);
  EXPECT_EQ(v->elems[0].str, "OK");
  EXPECT_EQ(v->elems[1].integer, -42);
  EXPECT_EQ(v->elems[2].str, "ab\r\nc");
  EXPECT_EQ(v->elems[3].type, RespValue::Type::kNil);
  EXPECT_EQ(ReadFrom("-ERR no\r\n")->str, "ERR no");
  EXPECT_EQ(ReadFrom("$-1\r\n")->type, RespValue::Type::kNil);
}

// "*1\r\n" repeated used to recurse once per level until the stack ran out (exit 139).
TEST(Resp, DeepNestingIsAnErrorNotAStackOverflow) {
  auto v = ReadFrom(Repeat("*1\r\n", 100000) + ":1\r\n");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kCorrupt);
  EXPECT_NE(v.status().message().find("nested deeper than"), std::string::npos) << v.status().message();
  // The nesting real replies use still reads.
  auto ok = ReadFrom(Repeat("*1\r\n", RedisConnection::kMaxDepth) + ":7\r\n");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
}

TEST(Resp, LengthsAndNumbersAreChecked) {
  const std::vector<std::string> bad_replies = {":" + std::string(400, '9') + "\r\n",
                                                ":12a\r\n",
                                                ": 1\r\n",
                                                ":\r\n",
                                                "$" + std::string(400, '9') + "\r\n",
                                                "$-2\r\n",
                                                "$536870913\r\n",
                                                "*-2\r\n",
                                                "*16777217\r\n",
                                                "$3\r\nabcXY",
                                                "?what\r\n",
                                                "\r\n"};
  for (const std::string& bad : bad_replies) {
    auto v = ReadFrom(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_NE(v.status().code(), Code::kOk);
  }
  // A bulk length larger than what follows: the connection closes, no 512 MiB buffer up front.
  auto v = ReadFrom("$536870912\r\nabc");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kUnavailable);
  // Many wide arrays: the element budget covers the whole reply.
  auto wide = ReadFrom("*3\r\n*16777216\r\n*16777216\r\n*1\r\n");
  ASSERT_FALSE(wide.ok());
  EXPECT_EQ(wide.status().code(), Code::kCorrupt);
}

TEST(Resp, KeyspaceCountsAreChecked) {
  auto ks = ParseKeyspace("# Keyspace\r\ndb0:keys=12,expires=0,avg_ttl=0\r\ndb3:keys=4\r\n");
  ASSERT_TRUE(ks.ok()) << ks.status().message();
  EXPECT_EQ((*ks)["db0"], 12);
  EXPECT_EQ((*ks)["db3"], 4);
  EXPECT_EQ(ParseKeyspace("db0:keys=" + std::string(400, '9') + ",expires=0\r\n").status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseKeyspace("db0:keys=x\r\n").status().code(), Code::kCorrupt);
}

}  // namespace
}  // namespace stb
