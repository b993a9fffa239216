// The statements that back up and restore a CockroachDB database with its own BACKUP/RESTORE
// (the cluster writes straight to the object store), and the collection URIs they write to.
// Pure string building, so every statement is pinned by unit tests without a cluster.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cloud/locations.h"
#include "core/status.h"

namespace stb {

// Where the cluster writes its backups (a "collection"): the locations table's mapping
// (CockroachCollectionOf in cloud/locations), which knows each location's prefix and credentials.
using CrdbStorage = CockroachCollection;

// A statement and the same statement with every secret replaced by "redacted": the one to
// log, report or put in an error.
struct CrdbStatement {
  std::string sql, shown;
};

// The collection URI (with credentials), and its printable form.
StatusOr<CrdbStatement> CrdbCollectionUri(const CrdbStorage& st);

std::string SqlString(const std::string& s);  // 'it''s'
std::string SqlName(const std::string& s);    // "my""db"

struct CrdbBackupSpec {
  std::string database;
  CrdbStatement collection;  // from CrdbCollectionUri
  std::string as_of;         // AS OF SYSTEM TIME value, e.g. "2024-01-03 14:25:20.123456" or "-10s"
  bool incremental = false;  // BACKUP INTO LATEST IN
  bool revision_history = true;
  std::string passphrase;  // encryption_passphrase; never shown
};
CrdbStatement CrdbBackupSql(const CrdbBackupSpec& spec);

struct CrdbRestoreSpec {
  std::string database;      // the database inside the backup
  std::string subdir;        // the backup in the collection, e.g. "/2024/01/03-142530.12"
  CrdbStatement collection;  // from CrdbCollectionUri
  std::string as_of;         // "" = the backup's end time
  std::string new_db_name;   // "" = restore under its own name
  std::string passphrase;
};
CrdbStatement CrdbRestoreSql(const CrdbRestoreSpec& spec);
CrdbStatement CrdbShowBackupsSql(const CrdbStatement& collection);
// The layers of one chain (backup_type, start_time, end_time as text), read by ParseBackupLayers.
CrdbStatement CrdbShowLayersSql(const std::string& subdir, const CrdbStatement& collection,
                                const std::string& passphrase);

// Tables of a database, and one table's row count at a time (AS OF SYSTEM TIME, "" = now).
std::string CrdbListTablesSql(const std::string& database);
std::string CrdbCountSql(const std::string& database, const std::string& schema, const std::string& table,
                         const std::string& as_of);
// The restore lands under a temporary name; these swap it in and drop what it replaced.
std::string CrdbRenameDatabaseSql(const std::string& from, const std::string& to);
std::string CrdbDropDatabaseSql(const std::string& name, bool if_exists = false);

// COCKROACH_NATIVE_SCHEDULE: CockroachDB's own schedule of revision-history layers every
// `recurring` (DB_INCREMENTAL_INTERVAL) and a full backup daily, created once under `label`.
struct CrdbScheduleSpec {
  std::string label, database;
  CrdbStatement collection;
  std::string recurring;
  std::string passphrase;
};
CrdbStatement CrdbCreateScheduleSql(const CrdbScheduleSpec& spec);
// The schedules under a label (id, label, schedule_status, next_run, state, recurrence), read by
// ParseSchedules; the newest job they started (job_id, status, finished, error), ParseScheduleJob.
std::string CrdbShowScheduleSql(const std::string& label);
std::string CrdbScheduleLatestJobSql(const std::string& label);
// The database's zone configuration as SQL (raw_config_sql), read by ParseGcTtlSeconds.
std::string CrdbGcTtlSql(const std::string& database);

// True when SELECT version() names CockroachDB.
bool IsCockroachVersion(const std::string& version);

}  // namespace stb
