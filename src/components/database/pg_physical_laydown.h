// Lays a physical base backup ("postgresql-physical" entry) down on disk as a startable data
// directory: the files tree with tablespaces re-targeted, backup_manifest written beside it, and
// pg_verifybackup of the backup's major version run over the result. Recovery is the caller's.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "core/progress.h"
#include "core/status.h"

namespace stb {

class Repository;

struct LayDownOptions {
  std::string target_dir;                          // must be missing or empty
  std::map<uint32_t, std::string> tablespace_map;  // oid -> directory; default target_dir.tblspc/<oid>
  std::optional<std::pair<uid_t, gid_t>> owner;    // applied to every file (when running as root)
  int workers = 2;
  std::string pg_bin_dir;  // DB_PG_BIN_DIR; "" = /usr/lib/postgresql/<major>/bin
};

struct LayDownResult {
  std::string data_directory;
  std::map<uint32_t, std::string> tablespaces;  // oid -> where laid down
  uint64_t files = 0, size_bytes = 0;
  nlohmann::json report;  // RestoreFiles' report plus pg_verifybackup: "ok"
};

// Refuses a target (or tablespace directory) that is not empty. Errors name what to fix.
StatusOr<LayDownResult> LayDownPhysical(Repository& repo, const nlohmann::json& entry, const LayDownOptions& opt,
                                        Progress& progress);

}  // namespace stb
