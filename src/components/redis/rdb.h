// RDB snapshots: Redis' CRC64 (Jones polynomial, reflected) and a validator that checks the
// "REDIS<version>" header and the checksum trailer of a snapshot fed to it in pieces.
#pragma once

#include <cstdint>
#include <string>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

uint64_t Crc64(uint64_t crc, const uint8_t* p, size_t n);

class RdbValidator {
 public:
  void Update(const uint8_t* p, size_t n);
  // Checks the header, the EOF opcode and the CRC64 (a zero CRC means checksums are disabled).
  Status Finish() const;
  uint64_t size() const { return size_; }

 private:
  uint64_t crc_ = 0;
  uint64_t size_ = 0;
  uint8_t tail_[8] = {};  // the last 8 bytes seen: the CRC, held back from the CRC itself
  size_t tail_len_ = 0;
  uint8_t last_opcode_ = 0;  // the byte before tail_: the EOF opcode (0xFF) in a whole snapshot
  std::string header_;
};

}  // namespace stb
