// A master's answer to PSYNC: whatever the line, a typed reply or an error, and a FULLRESYNC's id
// is always 40 hex digits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "redisstream/resp_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = stb::ParsePsyncReply(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r.ok() && r->kind == stb::PsyncReply::Kind::kFullResync && !stb::IsReplId(r->replid)) abort();
  if (r.ok() && r->error.size() > 200) abort();
  return 0;
}
