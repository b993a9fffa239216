#include "components/redis/rdb.h"

#include <array>
#include <cctype>
#include <cstring>

namespace stb {

namespace {
std::array<uint64_t, 256> MakeTable() {
  std::array<uint64_t, 256> t{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x95ac9329ac4bc9b5ULL : c >> 1;
    t[i] = c;
  }
  return t;
}
const std::array<uint64_t, 256> kTable = MakeTable();
}  // namespace

uint64_t Crc64(uint64_t crc, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc;
}

void RdbValidator::Update(const uint8_t* p, size_t n) {
  size_ += n;
  if (header_.size() < 9) {
    size_t k = std::min<size_t>(9 - header_.size(), n);
    header_.append(reinterpret_cast<const char*>(p), k);
  }
  // Keep the last 8 bytes out of the CRC: they are the CRC. The byte before them is the EOF opcode.
  size_t total = tail_len_ + n;
  if (total <= 8) {
    std::memcpy(tail_ + tail_len_, p, n);
    tail_len_ = total;
    return;
  }
  size_t release = total - 8;  // bytes that leave the hold-back: first from tail_, then from p
  size_t from_tail = std::min(release, tail_len_);
  crc_ = Crc64(crc_, tail_, from_tail);
  size_t from_p = release - from_tail;
  crc_ = Crc64(crc_, p, from_p);
  // The byte just released before the held-back 8 is the opcode candidate.
  last_opcode_ = from_p > 0 ? p[from_p - 1] : tail_[from_tail - 1];
  uint8_t next[8];
  size_t keep_tail = tail_len_ - from_tail;
  std::memcpy(next, tail_ + from_tail, keep_tail);
  std::memcpy(next + keep_tail, p + from_p, n - from_p);
  std::memcpy(tail_, next, 8);
  tail_len_ = 8;
}

Status RdbValidator::Finish() const {
  if (header_.size() < 9 || header_.compare(0, 5, "REDIS") != 0)
    return Corrupt("not an RDB snapshot (no REDIS header)");
  for (size_t i = 5; i < 9; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(header_[i]))) return Corrupt("RDB header has no version number");
  }
  if (tail_len_ < 8 || size_ < 18) return Corrupt("RDB snapshot is truncated");
  if (last_opcode_ != 0xff) return Corrupt("RDB snapshot does not end with the EOF opcode (truncated?)");
  uint64_t stored = 0;
  for (int i = 7; i >= 0; --i) stored = stored << 8 | tail_[i];
  if (stored != 0 && stored != crc_) return Corrupt("RDB checksum (CRC64) does not match: the snapshot is damaged");
  return Status::Ok();
}

}  // namespace stb
