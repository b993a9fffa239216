// Amazon S3 and S3-compatible stores (Ceph radosgw, MinIO) as a location: REST over HttpClient,
// requests signed with Signature V4 (payload hash signed), multipart upload for large objects.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "http/http_client.h"
#include "storage/storage.h"

namespace stb {

struct S3Options {
  std::string bucket;                // BACKUP_S3_BUCKET
  std::string region = "us-east-1";  // BACKUP_S3_REGION
  std::string endpoint;              // BACKUP_S3_ENDPOINT ("http://127.0.0.1:7480"); "" = AWS's regional endpoint
  std::string prefix;                // "backups/primary/": every object name is prefixed with it
  std::string url_style = "auto";    // auto (virtual-host on AWS, path on a custom endpoint), path, virtual
  std::string access_key_id, secret_access_key, session_token;  // AWS_*; secrets: never in a message
  uint64_t multipart_threshold = 64ull << 20;                   // objects this large go up in parts
  uint64_t part_size = 16ull << 20;                             // >= 5 MiB (S3's minimum for all but the last part)
  HttpOptions http;
};

// Checks the options (bucket and keys set, part size legal), without contacting the server.
// Errors name the variable to set.
StatusOr<std::unique_ptr<Storage>> OpenS3Storage(const S3Options& options);

// One ListObjectsV2 answer: appends the objects under key_prefix (names without it) to out and
// sets next_token ("" on the last page). An entry without a readable size is an error.
Status ParseS3ListPage(std::string_view xml, const std::string& key_prefix, std::vector<ObjectInfo>& out,
                       std::string& next_token);

// The Signature V4 pieces, exposed for their unit tests (AWS's published examples).
struct SigV4Request {
  std::string method, host, path /* already URI-encoded */, query /* canonical: sorted, encoded */;
  HttpHeaders headers;  // to sign, besides host (names any case)
  std::string payload_sha256_hex;
};
// Returns the Authorization header value for the request at amz_date ("20130524T000000Z").
std::string SigV4Authorization(const SigV4Request& r, const std::string& access_key_id,
                               const std::string& secret_access_key, const std::string& region,
                               const std::string& service, const std::string& amz_date);

}  // namespace stb
