// HTTP answer headers from a cloud endpoint (one line per input line): Retry-After, error
// classification, and the Content-Length/ETag style values the drivers read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/encoding.h"
#include "http/http_client.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  stb::HttpResponse r;
  r.status = size > 0 ? 400 + data[0] % 200 : 503;
  size_t start = 0;
  while (start < in.size()) {
    size_t end = in.find('\n', start);
    if (end == std::string_view::npos) end = in.size();
    stb::AddHeaderLine(in.substr(start, end - start + (end < in.size() ? 1 : 0)), r);
    start = end + 1;
  }
  (void)stb::RetryAfterSeconds(r);
  (void)stb::HttpError(r, "get x", "VAR");
  (void)stb::Base64Decode(r.Header("x-goog-hash"));
  return 0;
}
