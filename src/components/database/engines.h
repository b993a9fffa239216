// The two engines behind the database component (internal to it): PostgreSQL (pg_dump streamed
// into our repository) and CockroachDB (the cluster's own BACKUP into a collection).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "components/database/database_component.h"

namespace stb {

// A day's changes to a database are small and spread over the dump (or the relation files); a
// quarter of the file chunks' average size keeps the data stored again per change small
// (measured: doc/design.md).
constexpr ChunkerParams kDumpChunks{64 << 10, 256 << 10, 2 << 20};

// The path of a PostgreSQL client tool (pg_dump, pg_restore) at least as new as server_major.
StatusOr<std::string> FindPgTool(const std::string& tool, int server_major, const std::string& bin_dir);

DatabaseBackupResult BackupPostgres(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt, PgConnection& conn,
                                    Progress& progress);
nlohmann::json RestorePostgres(Repository& repo, const nlohmann::json& entry, const DatabaseOptions& opt,
                               const std::string& target_db, Progress& progress);

// pg_physical_method.cc. Why a physical base backup cannot run (the role, wal_level, WAL
// senders, pg_hba), "" when it can.
std::string PhysicalBackupBlocker(PgConnection& sql, const DbEndpoint& ep);
// A row of pg_settings ("" when the role may not see it).
StatusOr<std::string> OneSetting(PgConnection& sql, const std::string& name);
// DB_WAL_SOURCE auto: "archive" when archive_command runs wal-push or wal-receive streams from
// slot (it is active), else "included" (and a warning); a configured source is returned as is.
std::string ChooseWalSource(PgConnection& sql, const std::string& configured, const std::string& slot,
                            nlohmann::json& warnings);
DatabaseBackupResult BackupPostgresPhysical(Repository& repo, BlobSaver& saver, const DatabaseOptions& opt,
                                            PgConnection& sql, Progress& progress);

DatabaseBackupResult BackupCockroach(const DatabaseOptions& opt, PgConnection& conn, const std::string& type);
nlohmann::json RunCockroachIncremental(const DatabaseOptions& opt, PgConnection& conn);
nlohmann::json RestoreCockroach(const nlohmann::json& entry, const DatabaseOptions& opt, const std::string& target_db);
// Every secret a CockroachDB statement or error may carry (password, passphrase, URI keys).
std::vector<std::string> CockroachSecrets(const DatabaseOptions& opt);

// cockroach_schedule.cc (COCKROACH_NATIVE_SCHEDULE). The schedule's label, one per database.
std::string CockroachScheduleLabel(const DatabaseOptions& opt);
// CREATE SCHEDULE IF NOT EXISTS, then the state below with "created" (false: it existed).
nlohmann::json EnsureCockroachSchedule(const DatabaseOptions& opt, PgConnection& conn);
// SHOW SCHEDULES and the newest job: "success" false with "error" when there is no schedule or
// its newest job failed. Errors are not redacted here: callers redact with CockroachSecrets.
nlohmann::json CockroachScheduleState(const DatabaseOptions& opt, PgConnection& conn);
// A warning (also logged) when the database's gc.ttlseconds is under needed_seconds or cannot be
// read; needed_for says what needs the window ("BACKUP_RETENTION_INCREMENTAL", ...).
std::optional<std::string> CockroachGcTtlWarning(PgConnection& conn, const DatabaseOptions& opt, double needed_seconds,
                                                 const std::string& needed_for);

}  // namespace stb
