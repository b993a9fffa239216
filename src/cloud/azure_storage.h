// Azure Blob Storage as a location: REST over HttpClient, Shared Key signing (or a SAS token),
// block blobs (Put Block / Put Block List) for large objects, List Blobs with markers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/http_client.h"
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
  // The variable an authorization failure tells the operator to check; "" = AZURE_STORAGE_KEY or
  // AZURE_STORAGE_SAS_TOKEN, whichever is in use. ParseAzureConnectionString sets it when the
  // connection string supplied the credential.
  std::string credential_setting;
};

// Fills account, account_key, sas_token and blob_endpoint from AZURE_STORAGE_CONNECTION_STRING
// (keys AccountName, AccountKey, BlobEndpoint, SharedAccessSignature, DefaultEndpointsProtocol,
// EndpointSuffix) on top of base. Errors name the variable, never the key.
StatusOr<AzureOptions> ParseAzureConnectionString(const std::string& connection_string, AzureOptions base);

// Checks the options (an account and a key or SAS, a container), without contacting the server.
StatusOr<std::unique_ptr<Storage>> OpenAzureStorage(const AzureOptions& options);

// One List Blobs answer: appends the blobs under name_prefix (names without it) to out and sets
// next_marker ("" on the last page). A blob without a readable Content-Length is an error.
Status ParseAzureListPage(std::string_view xml, const std::string& name_prefix, std::vector<ObjectInfo>& out,
                          std::string& next_marker);

// The Shared Key pieces, exposed for their unit tests (published examples). headers: as sent, plus
// Content-Length when there is a body (names any case); encoded_path: the URL's path as sent
// ("/devstoreaccount1/container/blob" on a path-style endpoint); query: names and decoded values.
std::string AzureStringToSign(const std::string& method, const HttpHeaders& headers, const std::string& account,
                              const std::string& encoded_path, const HttpHeaders& query);
// "SharedKey <account>:<base64 HMAC-SHA256 of string_to_sign under the decoded key>".
std::string AzureSharedKeyAuthorization(const std::string& account, const Bytes& key,
                                        const std::string& string_to_sign);

}  // namespace stb
