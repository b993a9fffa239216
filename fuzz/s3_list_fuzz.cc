// A ListObjectsV2 answer from an S3 endpoint.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/s3_storage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<stb::ObjectInfo> out;
  std::string token;
  (void)stb::ParseS3ListPage(std::string_view(reinterpret_cast<const char*>(data), size), "pre/", out, token);
  (void)stb::XmlValue(std::string_view(reinterpret_cast<const char*>(data), size), "Code");
  return 0;
}
