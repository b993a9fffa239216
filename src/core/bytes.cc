#include "core/bytes.h"

namespace stb {

// ToHex and FromHex live in core/encoding.cc with the other encodings.

std::optional<Id> Id::FromHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto b = stb::FromHex(hex);
  if (!b) return std::nullopt;
  Id id;
  std::memcpy(id.b.data(), b->data(), 32);
  return id;
}

}  // namespace stb
