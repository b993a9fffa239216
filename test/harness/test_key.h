// The repository key unit tests open repositories with: a key file of 32 bytes of one value, so a
// test that needs a second key passes another fill.
#pragma once

#include <cstdint>
#include <string>

#include "crypto/key_source.h"

namespace stb {

inline KeySource TestKey(uint8_t fill, std::string path = "test-key") {
  KeySource k;
  k.kind = KeySource::Kind::kKeyFile;
  k.path = std::move(path);
  k.secret = Bytes(32, fill);
  return k;
}

}  // namespace stb
