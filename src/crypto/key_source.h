// Where the key-encryption key comes from: the key file named by BACKUP_ENCRYPTION_KEY
// (32 random bytes as hex, mode 0600) or a passphrase (BACKUP_PASSPHRASE) through Argon2id.
#pragma once

#include <string>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

struct KeySource {
  enum class Kind { kKeyFile, kPassphrase } kind = Kind::kKeyFile;
  std::string path;  // key file path, shown in messages (never its content)
  Bytes secret;      // the 32 key-file bytes, or the passphrase bytes
  std::string Describe() const;
};

// Loads and validates a key file: refuses group/other permissions and anything but 64 hex digits.
StatusOr<KeySource> LoadKeyFile(const std::string& path);
KeySource FromPassphrase(const std::string& passphrase);
// Writes a new random key file (0600), as `openssl rand -hex 32 > FILE` would; refuses to overwrite.
Status GenerateKeyFile(const std::string& path);

}  // namespace stb
