// PostgreSQL's backup manifest (backup-manifest-format, version 1): checks that what we stored
// is what the server sent: its own SHA-256 Manifest-Checksum, then every listed file's size and
// CRC-32C against the files the tar stream gave us.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/status.h"

namespace stb {

struct StoredFileSum {
  uint64_t size = 0;
  uint32_t crc32c = 0;
};

// The hex PostgreSQL writes for a CRC-32C: the uint32's bytes in host order (pg_checksum_final
// copies it with memcpy), so on x86 0xE3069283 reads "839206e3".
std::string ManifestCrcHex(uint32_t crc);

struct ManifestCheck {
  size_t files = 0;        // entries of Files[] checked
  size_t crc_checked = 0;  // of those, with their CRC-32C compared (the others: size only)
};
// files: by manifest path (the data directory's relative paths; a tablespace's files as
// "pg_tblspc/<oid>/<path>"). Pure (fuzzed). Corrupt on any mismatch, naming the file.
StatusOr<ManifestCheck> VerifyBackupManifest(std::string_view manifest,
                                             const std::map<std::string, StoredFileSum>& files);

// A data directory laid down from a backup, checked against its manifest without reading it back:
// files holds the size and CRC-32C of the bytes written (by manifest path). What pg_verifybackup
// --no-parse-wal checks, and Corrupt naming the file likewise: the Manifest-Checksum, every listed
// file laid down with its size and CRC-32C, and no file laid down that the manifest does not list
// (pg_wal/ and the files pg_verifybackup ignores aside). An entry without a CRC32C checksum (NONE,
// SHA-*) is checked by size only and leaves crc_checked < files: the caller reads the files back
// with pg_verifybackup then. A Checksum-Algorithm PostgreSQL does not know is Corrupt.
StatusOr<ManifestCheck> VerifyLaidDown(std::string_view manifest, const std::map<std::string, StoredFileSum>& files);

}  // namespace stb
