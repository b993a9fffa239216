// The one libcurl client of the program (cloud drivers, alert webhook): TLS verified, bounded
// timeouts, reused connections, errors that never quote a URL's secrets. Send never retries (the
// storage wrapper does, on the kUnavailable errors HttpError classifies); SendWithRetries does, for
// callers without such a wrapper (the webhook).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/env.h"
#include "core/status.h"

namespace stb {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string url;             // may carry a SAS token or signature: never put it in a message
  HttpHeaders headers;         // sent as given; Content-Length is added from the body
  const uint8_t* body = nullptr;
  size_t body_size = 0;
  // The most bytes of a 2xx answer's body to take (0 = no limit): a ranged read sets what it asked
  // for, so that a server ignoring the range, or sending more, is cut off instead of filling memory.
  // Another answer's body (an error document) may then have up to kMaxErrorBody bytes.
  uint64_t max_body = 0;
  static constexpr uint64_t kMaxErrorBody = 64 * 1024;
};

struct HttpResponse {
  long status = 0;
  HttpHeaders headers;  // names lower-cased, in arrival order
  Bytes body;
  // The first header of that (lower-case) name, "" if absent.
  std::string Header(std::string_view lower_name) const;
};

struct HttpOptions {
  std::string ca_file;  // BACKUP_CA_BUNDLE: PEM bundle for private endpoints; "" = system store
  double connect_timeout_seconds = 10;
  // A transfer slower than 1 KiB/s for this long is cut (and is retryable): a hung server never
  // holds a backup forever, while a large object on a slow link still gets through.
  double stall_timeout_seconds = 60;
  double total_timeout_seconds = 0;  // 0 = none (large objects); tests set one
};

// Why a request got no HTTP answer, for callers that explain it in their own terms (the setting
// to check). The curl-level classification lives here, nowhere else.
struct HttpFailure {
  enum Kind { kNone, kTimeout, kConnect, kBadUrl, kTlsVerify, kCaFile, kOther };
  Kind kind = kNone;
  bool retryable = false;  // a connection-level failure that another try may not meet
  std::string detail;      // libcurl's text, with the URL's secrets cut out
  std::string os_error;    // the system's reason for a failed connect ("Connection refused"), or ""
};

// Thread-safe; keeps a small pool of curl handles so that connections are reused across threads.
class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Any HTTP answer is ok() with its status; a transport failure (refused, reset, timeout, a body
  // cut short, TLS) is kUnavailable, a TLS verification failure kPermission, both with curl's
  // message and the host (never the query string). A body beyond request.max_body aborts the
  // transfer: kIo, "response body larger than N bytes".
  // failure, when given, says why a request got no answer.
  StatusOr<HttpResponse> Send(const HttpRequest& request, HttpFailure* failure = nullptr);

 private:
  struct Pool;
  HttpOptions options_;
  std::unique_ptr<Pool> pool_;
};

// Turns a non-2xx answer into the storage error classes: 404 -> kNotFound; 408, 429, 5xx ->
// kUnavailable (with the Retry-After hint); 401/403 -> kPermission naming credential_setting;
// 412/409 -> kAlreadyExists; anything else kIo. The message is "<what>: HTTP <status> <code from
// the body>", never the URL or a header.
Status HttpError(const HttpResponse& response, const std::string& what, const std::string& credential_setting);

// The error for a ranged read answered (206) with more bytes than the length asked for.
Status RangeOverrun(const std::string& what, uint64_t asked, uint64_t got);

// Retries for a caller without a retrying wrapper: another try after a retryable failure (see
// HttpFailure), 429 or 5xx, waiting backoff_seconds, doubled each time, or the Retry-After, up to
// max_retry_after_seconds, if that is longer.
struct HttpRetryPolicy {
  int attempts = 1;  // tries in all, >= 1
  double backoff_seconds = 1;
  double max_retry_after_seconds = 30;  // a longer Retry-After would hold the caller up
  Env* env = nullptr;                   // what sleeps between tries; nullptr = Env::Default()
};
struct HttpOutcome {
  StatusOr<HttpResponse> response = Unavailable("not sent");  // an answer, or no answer
  HttpFailure failure;                                        // why not, when there was none
  int attempts = 0;                                           // tries made
  bool retryable = false;                                     // the last try could have been retried
};
// on_retry(outcome so far, seconds to wait) runs before each wait, e.g. to log the failed try.
HttpOutcome SendWithRetries(HttpClient& client, const HttpRequest& request, const HttpRetryPolicy& policy,
                            const std::function<void(const HttpOutcome&, double)>& on_retry = {});

// One raw header line as curl hands it over ("Name: value\r\n"): stored lower-cased and trimmed;
// a status line ("HTTP/1.1 100 Continue") starts the headers of a new answer.
void AddHeaderLine(std::string_view line, HttpResponse& response);

// Retry-After (seconds or an HTTP date) in seconds; 0 if absent or unreadable.
double RetryAfterSeconds(const HttpResponse& response);

// The text of the first <tag>…</tag> in an XML body ("" if absent), entities decoded. The cloud
// APIs' XML answers are flat enough that this is all the drivers read from them.
std::string XmlValue(std::string_view xml, std::string_view tag);
// Every <tag>…</tag> block's inner text, in order.
std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag);

// ASCII lower case (header names), and a value trimmed with its inner runs of whitespace folded
// into one space: what SigV4's and Shared Key's canonical headers both require.
std::string AsciiLower(std::string_view s);
std::string FoldSpaces(std::string_view s);

}  // namespace stb
