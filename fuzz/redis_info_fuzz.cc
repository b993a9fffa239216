// INFO answers from Redis: the field parser and the keyspace counts read from it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "components/redis/redis_component.h"
#include "components/redis/resp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string info(reinterpret_cast<const char*>(data), size);
  (void)stb::ParseInfo(info);
  (void)stb::ParseKeyspace(info);
  return 0;
}
