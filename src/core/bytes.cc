#include "core/bytes.h"

namespace stb {

// ToHex and FromHex live in core/encoding.cc with the other encodings.

std::optional<Id> Id::FromHex(std::string_view hex) {
  // Decoded in place (no buffer): index loading decodes one id per blob.
  if (hex.size() != 64) return std::nullopt;
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Id id;
  for (size_t i = 0; i < 32; ++i) {
    int hi = val(hex[2 * i]), lo = val(hex[2 * i + 1]);
    if ((hi | lo) < 0) return std::nullopt;
    id.b[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

}  // namespace stb
