// Pack headers. The first byte picks the mode: even, the input is a whole pack as stored (only
// the length checks and the AEAD see it); odd, the rest is a header's plaintext, sealed here under
// the fixed key behind a blob area whose size the second byte gives, so the parser proper runs.
#include <cstddef>
#include <cstdint>

#include "core/bytes.h"
#include "crypto/crypto.h"
#include "repository/format.h"
#include "repository/pack.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const stb::Aead aead(stb::Bytes(32, 0x17));
  if (size < 2) return 0;
  if (data[0] % 2 == 0) {
    (void)stb::ParsePackHeader(aead, stb::Bytes(data + 1, data + size));
    return 0;
  }
  stb::Bytes pack(static_cast<size_t>(data[1]) * 16, 0);
  stb::Bytes header(data + 2, data + size);
  stb::Bytes sealed = aead.Seal(header, stb::kAadPackHeader);
  pack.insert(pack.end(), sealed.begin(), sealed.end());
  stb::PutU32(pack, static_cast<uint32_t>(sealed.size()));
  (void)stb::ParsePackHeader(aead, pack);
  return 0;
}
