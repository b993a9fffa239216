#include "crypto/key_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "core/file_util.h"
#include "crypto/crypto.h"

namespace stb {

std::string KeySource::Describe() const {
  return kind == Kind::kKeyFile ? "the key file " + path + " (BACKUP_ENCRYPTION_KEY)"
                                : "the passphrase in BACKUP_PASSPHRASE";
}

StatusOr<KeySource> LoadKeyFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return ErrnoStatus("encryption key file " + path + " (BACKUP_ENCRYPTION_KEY)", errno)
        .Context("cannot read the key; create one with `openssl rand -hex 32 > FILE && chmod 600 FILE`");
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument("BACKUP_ENCRYPTION_KEY: " + path + " is not a regular file");
  if (st.st_mode & 077) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return PermissionDenied("encryption key file " + path + " has mode " + mode +
                            " and is readable by others; run `chmod 600 " + path + "`");
  }
  ASSIGN_OR_RETURN(Bytes raw, ReadWholeFile(path));
  std::string text(raw.begin(), raw.end());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto key = FromHex(text);
  if (text.size() != 64 || !key) {
    return InvalidArgument("encryption key file " + path +
                           " (BACKUP_ENCRYPTION_KEY) must hold 64 hex digits, as `openssl rand -hex 32` writes");
  }
  KeySource ks;
  ks.kind = KeySource::Kind::kKeyFile;
  ks.path = path;
  ks.secret = std::move(*key);
  return ks;
}

KeySource FromPassphrase(const std::string& passphrase) {
  KeySource ks;
  ks.kind = KeySource::Kind::kPassphrase;
  ks.secret = ToBytes(passphrase);
  return ks;
}

Status GenerateKeyFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("creating key file " + path, errno);
  std::string hex = ToHex(RandomBytes(32)) + "\n";
  RETURN_IF_ERROR(WriteFull(fd.get(), reinterpret_cast<const uint8_t*>(hex.data()), hex.size(), path));
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + path, errno);
  return Status::Ok();
}

}  // namespace stb
