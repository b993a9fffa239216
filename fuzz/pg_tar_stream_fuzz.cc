// A base backup's tar archive through our libarchive glue, arriving in blocks of a size the
// first input byte picks (the CopyData payloads' boundaries fall anywhere in a member).
#include <cstddef>
#include <cstdint>
#include <span>

#include "components/database/pg_tar_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t block = static_cast<size_t>(data[0]) * 37 + 1;
  std::span<const uint8_t> in(data + 1, size - 1);
  size_t pos = 0;
  stb::TarStreamReader r([&]() -> stb::StatusOr<std::span<const uint8_t>> {
    size_t n = std::min(block, in.size() - pos);
    auto s = in.subspan(pos, n);
    pos += n;
    return s;
  });
  uint8_t buf[4096];
  for (int members = 0; members < 10000; ++members) {
    auto m = r.Next();
    if (!m.ok() || !*m) break;
    for (;;) {
      auto n = r.Read(buf, sizeof buf);
      if (!n.ok() || *n == 0) break;
    }
  }
  return 0;
}
