// zstd compression of blobs; one reusable context per thread. A blob is stored compressed only
// when that makes it smaller (see doc/design.md, "Blobs").
#pragma once

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

// Compresses src into out (replacing its content) at the given level (1..19). Returns false
// when the result would not be smaller than the input; out is then unspecified.
bool CompressIfSmaller(const uint8_t* src, size_t n, int level, Bytes& out);
// The same into dst[0, n - 1) (no buffer of its own to allocate and copy): the frame's size, or 0
// when it would not be smaller than the input.
size_t CompressIntoIfSmaller(const uint8_t* src, size_t n, int level, uint8_t* dst);
// Decompresses a frame whose content is exactly raw_size bytes.
Status Decompress(const uint8_t* src, size_t n, size_t raw_size, Bytes& out);

}  // namespace stb
