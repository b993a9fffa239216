// An RDB snapshot stream from Redis, fed to the validator in pieces whose sizes the input chooses.
#include <cstddef>
#include <cstdint>

#include "components/redis/rdb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 64;
  stb::RdbValidator v;
  for (size_t p = 1; p < size; p += step) v.Update(data + p, std::min(step, size - p));
  (void)v.Finish();
  (void)stb::Crc64(0, data, size);
  return 0;
}
