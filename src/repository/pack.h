// Packs: many sealed blobs followed by a sealed header that lists them, then the header's
// length (u32 little endian). The pack's name is the SHA-256 of all its bytes.
#pragma once

#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/crypto.h"
#include "repository/format.h"

namespace stb {

struct PackEntry {
  Id id;
  BlobType type = BlobType::kData;
  uint32_t offset = 0, length = 0, raw_length = 0;
};

class PackBuilder {
 public:
  PackBuilder() = default;
  void Reserve(size_t n) { data_.reserve(n); }
  // Appends an already sealed blob.
  void Add(const Id& id, BlobType type, const uint8_t* sealed, size_t n, uint32_t raw_length);
  size_t size() const { return data_.size(); }
  bool empty() const { return entries_.empty(); }
  // Appends the sealed header and returns the finished pack and its id.
  Bytes Finish(const Aead& aead, Id& pack_id, std::vector<PackEntry>& entries);

 private:
  Bytes data_;
  std::vector<PackEntry> entries_;
};

// Decrypts and parses the header at the end of a whole pack.
StatusOr<std::vector<PackEntry>> ParsePackHeader(const Aead& aead, const Bytes& pack);

}  // namespace stb
