// Names and constants of the repository format (doc/design.md is the specification).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"

namespace stb {

constexpr int kFormatVersion = 1;
constexpr uint32_t kDefaultPackSize = 16u << 20;
constexpr size_t kPackHeaderEntrySize = 1 + 32 + 4 + 4 + 4;  // type, id, offset, length, raw length

// Associated data of sealed objects: binds each ciphertext to what it claims to be.
constexpr std::string_view kAadKey = "spacetime-backup key v1";
// Key objects of repositories whose config is authenticated (version 2 key objects): a key
// wrapped under this cannot be passed off as one of a legacy repository to skip the config MAC.
constexpr std::string_view kAadKeyV2 = "spacetime-backup key v2";
constexpr std::string_view kAadPackHeader = "spacetime-backup pack header v1";
constexpr std::string_view kKindIndex = "index";
constexpr std::string_view kKindSnapshot = "snapshot";
constexpr std::string_view kKindLock = "lock";
constexpr std::string_view kKindBackupId = "backup-id";

enum class BlobType : uint8_t { kData = 0, kTree = 1 };

struct BlobLocation {
  Id pack;
  uint32_t offset = 0;
  uint32_t length = 0;      // sealed length in the pack
  uint32_t raw_length = 0;  // plaintext length
  BlobType type = BlobType::kData;
  // Compression is used only when it shrinks, so a sealed body shorter than the plaintext is zstd.
  bool compressed() const { return length - 28 < raw_length; }
};

inline std::string PackName(const Id& id) {
  std::string h = id.Hex();
  return "data/" + h.substr(0, 2) + "/" + h;
}

}  // namespace stb
