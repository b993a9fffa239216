#include "repository/pack.h"

#include <cstring>

namespace stb {

Status PackBuilder::Add(const Id& id, BlobType type, const uint8_t* sealed, size_t n, uint32_t raw_length) {
  if (size_ + n > UINT32_MAX) return Internal("pack larger than 4 GiB");
  RETURN_IF_ERROR(out_->Append(sealed, n));
  hash_.Update(sealed, n);
  entries_.push_back({id, type, static_cast<uint32_t>(size_), static_cast<uint32_t>(n), raw_length});
  size_ += n;
  return Status::Ok();
}

StatusOr<Id> PackBuilder::Finish(const Aead& aead) {
  Bytes header;
  header.reserve(1 + entries_.size() * kPackHeaderEntrySize);
  header.push_back(1);  // header version
  for (const auto& e : entries_) {
    header.push_back(static_cast<uint8_t>(e.type));
    header.insert(header.end(), e.id.b.begin(), e.id.b.end());
    PutU32(header, e.offset);
    PutU32(header, e.length);
    PutU32(header, e.raw_length);
  }
  Bytes tail;
  aead.Seal(header.data(), header.size(), reinterpret_cast<const uint8_t*>(kAadPackHeader.data()),
            kAadPackHeader.size(), tail);
  PutU32(tail, static_cast<uint32_t>(tail.size()));
  RETURN_IF_ERROR(out_->Append(tail.data(), tail.size()));
  hash_.Update(tail.data(), tail.size());
  size_ += tail.size();
  return hash_.Final();
}

StatusOr<std::vector<PackEntry>> ParsePackHeader(const Aead& aead, const Bytes& pack) {
  if (pack.size() < 4 + kSealOverhead) return Corrupt("pack too short for a header");
  uint32_t hlen = GetU32(pack.data() + pack.size() - 4);
  if (hlen < kSealOverhead || hlen > pack.size() - 4) return Corrupt("pack header length out of range");
  size_t hstart = pack.size() - 4 - hlen;
  Bytes header;
  RETURN_IF_ERROR(aead.Open(pack.data() + hstart, hlen, reinterpret_cast<const uint8_t*>(kAadPackHeader.data()),
                            kAadPackHeader.size(), header)
                      .Context("pack header"));
  if (header.empty() || header[0] != 1 || (header.size() - 1) % kPackHeaderEntrySize) {
    return Corrupt("pack header has an unknown layout");
  }
  std::vector<PackEntry> out;
  for (size_t p = 1; p < header.size(); p += kPackHeaderEntrySize) {
    PackEntry e;
    e.type = static_cast<BlobType>(header[p]);
    std::memcpy(e.id.b.data(), &header[p + 1], 32);
    e.offset = GetU32(&header[p + 33]);
    e.length = GetU32(&header[p + 37]);
    e.raw_length = GetU32(&header[p + 41]);
    if (uint64_t(e.offset) + e.length > hstart) return Corrupt("pack header entry points past the blobs");
    out.push_back(e);
  }
  return out;
}

}  // namespace stb
