// RESP replies from a Redis server (or anything listening on REDIS_HOST:REDIS_PORT).
#include <cstddef>
#include <cstdint>

#include "components/redis/resp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto conn = stb::RedisConnection::FromBytes(stb::Bytes(data, data + size));
  for (int i = 0; i < 64; ++i) {
    if (!conn->Read().ok()) break;
  }
  return 0;
}
