// Redis stream objects: the first byte picks the mode. Even, the rest is a plaintext opened by the
// pure decoder (header bounds, time index, zstd, content id), and what opens must encode again;
// odd, the rest is sealed under a segment's name and read back as the store reads it (the
// header must agree with the name).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "core/bytes.h"
#include "crypto/crypto.h"
#include "repo_fixture.h"
#include "repository/redis_stream_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const stb::Hmac hmac(stb::Bytes(32, 0x29));
  if (size < 1) return 0;
  stb::Bytes rest(data + 1, data + size);
  if (data[0] % 2 == 0) {
    auto o = stb::DecodeRedisPlaintext(rest, hmac);
    if (o.ok()) {
      stb::RedisStreamObject again = *o;
      auto plain = stb::EncodeRedisPlaintext(again, o->raw, 0, hmac);
      if (!plain.ok() || again.content_id != o->content_id || !stb::DecodeRedisPlaintext(*plain, hmac).ok()) abort();
    }
    return 0;
  }
  auto& f = stb::Fixture();
  static const stb::RedisStreamStore store(*f.repo, "0123456789abcdef");
  const std::string name =
      "redis/0123456789abcdef/seg/01a1ee565e00-89abcdef/2026111811/0000000000000000-0000000000000010";
  if (!f.storage->Put(name, f.repo->aead().Seal(rest, std::string(stb::kAadRedisStreamPrefix) + name)).ok()) abort();
  (void)store.ReadObject(*f.storage, name);
  return 0;
}
