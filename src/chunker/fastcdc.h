// Content-defined chunking (FastCDC with normalized chunking, Xia et al. 2016). The gear table
// is derived from the repository's master key, so chunk sizes do not reveal content.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

struct ChunkerParams {
  uint32_t min_size = 256 << 10;
  uint32_t avg_size = 1 << 20;  // must be a power of two
  uint32_t max_size = 8 << 20;
};

class Chunker {
 public:
  // seed: at least 32 bytes of secret material (see doc/design.md, "Key derivation").
  Chunker(const Bytes& seed, ChunkerParams params);

  // Given data that starts at a chunk boundary, returns the length of the first chunk, or 0 if
  // no boundary can be decided yet (fewer than max_size bytes and not at end of input). The
  // result depends only on the bytes, never on how much was available beyond the cut.
  size_t FindBoundary(const uint8_t* data, size_t n, bool eof) const;
  const ChunkerParams& params() const { return params_; }

 private:
  std::array<uint64_t, 256> gear_{};
  ChunkerParams params_;
  uint64_t mask_small_ = 0;  // more bits: harder to cut before the average size
  uint64_t mask_large_ = 0;  // fewer bits: easier to cut after it
};

// Fills buf with up to n bytes; returns how many, 0 at the end of the input.
using ReadFn = std::function<StatusOr<size_t>(uint8_t* buf, size_t n)>;

// Reads a file descriptor (or any source) and yields its chunks. Buffer is max_size + 1 MiB
// (less for small inputs), so memory per stream stays bounded whatever the input size.
class ChunkStream {
 public:
  ChunkStream(const Chunker& chunker, int fd, uint64_t size_hint, std::string what);
  ChunkStream(const Chunker& chunker, ReadFn read, uint64_t size_hint);
  // Sets chunk to the next chunk; empty span at end of file.
  Status Next(std::span<const uint8_t>& chunk);
  uint64_t bytes_read() const { return bytes_read_; }

 private:
  Status Fill();
  const Chunker& chunker_;
  ReadFn read_;
  Bytes buf_;
  size_t pos_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t bytes_read_ = 0;
};

}  // namespace stb
