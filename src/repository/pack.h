// Packs: many sealed blobs followed by a sealed header that lists them, then the header's
// length (u32 little endian). The pack's name is the SHA-256 of all its bytes.
#pragma once

#include <memory>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/crypto.h"
#include "repository/format.h"
#include "storage/storage.h"

namespace stb {

struct PackEntry {
  Id id;
  BlobType type = BlobType::kData;
  uint32_t offset = 0, length = 0, raw_length = 0;
};

// Streams a pack into a pending object, hashing as it goes, so a pack is never held in memory.
class PackBuilder {
 public:
  explicit PackBuilder(std::unique_ptr<PendingObject> out) : out_(std::move(out)) {}
  // Appends an already sealed blob.
  Status Add(const Id& id, BlobType type, const uint8_t* sealed, size_t n, uint32_t raw_length);
  uint64_t size() const { return size_; }
  bool empty() const { return entries_.empty(); }
  // Appends the sealed header; the pack is then complete and named by the returned id.
  StatusOr<Id> Finish(const Aead& aead);
  const std::vector<PackEntry>& entries() const { return entries_; }
  Status Commit(const Id& id) { return out_->Commit(PackName(id)); }

 private:
  std::unique_ptr<PendingObject> out_;
  Sha256Stream hash_;
  uint64_t size_ = 0;
  std::vector<PackEntry> entries_;
};

// Decrypts and parses the header at the end of a whole pack.
StatusOr<std::vector<PackEntry>> ParsePackHeader(const Aead& aead, const Bytes& pack);

}  // namespace stb
