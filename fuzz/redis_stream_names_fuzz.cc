// Redis stream object names as a location lists them, chain ids and segment hours: a name that
// parses must format back to itself (so two spellings never name one object).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "repository/redis_stream_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  if (auto n = stb::ParseRedisObjectName(s); n.ok() && stb::RedisObjectName(*n) != s) abort();
  if (auto c = stb::ParseRedisChainId(s); c.ok() && c->Str() != s) abort();
  if (auto h = stb::ParseRedisHour(s); h.ok() && stb::FormatRedisHour(*h) != s) abort();
  return 0;
}
