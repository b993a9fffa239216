// Index objects (JSON once unsealed) as read back from a repository.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "repository/repository.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  (void)stb::Repository::ParseIndex(doc);
  return 0;
}
