// Timeline history files, as wal-push reads them from pg_wal and check reads them back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "repository/wal_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)stb::ParseTimelineHistory(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
