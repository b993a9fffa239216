// One CopyData message of BASE_BACKUP's stream, as the server (or anything posing as it) sends it.
#include <cstddef>
#include <cstdint>
#include <span>

#include "components/database/pg_replication.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)stb::ParseBackupCopyMessage(std::span<const uint8_t>(data, size));
  return 0;
}
