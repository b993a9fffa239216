// The storage conformance suite against a GCS JSON API server (the emulator test/services/gcs.sh
// starts): STORAGE_EMULATOR_HOST and BACKUP_GCS_BUCKET must be set, else every test fails.
#include <cstdlib>

#include "cloud/gcs_storage.h"
#include "core/file_util.h"
#include "storage_conformance.h"

namespace stb {
namespace {

// threshold/chunk: the emulator has no chunked resumable uploads and takes requests up to ~130 MB.
std::unique_ptr<Storage> OpenEmulatorGcs(uint64_t resumable_threshold, uint64_t chunk_size) {
  const char* host = std::getenv("STORAGE_EMULATOR_HOST");
  const char* bucket = std::getenv("BACKUP_GCS_BUCKET");
  if (host == nullptr || *host == '\0' || bucket == nullptr || *bucket == '\0') {
    ADD_FAILURE() << "STORAGE_EMULATOR_HOST and BACKUP_GCS_BUCKET must be set: run this test through "
                     "test/services/run.sh gcs";
    return NewMemStorage();  // keeps the test body from crashing; the failure above stands
  }
  GcsOptions o;
  o.emulator_host = host;
  o.bucket = bucket;
  // Each test in its own prefix, so that tests see none of each other's objects.
  o.prefix = "conformance/" + RandomHex(8) + "/";
  o.resumable_threshold = resumable_threshold;
  o.chunk_size = chunk_size;
  o.http.total_timeout_seconds = 120;
  auto s = OpenGcsStorage(o);
  if (!s.ok()) {
    ADD_FAILURE() << s.status().message();
    return NewMemStorage();
  }
  return std::move(*s);
}

// Media uploads for everything, the suite's 20 MiB object included.
INSTANTIATE_TEST_SUITE_P(Gcs, StorageConformance,
                         ::testing::Values(StorageFactory([] { return OpenEmulatorGcs(64ull << 20, 16ull << 20); })));
// Objects over 1 MiB through a resumable session sent as one chunk, which the emulator does
// support (chunking itself is covered by gcs_storage_test against a scripted server).
INSTANTIATE_TEST_SUITE_P(GcsResumable, StorageConformance,
                         ::testing::Values(StorageFactory([] { return OpenEmulatorGcs(1ull << 20, 64ull << 20); })));

}  // namespace
}  // namespace stb
