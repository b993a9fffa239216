// Cryptographic primitives over OpenSSL: SHA-256, HMAC-SHA256, HKDF, AES-256-GCM sealing,
// random bytes. Sealed format: nonce(12) || ciphertext || tag(16); see doc/design.md.
#pragma once

#include <memory>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kSealOverhead = kNonceSize + kTagSize;

Id Sha256(const uint8_t* data, size_t n);
inline Id Sha256(const Bytes& b) { return Sha256(b.data(), b.size()); }

// Incremental SHA-256 (pack ids are hashed while the pack is assembled).
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(const uint8_t* data, size_t n);
  Id Final();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// HMAC-SHA256 with a fixed key. Compute is thread-safe: the keyed context is only read, then
// duplicated per message.
class Hmac {
 public:
  explicit Hmac(const Bytes& key);
  ~Hmac();
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;
  Id Compute(const uint8_t* data, size_t n) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

Bytes RandomBytes(size_t n);
Bytes Hkdf(const Bytes& ikm, const Bytes& salt, std::string_view info, size_t n);

// AES-256-GCM with a random nonce. Thread-safe (no shared mutable state).
class Aead {
 public:
  explicit Aead(Bytes key);
  // Appends nonce || ciphertext || tag to out.
  void Seal(const uint8_t* plain, size_t n, const uint8_t* aad, size_t aad_len, Bytes& out) const;
  Bytes Seal(const Bytes& plain, std::string_view aad) const;
  // buf holds kNonceSize spare bytes, then the plaintext: encrypted where it lies, the nonce
  // written in front and the tag appended, so a large object is never copied.
  void SealInPlace(Bytes& buf, std::string_view aad) const;
  // Fails with kCorrupt when the tag does not verify (damaged data or wrong key).
  Status Open(const uint8_t* sealed, size_t n, const uint8_t* aad, size_t aad_len, Bytes& out) const;
  StatusOr<Bytes> Open(const Bytes& sealed, std::string_view aad) const;

 private:
  Bytes key_;
};

// Argon2id (libsodium) of a passphrase into a 32-byte key, with the limits stored in the key object.
StatusOr<Bytes> Argon2id(std::string_view passphrase, const Bytes& salt, uint64_t ops, size_t mem);

}  // namespace stb
