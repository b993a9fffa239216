// redis.conf text (REDIS_CONF), as a stream restore reads it for appendonly and the AOF names.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "components/redis/redis_stream_restore.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string include;
  (void)stb::ParseRedisConf(std::string_view(reinterpret_cast<const char*>(data), size), &include);
  return 0;
}
