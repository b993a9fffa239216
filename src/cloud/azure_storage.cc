#include "cloud/azure_storage.h"

namespace stb {
// Placeholder until the driver lands (being written now).
StatusOr<AzureOptions> ParseAzureConnectionString(const std::string&, AzureOptions base) { return base; }
StatusOr<std::unique_ptr<Storage>> OpenAzureStorage(const AzureOptions&) {
  return Internal("azure driver not built yet");
}
}  // namespace stb
