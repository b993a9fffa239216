// Google Cloud Storage as a location: the JSON API over HttpClient, a service account's JWT
// (RS256) exchanged for a bearer token that is cached and refreshed, resumable uploads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/http_client.h"
#include "storage/storage.h"

namespace stb {

struct GcsOptions {
  std::string bucket;            // BACKUP_GCS_BUCKET
  std::string prefix;            // "backups/tertiary/"
  std::string project;           // BACKUP_GCS_PROJECT (informational; objects need none)
  std::string credentials_file;  // GOOGLE_APPLICATION_CREDENTIALS: a service-account key (JSON)
  // STORAGE_EMULATOR_HOST ("http://127.0.0.1:9023" or "127.0.0.1:9023"): talk to an emulator
  // there, without credentials.
  std::string emulator_host;
  std::string endpoint;                        // "" = https://storage.googleapis.com (tests point it at a local server)
  uint64_t resumable_threshold = 64ull << 20;  // larger objects use a chunked resumable upload
  uint64_t chunk_size = 16ull << 20;           // a multiple of 256 KiB
  HttpOptions http;
};

// Reads and checks the key file (type service_account, client_email, private_key, token_uri)
// without contacting the server. Errors name GOOGLE_APPLICATION_CREDENTIALS, never the key.
StatusOr<std::unique_ptr<Storage>> OpenGcsStorage(const GcsOptions& options);

// One objects.list answer (JSON): appends the objects under name_prefix (names without it) to out
// and sets next_page ("" on the last page). Unreadable JSON or an item without a name under the
// prefix or a size is an error.
Status ParseGcsListPage(const Bytes& body, const std::string& name_prefix, std::vector<ObjectInfo>& out,
                        std::string& next_page);

}  // namespace stb
