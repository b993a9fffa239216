#include "components/redis/redis_stream_restore.h"

#include <gtest/gtest.h>

namespace stb {
namespace {

TEST(ParseRedisConf, ReadsTheAofSettingsLastOneWins) {
  std::string include;
  auto c = ParseRedisConf(
      "# appendonly yes\nport 6379\nappendonly no\nAPPENDONLY Yes\r\nappenddirname \"my aof\"\n"
      "appendfilename 'x.aof'\ndir /var/lib/redis\ninclude /etc/redis/more.conf\nsave \"\"\n",
      &include);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->appendonly, std::optional<bool>(true));
  EXPECT_EQ(c->dirname, "my aof");
  EXPECT_EQ(c->filename, "x.aof");
  EXPECT_EQ(c->dir, "/var/lib/redis");
  EXPECT_EQ(include, "/etc/redis/more.conf");
}

TEST(ParseRedisConf, DefaultsAndErrors) {
  auto c = ParseRedisConf("port 1\n");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->appendonly.has_value());
  EXPECT_EQ(c->dirname, "appendonlydir");
  EXPECT_EQ(c->filename, "appendonly.aof");
  auto bad = ParseRedisConf("appendonly maybe\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 1"), std::string::npos);
  EXPECT_FALSE(ParseRedisConf("dir \"/unterminated\n").ok());
}

TEST(RedisStreamSourceName, SettingOrHostPort) {
  Settings s;
  s.redis_host = "10.0.0.5";
  s.redis_port = 6380;
  EXPECT_EQ(RedisStreamSourceName(s), "10.0.0.5:6380");
  s.redis_stream_source = "game-redis";
  EXPECT_EQ(RedisStreamSourceName(s), "game-redis");
}

}  // namespace
}  // namespace stb
