// Segment bodies (stored, but written from a master's bytes) through the restore's cut finder and
// AOF encoder: no crash, the cut stays inside the segment, and the AOF bytes do not depend on
// where the stream was cut into segments.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "redisstream/aof_writer.h"
#include "redisstream/restore_plan.h"

namespace {
stb::RedisStreamObject Seg(uint64_t start, const uint8_t* p, size_t n, int64_t ms) {
  stb::RedisStreamObject o;
  o.start = start;
  o.db = 1;
  o.raw.assign(p, p + n);
  o.end = start + n;
  o.first_arrival_ms = o.last_arrival_ms = ms;
  if (n > 0) o.time_index.push_back({0, ms});
  return o;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t split = data[0] % size;
  const uint8_t* in = data + 1;
  const size_t n = size - 1;
  const size_t at = std::min(split, n);
  auto whole = Seg(0, in, n, 1000);
  auto cut = stb::CutInSegment(whole, data[0] % 2 ? 999 : 1000);
  if (cut.ok() && cut->found && cut->offset > n) abort();
  stb::AofIncrEncoder one(0, n), two(0, n);
  std::string a, b;
  const bool one_ok = one.Add(whole, a).ok();
  bool two_ok = two.Add(Seg(0, in, at, 1000), b).ok();
  if (two_ok) two_ok = two.Add(Seg(at, in + at, n - at, 1000), b).ok();
  if (one_ok != two_ok || (one_ok && (a != b || one.commands() != two.commands()))) abort();
  return 0;
}
