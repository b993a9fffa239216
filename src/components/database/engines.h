// The two engines behind the database component (internal to it): PostgreSQL (pg_dump streamed
// into our repository) and CockroachDB (the cluster's own BACKUP into a collection).
#pragma once

#include "components/database/database_component.h"

namespace stb {

// The path of a PostgreSQL client tool (pg_dump, pg_restore) at least as new as server_major.
StatusOr<std::string> FindPgTool(const std::string& tool, int server_major, const std::string& bin_dir);

DatabaseBackupResult BackupPostgres(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt, PgConnection& conn,
                                    Progress& progress);
nlohmann::json RestorePostgres(Repository& repo, const nlohmann::json& entry, const DatabaseOptions& opt,
                               const std::string& target_db, Progress& progress);

DatabaseBackupResult BackupCockroach(const DatabaseOptions& opt, PgConnection& conn, const std::string& type);
nlohmann::json RestoreCockroach(const nlohmann::json& entry, const DatabaseOptions& opt, const std::string& target_db);

}  // namespace stb
