// The start of an RDB snapshot: magic and 0xFA aux fields (lengths, integer and LZF encodings).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "redisstream/rdb_header.h"
#include "redisstream/resp_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto aux = stb::ReadRdbAux(std::span<const uint8_t>(data, size));
  if (aux.ok() && aux->repl_id && !stb::IsReplId(*aux->repl_id)) abort();
  return 0;
}
