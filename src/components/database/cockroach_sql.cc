#include "components/database/cockroach_sql.h"

#include "core/encoding.h"
#include "core/redact.h"

namespace stb {

namespace {

std::string PathEncode(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    out += UriEncode(seg, false);
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  return out;
}

std::string Trim(const std::string& p) {
  size_t b = p.find_first_not_of('/'), e = p.find_last_not_of('/');
  return b == std::string::npos ? "" : p.substr(b, e - b + 1);
}

std::string Options(const std::string& passphrase, bool shown, const std::string& extra) {
  std::string opts = extra;
  if (!passphrase.empty()) {
    if (!opts.empty()) opts += ", ";
    opts += "encryption_passphrase = " + (shown ? std::string("'redacted'") : SqlString(passphrase));
  }
  return opts.empty() ? "" : " WITH " + opts;
}

}  // namespace

std::string SqlString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string SqlName(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

StatusOr<CrdbStatement> CrdbCollectionUri(const CrdbStorage& st) {
  std::string base;
  std::string path = Trim(st.path);
  if (st.kind == "uri") {
    if (st.uri.find("://") == std::string::npos) {
      return InvalidArgument("COCKROACH_BACKUP_URI '" + RedactUri(st.uri) + "' is not a URI (scheme://...)");
    }
    return CrdbStatement{st.uri, RedactUri(st.uri)};
  } else if (st.kind == "nodelocal") {
    base = "nodelocal://1/" + PathEncode(path);
  } else if (st.kind == "s3" || st.kind == "azure" || st.kind == "gcs") {
    const char* var = st.kind == "s3"      ? "BACKUP_S3_BUCKET"
                      : st.kind == "azure" ? "BACKUP_AZURE_CONTAINER"
                                           : "BACKUP_GCS_BUCKET";
    if (st.bucket.empty()) return InvalidArgument(std::string("the CockroachDB backup location needs ") + var);
    std::string scheme = st.kind == "s3" ? "s3://" : st.kind == "azure" ? "azure-blob://" : "gs://";
    base = scheme + UriEncode(st.bucket, false) + (path.empty() ? "" : "/" + PathEncode(path));
  } else {
    return InvalidArgument("COCKROACH_BACKUP_LOCATION '" + st.kind + "' is not one of nodelocal, s3, azure, gcs");
  }
  std::string query;
  for (const auto& [k, v] : st.params) {
    if (v.empty()) continue;
    query += (query.empty() ? "?" : "&") + k + "=" + UriEncode(v, false);
  }
  std::string uri = base + query;
  return CrdbStatement{uri, RedactUri(uri)};
}

CrdbStatement CrdbBackupSql(const CrdbBackupSpec& spec) {
  CrdbStatement out;
  for (bool shown : {false, true}) {
    const std::string& uri = shown ? spec.collection.shown : spec.collection.sql;
    std::string sql = "BACKUP DATABASE " + SqlName(spec.database) + " INTO " + (spec.incremental ? "LATEST IN " : "") +
                      SqlString(uri);
    if (!spec.as_of.empty()) sql += " AS OF SYSTEM TIME " + SqlString(spec.as_of);
    sql += Options(spec.passphrase, shown, spec.revision_history ? "revision_history" : "");
    (shown ? out.shown : out.sql) = sql;
  }
  return out;
}

CrdbStatement CrdbRestoreSql(const CrdbRestoreSpec& spec) {
  CrdbStatement out;
  for (bool shown : {false, true}) {
    const std::string& uri = shown ? spec.collection.shown : spec.collection.sql;
    std::string sql =
        "RESTORE DATABASE " + SqlName(spec.database) + " FROM " + SqlString(spec.subdir) + " IN " + SqlString(uri);
    if (!spec.as_of.empty()) sql += " AS OF SYSTEM TIME " + SqlString(spec.as_of);
    std::string extra = spec.new_db_name.empty() ? "" : "new_db_name = " + SqlString(spec.new_db_name);
    sql += Options(spec.passphrase, shown, extra);
    (shown ? out.shown : out.sql) = sql;
  }
  return out;
}

CrdbStatement CrdbShowBackupsSql(const CrdbStatement& collection) {
  return {"SHOW BACKUPS IN " + SqlString(collection.sql), "SHOW BACKUPS IN " + SqlString(collection.shown)};
}

CrdbStatement CrdbShowLayersSql(const std::string& subdir, const CrdbStatement& collection,
                                const std::string& passphrase) {
  CrdbStatement out;
  for (bool shown : {false, true}) {
    // Selected by column name: SHOW BACKUP's columns moved between versions.
    (shown ? out.shown : out.sql) =
        "SELECT DISTINCT backup_type, start_time::STRING, end_time::STRING FROM [SHOW BACKUP FROM " +
        SqlString(subdir) + " IN " + SqlString(shown ? collection.shown : collection.sql) +
        Options(passphrase, shown, "") + "] ORDER BY 3";
  }
  return out;
}

std::string CrdbListTablesSql(const std::string& database) {
  return "SELECT table_schema, table_name FROM " + SqlName(database) +
         ".information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', "
         "'information_schema', 'crdb_internal', 'pg_extension') ORDER BY 1, 2";
}

std::string CrdbCountSql(const std::string& database, const std::string& schema, const std::string& table,
                         const std::string& as_of) {
  return "SELECT count(*) FROM " + SqlName(database) + "." + SqlName(schema) + "." + SqlName(table) +
         (as_of.empty() ? "" : " AS OF SYSTEM TIME " + SqlString(as_of));
}

std::string CrdbRenameDatabaseSql(const std::string& from, const std::string& to) {
  return "ALTER DATABASE " + SqlName(from) + " RENAME TO " + SqlName(to);
}

std::string CrdbDropDatabaseSql(const std::string& name, bool if_exists) {
  return std::string("DROP DATABASE ") + (if_exists ? "IF EXISTS " : "") + SqlName(name) + " CASCADE";
}

CrdbStatement CrdbCreateScheduleSql(const CrdbScheduleSpec& spec) {
  CrdbStatement out;
  for (bool shown : {false, true}) {
    // IF NOT EXISTS on the label: a second run answers no rows instead of a second schedule.
    // One database, as our own BACKUPs: a cluster layer on a database chain would not apply.
    std::string sql = "CREATE SCHEDULE IF NOT EXISTS " + SqlString(spec.label) + " FOR BACKUP DATABASE " +
                      SqlName(spec.database) + " INTO " +
                      SqlString(shown ? spec.collection.shown : spec.collection.sql) +
                      Options(spec.passphrase, shown, "revision_history") + " RECURRING " + SqlString(spec.recurring) +
                      " FULL BACKUP '@daily' WITH SCHEDULE OPTIONS first_run = 'now'";
    (shown ? out.shown : out.sql) = sql;
  }
  return out;
}

std::string CrdbShowScheduleSql(const std::string& label) {
  return "SELECT id::STRING, label, schedule_status, next_run::STRING, state, recurrence FROM [SHOW SCHEDULES] "
         "WHERE label = " +
         SqlString(label) + " ORDER BY created";
}

std::string CrdbScheduleLatestJobSql(const std::string& label) {
  return "SELECT job_id::STRING, status, finished::STRING, error FROM [SHOW JOBS FOR SCHEDULES SELECT id FROM "
         "[SHOW SCHEDULES] WHERE label = " +
         SqlString(label) + "] ORDER BY created DESC LIMIT 1";
}

std::string CrdbGcTtlSql(const std::string& database) {
  return "SELECT raw_config_sql FROM [SHOW ZONE CONFIGURATION FROM DATABASE " + SqlName(database) + "]";
}

bool IsCockroachVersion(const std::string& version) { return version.find("CockroachDB") != std::string::npos; }

}  // namespace stb
