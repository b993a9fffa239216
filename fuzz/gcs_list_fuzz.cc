// An objects.list answer (JSON) from Google Cloud Storage.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cloud/gcs_storage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<stb::ObjectInfo> out;
  std::string next;
  (void)stb::ParseGcsListPage(stb::Bytes(data, data + size), "pre/", out, next);
  return 0;
}
