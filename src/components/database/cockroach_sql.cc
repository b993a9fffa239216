#include "components/database/cockroach_sql.h"

#include <array>
#include <cctype>

namespace stb {

namespace {

// Query parameters whose values are secrets (CockroachDB's cloud storage parameters).
constexpr std::array<std::string_view, 7> kSecretParams = {"AWS_SECRET_ACCESS_KEY",
                                                           "AWS_SESSION_TOKEN",
                                                           "AZURE_ACCOUNT_KEY",
                                                           "AZURE_CLIENT_SECRET",
                                                           "CREDENTIALS",
                                                           "BEARER_TOKEN",
                                                           "sig"};

std::string PercentEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string PathEncode(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string seg = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    out += PercentEncode(seg);
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

std::string RedactUri(const std::string& uri) {
  std::string out = uri;
  // user:password@host
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t host_start = scheme + 3;
    size_t path = out.find_first_of("/?", host_start);
    size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
    if (at != std::string::npos && at > host_start) {
      size_t colon = out.find(':', host_start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "redacted");
    }
  }
  size_t q = out.find('?');
  if (q == std::string::npos) return out;
  std::string result = out.substr(0, q + 1), query = out.substr(q + 1);
  size_t start = 0;
  bool first = true;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string kv = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    bool secret = false;
    for (auto s : kSecretParams) secret |= key == s;
    if (!first) result += '&';
    result += secret && eq != std::string::npos ? key + "=redacted" : kv;
    first = false;
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return result;
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
    base = scheme + PercentEncode(st.bucket) + (path.empty() ? "" : "/" + PathEncode(path));
  } else {
    return InvalidArgument("COCKROACH_BACKUP_LOCATION '" + st.kind + "' is not one of nodelocal, s3, azure, gcs");
  }
  std::string query;
  for (const auto& [k, v] : st.params) {
    if (v.empty()) continue;
    query += (query.empty() ? "?" : "&") + k + "=" + PercentEncode(v);
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

bool IsCockroachVersion(const std::string& version) { return version.find("CockroachDB") != std::string::npos; }

}  // namespace stb
