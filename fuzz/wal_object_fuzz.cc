// WAL objects: the first byte picks the mode. Even, the rest is a plaintext opened by the pure
// decoder (header bounds, zstd, content id); odd, the rest is a page header and segment checked
// as wal-push checks a file before storing it.
#include <cstddef>
#include <cstdint>

#include "core/bytes.h"
#include "crypto/crypto.h"
#include "repository/wal_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const stb::Hmac hmac(stb::Bytes(32, 0x29));
  if (size < 1) return 0;
  stb::Bytes rest(data + 1, data + size);
  if (data[0] % 2 == 0) {
    (void)stb::DecodeWalPlaintext(rest, hmac);
    return 0;
  }
  for (const char* name : {"000000010000000000000001", "0000000200000001000000FF.partial"}) {
    (void)stb::ValidateSegment(*stb::ParsePgWalFileName(name), rest, data[0] % 4 == 1 ? 0 : 7310931155431581234ull);
  }
  return 0;
}
