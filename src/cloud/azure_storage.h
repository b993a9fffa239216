// Azure Blob Storage as a location: REST over HttpClient, Shared Key signing (or a SAS token),
// block blobs (Put Block / Put Block List) for large objects, List Blobs with markers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "cloud/http_client.h"
#include "storage/storage.h"

namespace stb {

struct AzureOptions {
  std::string container;                    // BACKUP_AZURE_CONTAINER
  std::string prefix;                       // "backups/secondary/"
  std::string account;                      // BACKUP_AZURE_ACCOUNT or the connection string's AccountName
  std::string account_key;                  // base64, AZURE_STORAGE_KEY or AccountKey (secret)
  std::string sas_token;                    // AZURE_STORAGE_SAS_TOKEN or SharedAccessSignature (secret), without '?'
  std::string blob_endpoint;                // BlobEndpoint ("http://127.0.0.1:10000/devstoreaccount1"); "" =
                                            // https://<account>.blob.core.windows.net
  uint64_t single_put_limit = 64ull << 20;  // larger objects go up as blocks
  uint64_t block_size = 16ull << 20;
  HttpOptions http;
};

// Fills account, account_key, sas_token and blob_endpoint from AZURE_STORAGE_CONNECTION_STRING
// (keys AccountName, AccountKey, BlobEndpoint, SharedAccessSignature, DefaultEndpointsProtocol,
// EndpointSuffix) on top of base. Errors name the variable, never the key.
StatusOr<AzureOptions> ParseAzureConnectionString(const std::string& connection_string, AzureOptions base);

// Checks the options (an account and a key or SAS, a container), without contacting the server.
StatusOr<std::unique_ptr<Storage>> OpenAzureStorage(const AzureOptions& options);

}  // namespace stb
