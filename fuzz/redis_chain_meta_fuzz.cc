// Redis chain meta and event bodies (JSON): typed parse of every field; what parses must encode
// to something that parses to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "repository/redis_stream_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view s(reinterpret_cast<const char*>(data), size);
  if (auto m = stb::ParseRedisChainMeta(s); m.ok()) {
    auto again = stb::ParseRedisChainMeta(stb::EncodeRedisChainMeta(*m));
    if (!again.ok() || !(*again == *m)) abort();
  }
  if (auto e = stb::ParseRedisChainEvent(s); e.ok()) {
    auto again = stb::ParseRedisChainEvent(stb::EncodeRedisChainEvent(*e));
    if (!again.ok() || !(*again == *e)) abort();
  }
  return 0;
}
