// Lays a physical base backup ("postgresql-physical" entry) down on disk as a startable data
// directory: the files tree with tablespaces re-targeted, backup_manifest written beside it, and
// every file's size and CRC-32C (computed as it is written) checked against that manifest;
// pg_verifybackup reads the files back only when asked or when the manifest lacks CRC-32Cs.
// Recovery is the caller's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "components/database/backup_manifest.h"
#include "core/progress.h"
#include "core/status.h"

namespace stb {

class Repository;
struct Tree;

struct LayDownOptions {
  std::string target_dir;                          // must be missing or empty
  std::map<uint32_t, std::string> tablespace_map;  // oid -> directory; default target_dir.tblspc/<oid>
  std::optional<std::pair<uid_t, gid_t>> owner;    // applied to every file (when running as root)
  int workers = 2;
  std::string pg_bin_dir;  // DB_PG_BIN_DIR; "" = /usr/lib/postgresql/<major>/bin
  bool read_back = false;  // DB_VERIFY=full: pg_verifybackup re-reads every file after the check
};

struct LayDownResult {
  std::string data_directory;
  std::map<uint32_t, std::string> tablespaces;  // oid -> where laid down
  uint64_t files = 0, size_bytes = 0;
  nlohmann::json report;  // RestoreFiles' report plus manifest_check {files, crc32c_files}, pg_verifybackup
};

// The size and CRC-32C of each file RestoreFiles wrote (crc32c: its result, by node) under the
// path backup_manifest gives it: "pgdata/x" as "x", "tblspc-<oid>/x" as "pg_tblspc/<oid>/x".
std::map<std::string, StoredFileSum> LaidDownSums(const Tree& tree, const std::vector<uint32_t>& crc32c);

// Refuses a target (or tablespace directory) that is not empty. Errors name what to fix.
StatusOr<LayDownResult> LayDownPhysical(Repository& repo, const nlohmann::json& entry, const LayDownOptions& opt,
                                        Progress& progress);

}  // namespace stb
