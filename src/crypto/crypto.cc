#include "crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sodium.h>

#include <stdexcept>

namespace stb {

Id Sha256(const uint8_t* data, size_t n) {
  Id id;
  unsigned int len = 32;
  EVP_Digest(data, n, id.b.data(), &len, EVP_sha256(), nullptr);
  return id;
}

struct Sha256Stream::Impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Impl() { EVP_MD_CTX_free(ctx); }
};
Sha256Stream::Sha256Stream() : impl_(std::make_unique<Impl>()) { EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr); }
Sha256Stream::~Sha256Stream() = default;
void Sha256Stream::Update(const uint8_t* data, size_t n) { EVP_DigestUpdate(impl_->ctx, data, n); }
Id Sha256Stream::Final() {
  Id id;
  unsigned int len = 32;
  EVP_DigestFinal_ex(impl_->ctx, id.b.data(), &len);
  EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr);
  return id;
}

struct Hmac::Impl {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* base = nullptr;  // keyed once; duplicated per message (cheaper than re-keying)
  ~Impl() {
    EVP_MAC_CTX_free(base);
    EVP_MAC_free(mac);
  }
};
Hmac::Hmac(const Bytes& key) : impl_(std::make_unique<Impl>()) {
  impl_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  impl_->base = EVP_MAC_CTX_new(impl_->mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!EVP_MAC_init(impl_->base, key.data(), key.size(), params)) throw std::runtime_error("HMAC init failed");
}
Hmac::~Hmac() = default;
Id Hmac::Compute(const uint8_t* data, size_t n) const {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(impl_->base);
  Id id;
  size_t len = 0;
  EVP_MAC_update(ctx, data, n);
  EVP_MAC_final(ctx, id.b.data(), &len, id.b.size());
  EVP_MAC_CTX_free(ctx);
  return id;
}

Bytes RandomBytes(size_t n) {
  Bytes b(n);
  if (RAND_bytes(b.data(), static_cast<int>(n)) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  return b;
}

Bytes Hkdf(const Bytes& ikm, const Bytes& salt, std::string_view info, size_t n) {
  Bytes out(n);
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  char digest[] = "SHA256";
  // An empty salt must be left out: OpenSSL rejects a zero-length salt parameter.
  OSSL_PARAM params[5];
  size_t p = 0;
  params[p++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[p++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(ikm.data()), ikm.size());
  if (!salt.empty()) {
    params[p++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt.data()), salt.size());
  }
  params[p++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size());
  params[p] = OSSL_PARAM_construct_end();
  int ok = EVP_KDF_derive(ctx, out.data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  EVP_KDF_free(kdf);
  if (ok != 1) throw std::runtime_error("HKDF failed");
  return out;
}

Aead::Aead(Bytes key) : key_(std::move(key)) {
  if (key_.size() != 32) throw std::invalid_argument("AES-256-GCM needs a 32-byte key");
}

void Aead::Seal(const uint8_t* plain, size_t n, const uint8_t* aad, size_t aad_len, Bytes& out) const {
  size_t base = out.size();
  out.resize(base + kNonceSize + n + kTagSize);
  uint8_t* nonce = out.data() + base;
  if (RAND_bytes(nonce, kNonceSize) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce);
  if (aad_len) EVP_EncryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aad_len));
  uint8_t* ct = nonce + kNonceSize;
  if (n) EVP_EncryptUpdate(ctx, ct, &len, plain, static_cast<int>(n));
  EVP_EncryptFinal_ex(ctx, ct + n, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, ct + n);
  EVP_CIPHER_CTX_free(ctx);
}

void Aead::SealInPlace(Bytes& buf, std::string_view aad) const {
  size_t n = buf.size() - kNonceSize;
  buf.resize(buf.size() + kTagSize);
  uint8_t* nonce = buf.data();
  if (RAND_bytes(nonce, kNonceSize) != 1) throw std::runtime_error("OpenSSL RAND_bytes failed");
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), nonce);
  if (!aad.empty()) {
    EVP_EncryptUpdate(ctx, nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()), static_cast<int>(aad.size()));
  }
  uint8_t* pt = nonce + kNonceSize;
  if (n) EVP_EncryptUpdate(ctx, pt, &len, pt, static_cast<int>(n));  // GCM may encrypt in place
  EVP_EncryptFinal_ex(ctx, pt + n, &len);
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, pt + n);
  EVP_CIPHER_CTX_free(ctx);
}

Bytes Aead::Seal(const Bytes& plain, std::string_view aad) const {
  Bytes out;
  Seal(plain.data(), plain.size(), reinterpret_cast<const uint8_t*>(aad.data()), aad.size(), out);
  return out;
}

Status Aead::Open(const uint8_t* sealed, size_t n, const uint8_t* aad, size_t aad_len, Bytes& out) const {
  if (n < kSealOverhead) return Corrupt("sealed data too short");
  size_t ct_len = n - kSealOverhead;
  out.resize(ct_len);
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  int len = 0;
  EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key_.data(), sealed);
  if (aad_len) EVP_DecryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aad_len));
  if (ct_len) EVP_DecryptUpdate(ctx, out.data(), &len, sealed + kNonceSize, static_cast<int>(ct_len));
  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, const_cast<uint8_t*>(sealed + kNonceSize + ct_len));
  int ok = EVP_DecryptFinal_ex(ctx, out.data() + ct_len, &len);
  EVP_CIPHER_CTX_free(ctx);
  if (ok != 1) {
    out.clear();
    return Corrupt("authentication failed (data damaged, or not written with this key)");
  }
  return Status::Ok();
}

StatusOr<Bytes> Aead::Open(const Bytes& sealed, std::string_view aad) const {
  Bytes out;
  RETURN_IF_ERROR(Open(sealed.data(), sealed.size(), reinterpret_cast<const uint8_t*>(aad.data()), aad.size(), out));
  return out;
}

StatusOr<Bytes> Argon2id(std::string_view passphrase, const Bytes& salt, uint64_t ops, size_t mem) {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  if (salt.size() != crypto_pwhash_SALTBYTES) return Corrupt("Argon2id salt has the wrong length");
  Bytes key(32);
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), salt.data(), ops, mem,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Unavailable("Argon2id ran out of memory");
  }
  return key;
}

}  // namespace stb
