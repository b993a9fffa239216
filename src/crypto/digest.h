// Digests and signatures for signing requests to other systems (S3 SigV4, Azure Shared Key, the
// GCS service-account JWT): the only place outside crypto.cc that calls OpenSSL's MAC and sign APIs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

// SHA-256 of data, lower-case hex.
std::string Sha256Hex(const uint8_t* data, size_t n);
inline std::string Sha256Hex(std::string_view s) {
  return Sha256Hex(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// HMAC-SHA256 of a message under a key of any length.
Bytes HmacSha256(const Bytes& key, std::string_view message);

// An RSA private key for RS256 signatures (RSASSA-PKCS1-v1_5 with SHA-256).
class RsaPrivateKey {
 public:
  // From an unencrypted PEM private key; never prompts for a passphrase. The error says only what
  // is wrong with the key, never any of its text.
  static StatusOr<RsaPrivateKey> FromPem(std::string_view pem);
  StatusOr<Bytes> SignSha256(std::string_view message) const;

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

// Overwrites secret material in memory so that it does not outlive its use (OPENSSL_cleanse: the
// compiler cannot drop it as a dead store).
void Cleanse(void* data, size_t n);

}  // namespace stb
