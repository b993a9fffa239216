#include "components/database/backup_manifest.h"

#include <cstring>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "crypto/crypto.h"

namespace stb {

using json = nlohmann::json;

std::string ManifestCrcHex(uint32_t crc) {
  uint8_t b[4];
  std::memcpy(b, &crc, 4);
  return ToHex(b, 4);
}

namespace {

// The SHA-256 covers every byte before the line that starts with "Manifest-Checksum".
Status CheckManifestChecksum(std::string_view text, const json& m) {
  constexpr std::string_view kKey = "\n\"Manifest-Checksum\"";
  size_t pos = text.rfind(kKey);
  if (pos == std::string_view::npos || !m.contains("Manifest-Checksum") || !m["Manifest-Checksum"].is_string()) {
    return Corrupt("backup manifest has no Manifest-Checksum");
  }
  Id sum = Sha256(reinterpret_cast<const uint8_t*>(text.data()), pos + 1);
  if (sum.Hex() != m["Manifest-Checksum"].get<std::string>()) {
    return Corrupt("backup manifest: Manifest-Checksum does not match its content");
  }
  return Status::Ok();
}

StatusOr<std::string> FilePath(const json& f) {
  if (f.contains("Path") && f["Path"].is_string()) return f["Path"].get<std::string>();
  if (f.contains("Encoded-Path") && f["Encoded-Path"].is_string()) {
    auto raw = FromHex(f["Encoded-Path"].get<std::string>());
    if (!raw) return Corrupt("backup manifest: an Encoded-Path that is not hex");
    return std::string(raw->begin(), raw->end());
  }
  return Corrupt("backup manifest: a file without Path or Encoded-Path");
}

}  // namespace

StatusOr<ManifestCheck> VerifyBackupManifest(std::string_view text, const std::map<std::string, StoredFileSum>& files) {
  json m = json::parse(text.begin(), text.end(), nullptr, false);
  if (m.is_discarded() || !m.is_object()) return Corrupt("backup manifest is not JSON");
  if (!m.contains("PostgreSQL-Backup-Manifest-Version") || m["PostgreSQL-Backup-Manifest-Version"] != 1) {
    return Corrupt("backup manifest: not version 1");
  }
  RETURN_IF_ERROR(CheckManifestChecksum(text, m));
  if (!m.contains("Files") || !m["Files"].is_array()) return Corrupt("backup manifest has no Files list");
  ManifestCheck out;
  for (const auto& f : m["Files"]) {
    if (!f.is_object()) return Corrupt("backup manifest: a Files entry is not an object");
    ASSIGN_OR_RETURN(std::string path, FilePath(f));
    auto it = files.find(path);
    if (it == files.end()) return Corrupt("backup manifest lists " + path + ", which the stream did not contain");
    if (!f.contains("Size") || !f["Size"].is_number_unsigned() || f["Size"].get<uint64_t>() != it->second.size) {
      return Corrupt("backup manifest: " + path + " has another size than the stream gave (" +
                     std::to_string(it->second.size) + " bytes)");
    }
    std::string algo = f.contains("Checksum-Algorithm") && f["Checksum-Algorithm"].is_string()
                           ? f["Checksum-Algorithm"].get<std::string>()
                           : "NONE";
    if (algo == "CRC32C") {
      if (!f.contains("Checksum") || !f["Checksum"].is_string() ||
          f["Checksum"].get<std::string>() != ManifestCrcHex(it->second.crc32c)) {
        return Corrupt("backup manifest: " + path + " has another CRC-32C than the bytes stored");
      }
    } else if (algo != "NONE") {
      return Corrupt("backup manifest: " + path + " uses checksum " + algo + " (CRC32C was asked for)");
    }
    ++out.files;
  }
  return out;
}

}  // namespace stb
