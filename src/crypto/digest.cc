#include "crypto/digest.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

namespace stb {

namespace {

// Never prompts for a passphrase: an encrypted key is an error, not a hang on the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

std::string Sha256Hex(const uint8_t* data, size_t n) {
  uint8_t d[SHA256_DIGEST_LENGTH];
  SHA256(data, n, d);
  return ToHex(d, sizeof d);
}

Bytes HmacSha256(const Bytes& key, std::string_view message) {
  Bytes out(32);
  unsigned int len = 32;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), out.data(), &len);
  return out;
}

struct RsaPrivateKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

StatusOr<RsaPrivateKey> RsaPrivateKey::FromPem(std::string_view pem) {
  auto impl = std::make_shared<Impl>();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  impl->key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, &NoPassphrase, nullptr) : nullptr;
  BIO_free(bio);
  ERR_clear_error();
  if (impl->key == nullptr || EVP_PKEY_base_id(impl->key) != EVP_PKEY_RSA) {
    return InvalidArgument("not an unencrypted RSA key in PEM");
  }
  RsaPrivateKey k;
  k.impl_ = std::move(impl);
  return k;
}

StatusOr<Bytes> RsaPrivateKey::SignSha256(std::string_view message) const {
  if (!impl_) return Internal("no RSA key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  Bytes sig;
  const auto* in = reinterpret_cast<const uint8_t*>(message.data());
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->key) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, in, message.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, sig.data(), &len, in, message.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (!ok) return Internal("RS256 signing failed");
  return sig;
}

void Cleanse(void* data, size_t n) { OPENSSL_cleanse(data, n); }

}  // namespace stb
