#include "core/bytes.h"

namespace stb {

// ToHex and FromHex live in core/encoding.cc with the other encodings.

std::optional<Id> Id::FromHex(std::string_view hex) {
  // Decoded in place through a table (no buffer, no branches a digit): index loading decodes one
  // id a blob.
  static constexpr auto kVal = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<int8_t>(c);
    for (int c = 0; c < 6; ++c) t['a' + c] = t['A' + c] = static_cast<int8_t>(10 + c);
    return t;
  }();
  if (hex.size() != 64) return std::nullopt;
  Id id;
  int bad = 0;
  for (size_t i = 0; i < 32; ++i) {
    int hi = kVal[static_cast<uint8_t>(hex[2 * i])], lo = kVal[static_cast<uint8_t>(hex[2 * i + 1])];
    bad |= hi | lo;
    id.b[i] = static_cast<uint8_t>((hi & 15) << 4 | (lo & 15));
  }
  if (bad < 0) return std::nullopt;
  return id;
}

}  // namespace stb
