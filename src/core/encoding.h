// Text encodings of bytes: hex (ToHex/FromHex, declared in core/bytes.h beside Id, which prints with
// them), base64 and base64url, and URI percent-encoding. Every decoder is checked: bad input is an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

// The value of one hex digit (either case), or -1 if c is not one.
int HexDigit(char c);

// Base64, standard alphabet and padded (keys, signatures, Azure block ids). Decoding ignores
// whitespace and fails on a wrong length or a character outside the alphabet.
std::string Base64Encode(const uint8_t* data, size_t n);
inline std::string Base64Encode(std::string_view s) {
  return Base64Encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
StatusOr<Bytes> Base64Decode(std::string_view s);

// Base64url without padding (JWTs); decoding accepts it with or without the padding.
std::string Base64UrlEncode(const uint8_t* data, size_t n);
inline std::string Base64UrlEncode(std::string_view s) {
  return Base64UrlEncode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
StatusOr<Bytes> Base64UrlDecode(std::string_view s);

// RFC 3986 percent-encoding of everything but unreserved characters ('/' kept when keep_slash):
// what S3's canonical request, Azure's URLs, GCS object names and CockroachDB's URIs all need.
std::string UriEncode(std::string_view s, bool keep_slash);

}  // namespace stb
