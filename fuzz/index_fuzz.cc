// Index objects (JSON once unsealed) as read back from a repository: the streaming parser LoadIndex
// uses, and the document form prune uses; both must agree on what they accept.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "repository/repository.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t streamed = 0;
  stb::Status st = stb::Repository::ParseIndexText(text, [&](const stb::Id&, const stb::BlobLocation&) { ++streamed; });
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  auto whole = stb::Repository::ParseIndex(doc);
  if (st.ok() && whole.ok() && whole->size() != streamed) std::abort();
  return 0;
}
