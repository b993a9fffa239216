// The TOML config file (--config, BACKUP_CONFIG, /etc/spacetime/backup.toml).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  stb::Settings s;
  (void)stb::ApplyConfigText(s, std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.toml");
  return 0;
}
