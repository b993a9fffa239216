// PostgreSQL's backup manifest (JSON, Manifest-Checksum, per-file sizes and CRC-32C).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>

#include "components/database/backup_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::map<std::string, stb::StoredFileSum> files = {{"backup_label", {226, 0x12345678}},
                                                                  {"global/pg_control", {8192, 0}}};
  (void)stb::VerifyBackupManifest(std::string_view(reinterpret_cast<const char*>(data), size), files);
  return 0;
}
