// The replication stream as a master sends it, fed to the command splitter in pieces whose sizes
// the input chooses; the boundaries must be the same however the bytes are cut.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "redisstream/resp_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 32;
  std::span<const uint8_t> in(data + 1, size - 1);
  std::vector<uint64_t> whole_ends, piece_ends;
  stb::RespCommandSplitter whole(0, -1, 0), pieces(0, -1, 0);
  const bool whole_ok = whole.Feed(in, [&](const stb::RespCommandInfo& c) { whole_ends.push_back(c.end); }).ok();
  bool pieces_ok = true;
  for (size_t p = 0; p < in.size() && pieces_ok; p += step) {
    pieces_ok = pieces
                    .Feed(in.subspan(p, std::min(step, in.size() - p)),
                          [&](const stb::RespCommandInfo& c) { piece_ends.push_back(c.end); })
                    .ok();
  }
  if (whole_ok != pieces_ok || whole_ends != piece_ends || whole.boundary() != pieces.boundary() ||
      whole.db() != pieces.db() || whole.in_multi() != pieces.in_multi()) {
    abort();
  }
  return 0;
}
