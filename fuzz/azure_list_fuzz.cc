// A List Blobs answer from Azure (and, on the same bytes, a connection string from the environment).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cloud/azure_storage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<stb::ObjectInfo> out;
  std::string marker;
  (void)stb::ParseAzureListPage(in, "pre/", out, marker);
  (void)stb::ParseAzureConnectionString(std::string(in), stb::AzureOptions{});
  return 0;
}
