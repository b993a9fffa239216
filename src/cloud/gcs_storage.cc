#include "cloud/gcs_storage.h"

namespace stb {
// Placeholder until the driver lands (being written now).
StatusOr<std::unique_ptr<Storage>> OpenGcsStorage(const GcsOptions&) { return Internal("gcs driver not built yet"); }
}  // namespace stb
