#include "components/database/backup_manifest.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

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

// Algorithms PostgreSQL writes besides CRC32C; their files are read back by pg_verifybackup.
const std::set<std::string> kOtherAlgorithms = {"NONE", "SHA224", "SHA256", "SHA384", "SHA512"};

// pg_verifybackup skips these (and what lies beneath them) when it looks for extra files.
bool IgnoredLikePgVerifyBackup(const std::string& path) {
  for (const char* p : {"backup_manifest", "pg_wal", "postgresql.auto.conf", "recovery.signal", "standby.signal"}) {
    std::string_view ign = p;
    if (path == ign || (path.starts_with(ign) && path.size() > ign.size() && path[ign.size()] == '/')) return true;
  }
  return false;
}

// Both checks: `source` names where the sizes and checksums came from, for the messages;
// `laid_down` chooses the restore's rules (other algorithms tolerated, extra files refused).
StatusOr<ManifestCheck> CheckFiles(std::string_view text, const std::map<std::string, StoredFileSum>& files,
                                   const std::string& source, bool laid_down) {
  json m = json::parse(text.begin(), text.end(), nullptr, false);
  if (m.is_discarded() || !m.is_object()) return Corrupt("backup manifest is not JSON");
  if (!m.contains("PostgreSQL-Backup-Manifest-Version") || m["PostgreSQL-Backup-Manifest-Version"] != 1) {
    return Corrupt("backup manifest: not version 1");
  }
  RETURN_IF_ERROR(CheckManifestChecksum(text, m));
  if (!m.contains("Files") || !m["Files"].is_array()) return Corrupt("backup manifest has no Files list");
  ManifestCheck out;
  std::set<std::string> listed;
  for (const auto& f : m["Files"]) {
    if (!f.is_object()) return Corrupt("backup manifest: a Files entry is not an object");
    ASSIGN_OR_RETURN(std::string path, FilePath(f));
    auto it = files.find(path);
    if (it == files.end()) return Corrupt("backup manifest lists " + path + ", which " + source + " did not contain");
    if (!listed.insert(path).second) return Corrupt("backup manifest lists " + path + " twice");
    if (!f.contains("Size") || !f["Size"].is_number_unsigned() || f["Size"].get<uint64_t>() != it->second.size) {
      return Corrupt("backup manifest: " + path + " has another size than " + source + " gave (" +
                     std::to_string(it->second.size) + " bytes)");
    }
    std::string algo = f.contains("Checksum-Algorithm") && f["Checksum-Algorithm"].is_string()
                           ? f["Checksum-Algorithm"].get<std::string>()
                           : "NONE";
    if (algo == "CRC32C") {
      if (!f.contains("Checksum") || !f["Checksum"].is_string() ||
          f["Checksum"].get<std::string>() != ManifestCrcHex(it->second.crc32c)) {
        return Corrupt("backup manifest: " + path + " has another CRC-32C than the bytes " +
                       (laid_down ? "laid down" : "stored"));
      }
      ++out.crc_checked;
    } else if (!laid_down && algo != "NONE") {
      return Corrupt("backup manifest: " + path + " uses checksum " + algo + " (CRC32C was asked for)");
    } else if (laid_down && !kOtherAlgorithms.count(algo)) {
      return Corrupt("backup manifest: " + path + " has an unknown Checksum-Algorithm '" + algo + "'");
    }
    ++out.files;
  }
  if (laid_down) {
    for (const auto& [path, sum] : files) {
      if (!listed.count(path) && !IgnoredLikePgVerifyBackup(path)) {
        return Corrupt("the restore laid down " + path + ", which the backup manifest does not list");
      }
    }
  }
  return out;
}

}  // namespace

StatusOr<ManifestCheck> VerifyBackupManifest(std::string_view text, const std::map<std::string, StoredFileSum>& files) {
  return CheckFiles(text, files, "the stream", false);
}

StatusOr<ManifestCheck> VerifyLaidDown(std::string_view text, const std::map<std::string, StoredFileSum>& files) {
  return CheckFiles(text, files, "the lay-down", true);
}

}  // namespace stb
