#include "config/settings.h"

#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <thread>

#include "core/parse.h"

namespace stb {

std::vector<std::string> SplitList(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int Settings::EffectiveWorkers() const {
  if (workers > 0) return workers;
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 2;
}

namespace {

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

StatusOr<int> EnvInt(const std::string& what, const std::string& v, int lo, int hi) {
  auto n = ParseInt(v, lo, hi, what);
  if (!n.ok()) return n.status();
  return static_cast<int>(*n);
}

// yes/no, true/false, 1/0 (any case); anything else is an error rather than a silent "no".
StatusOr<bool> ParseBool(const std::string& what, std::string v) {
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "yes" || v == "true" || v == "1" || v == "on") return true;
  if (v == "no" || v == "false" || v == "0" || v == "off") return false;
  return InvalidArgument(what + " must be yes or no, not '" + v + "'");
}

std::vector<std::string> StringArray(const toml::node_view<const toml::node>& node) {
  std::vector<std::string> out;
  if (auto* arr = node.as_array()) {
    for (auto& e : *arr) {
      if (auto s = e.value<std::string>()) out.push_back(*s);
    }
  } else if (auto s = node.value<std::string>()) {
    out.push_back(*s);
  }
  return out;
}

// An integer setting: absent leaves dst alone; another type or a value outside [lo, hi] is an
// error (a 64-bit TOML integer is never silently cut to an int).
Status TomlInt(const toml::table& t, const char* sec, const char* key, int lo, int hi, int& dst,
               const std::string& path) {
  auto node = t[sec][key];
  if (!node) return Status::Ok();
  auto v = node.value_exact<int64_t>();
  if (!v || *v < lo || *v > hi) {
    return InvalidArgument("config file " + path + ": " + sec + "." + key + " must be a whole number from " +
                           std::to_string(lo) + " to " + std::to_string(hi));
  }
  dst = static_cast<int>(*v);
  return Status::Ok();
}

Status ApplyTable(Settings& s, const toml::table& t, const std::string& path);

Status ApplyFile(Settings& s, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("config file " + path + ": " + std::string(e.description()) + " at line " +
                           std::to_string(e.source().begin.line));
  }
  return ApplyTable(s, t, path);
}

Status ApplyTable(Settings& s, const toml::table& t, const std::string& path) {
  auto str = [&](const char* sec, const char* key, std::string& dst) {
    if (auto v = t[sec][key].value<std::string>()) dst = *v;
  };
  str("repository", "root", s.backup_root);
  str("repository", "encryption_key", s.key_file);
  str("repository", "state_dir", s.state_dir);
  str("repository", "log_dir", s.log_dir);
  RETURN_IF_ERROR(TomlInt(t, "repository", "compression", 0, 19, s.compression, path));
  RETURN_IF_ERROR(TomlInt(t, "repository", "workers", 0, 256, s.workers, path));
  str("player_saves", "dir", s.player_saves_dir);
  if (t["configuration"]["dirs"]) s.config_dirs = StringArray(t["configuration"]["dirs"]);
  str("application", "dir", s.app_dir);
  if (t["application"]["exclude"]) s.app_exclude = StringArray(t["application"]["exclude"]);
  str("database", "host", s.db_host);
  RETURN_IF_ERROR(TomlInt(t, "database", "port", 1, 65535, s.db_port, path));
  str("database", "name", s.db_name);
  str("database", "user", s.db_user);
  str("database", "password", s.db_password);
  str("database", "sslmode", s.db_sslmode);
  str("database", "engine", s.db_engine);
  str("database", "pg_bin_dir", s.db_pg_bin_dir);
  RETURN_IF_ERROR(TomlInt(t, "database", "restore_jobs", 1, 64, s.db_restore_jobs, path));
  if (auto v = t["database"]["checksums"].value<bool>()) s.db_checksums = *v;
  str("database", "backup_method", s.db_backup_method);
  str("database", "wal_source", s.db_wal_source);
  RETURN_IF_ERROR(TomlInt(t, "database", "wal_wait_seconds", 1, 86400, s.db_wal_wait_seconds, path));
  RETURN_IF_ERROR(TomlInt(t, "database", "max_rate_kb", 0, 1048576, s.db_max_rate_kb, path));
  str("database", "pg_os_user", s.db_pg_os_user);
  str("database", "start_command", s.db_start_command);
  str("database", "verify", s.db_verify);
  RETURN_IF_ERROR(TomlInt(t, "database", "recovery_timeout", 0, 30 * 86400, s.db_recovery_timeout, path));
  str("schedule", "full", s.schedule_full);
  str("schedule", "incremental", s.schedule_incremental);
  str("schedule", "overlap", s.schedule_overlap);
  str("database", "incremental_interval", s.db_incremental_interval);
  std::string streams;
  str("schedule", "streams", streams);
  if (!streams.empty()) s.streams = SplitList(streams, ',');
  RETURN_IF_ERROR(TomlInt(t, "schedule", "run_timeout", 0, 7 * 86400, s.run_timeout_seconds, path));
  str("retention", "full", s.retention_full);
  str("retention", "incremental", s.retention_incremental);
  str("alerts", "webhook", s.alert_webhook);
  if (auto v = t["alerts"]["on_success"].value<bool>()) s.alert_on_success = *v;
  RETURN_IF_ERROR(TomlInt(t, "alerts", "rpo_seconds", 1, 86400 * 30, s.rpo_seconds, path));
  str("cockroach", "backup_uri", s.cockroach_backup_uri);
  str("cockroach", "backup_location", s.cockroach_backup_location);
  str("s3", "bucket", s.s3_bucket);
  str("s3", "region", s.s3_region);
  str("s3", "endpoint", s.s3_endpoint);
  str("azure", "container", s.azure_container);
  str("azure", "account", s.azure_account);
  str("gcs", "bucket", s.gcs_bucket);
  str("gcs", "project", s.gcs_project);
  str("s3", "prefix", s.s3_prefix);
  str("s3", "url_style", s.s3_url_style);
  str("azure", "prefix", s.azure_prefix);
  str("gcs", "prefix", s.gcs_prefix);
  str("redis", "host", s.redis_host);
  str("redis", "username", s.redis_username);
  str("redis", "password", s.redis_password);
  str("redis", "data_dir", s.redis_data_dir);
  str("redis", "restart_command", s.redis_restart_command);
  str("redis", "conf", s.redis_conf);
  if (auto v = t["redis"]["digest"].value<bool>()) s.redis_digest = *v;
  if (auto v = t["redis"]["tls"].value<bool>()) s.redis_tls = *v;
  str("redis", "tls_ca_cert", s.redis_tls_ca_cert);
  str("redis", "tls_cert", s.redis_tls_cert);
  str("redis", "tls_key", s.redis_tls_key);
  str("redis", "tls_server_name", s.redis_tls_server_name);
  RETURN_IF_ERROR(TomlInt(t, "redis", "live_restore_port", 0, 65535, s.redis_live_restore_port, path));
  RETURN_IF_ERROR(TomlInt(t, "redis", "port", 1, 65535, s.redis_port, path));
  str("wal", "push_offsite", s.wal_push_offsite);
  RETURN_IF_ERROR(TomlInt(t, "wal", "push_offsite_timeout", 0, 3600, s.wal_push_offsite_timeout, path));
  RETURN_IF_ERROR(TomlInt(t, "wal", "fetch_retry_seconds", 0, 86400, s.wal_fetch_retry_seconds, path));
  if (auto v = t["wal"]["push_async"].value<bool>()) s.wal_push_async = *v;
  RETURN_IF_ERROR(TomlInt(t, "wal", "push_jobs", 1, 16, s.wal_push_jobs, path));
  RETURN_IF_ERROR(TomlInt(t, "wal", "fetch_prefetch", 1, 256, s.wal_fetch_prefetch, path));
  str("wal", "slot", s.wal_slot);
  str("wal", "receive_application_name", s.wal_receive_application_name);
  RETURN_IF_ERROR(TomlInt(t, "wal", "receive_flush_ms", 10, 60000, s.wal_receive_flush_ms, path));
  RETURN_IF_ERROR(TomlInt(t, "wal", "status_interval", 1, 3600, s.wal_status_interval, path));
  RETURN_IF_ERROR(TomlInt(t, "wal", "offsite_interval_ms", 100, 600000, s.wal_offsite_interval_ms, path));
  RETURN_IF_ERROR(TomlInt(t, "wal", "behind_mb", 1, 1048576, s.wal_behind_mb, path));
  return Status::Ok();
}

// redis-stream's settings.
Status ApplyRedisStreamEnv(Settings& s) {
  if (auto v = Env("REDIS_STREAM_SOURCE")) s.redis_stream_source = v;
  if (auto v = Env("REDIS_STREAM_INTERVAL")) {
    ASSIGN_OR_RETURN(s.redis_stream_interval, EnvInt("REDIS_STREAM_INTERVAL", v, 1, 3600));
  }
  if (auto v = Env("REDIS_STREAM_SEGMENT_MB")) {
    // A cut held back by an open MULTI may reach 4x this; stored objects stay <= 128 MiB.
    ASSIGN_OR_RETURN(s.redis_stream_segment_mb, EnvInt("REDIS_STREAM_SEGMENT_MB", v, 1, 32));
  }
  return Status::Ok();
}

// wal-receive's settings.
Status ApplyWalReceiveEnv(Settings& s) {
  if (auto v = Env("WAL_SLOT")) s.wal_slot = v;
  if (auto v = Env("WAL_RECEIVE_APPLICATION_NAME")) s.wal_receive_application_name = v;
  if (auto v = Env("WAL_RECEIVE_FLUSH_MS")) {
    ASSIGN_OR_RETURN(s.wal_receive_flush_ms, EnvInt("WAL_RECEIVE_FLUSH_MS", v, 10, 60000));
  }
  if (auto v = Env("WAL_RECEIVE_SYNC")) {
    ASSIGN_OR_RETURN(s.wal_receive_sync, ParseBool("WAL_RECEIVE_SYNC", v));
  }
  if (auto v = Env("WAL_STATUS_INTERVAL")) {
    ASSIGN_OR_RETURN(s.wal_status_interval, EnvInt("WAL_STATUS_INTERVAL", v, 1, 3600));
  }
  if (auto v = Env("WAL_OFFSITE_INTERVAL_MS")) {
    ASSIGN_OR_RETURN(s.wal_offsite_interval_ms, EnvInt("WAL_OFFSITE_INTERVAL_MS", v, 100, 600000));
  }
  if (auto v = Env("WAL_BEHIND_MB")) {
    ASSIGN_OR_RETURN(s.wal_behind_mb, EnvInt("WAL_BEHIND_MB", v, 1, 1048576));
  }
  auto valid = [](const std::string& n) {
    if (n.empty() || n.size() > 63) return false;
    for (char c : n) {
      if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) {
        return false;
      }
    }
    return true;
  };
  if (!valid(s.wal_slot)) {
    return InvalidArgument("WAL_SLOT '" + s.wal_slot + "' must be 1 to 63 lower-case letters, digits or '_'");
  }
  return Status::Ok();
}

Status ValidateDatabase(Settings& s) {
  if (s.db_engine == "postgres") s.db_engine = "postgresql";
  if (s.db_engine == "cockroach") s.db_engine = "cockroachdb";
  if (!s.db_engine.empty() && s.db_engine != "postgresql" && s.db_engine != "cockroachdb") {
    return InvalidArgument("DB_ENGINE must be postgresql or cockroachdb (or unset to detect it), not '" + s.db_engine +
                           "'");
  }
  if (!s.db_incremental_interval.empty() && s.db_engine == "postgresql") {
    return InvalidArgument(
        "DB_INCREMENTAL_INTERVAL is for CockroachDB; a PostgreSQL database gets continuous protection from "
        "BACKUP_STREAMS=wal-receive");
  }
  static const char* kModes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
  if (!s.db_sslmode.empty() && std::find(std::begin(kModes), std::end(kModes), s.db_sslmode) == std::end(kModes)) {
    return InvalidArgument("DB_SSLMODE must be one of disable, allow, prefer, require, verify-ca, verify-full, not '" +
                           s.db_sslmode + "'");
  }
  if (!s.db_host.empty() && s.db_name.empty()) return InvalidArgument("DB_HOST is set but DB_NAME is not");
  return Status::Ok();
}

}  // namespace

Status ApplyConfigText(Settings& s, std::string_view text, const std::string& origin) {
  toml::table t;
  try {
    t = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return InvalidArgument("config file " + origin + ": " + std::string(e.description()) + " at line " +
                           std::to_string(e.source().begin.line));
  }
  return ApplyTable(s, t, origin);
}

StatusOr<Settings> LoadSettings(const std::string& config_flag) {
  Settings s;
  std::string path = config_flag;
  bool explicit_file = !path.empty();
  if (!explicit_file && Env("BACKUP_CONFIG")) {
    path = Env("BACKUP_CONFIG");
    explicit_file = true;
  }
  if (!explicit_file) path = "/etc/spacetime/backup.toml";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    RETURN_IF_ERROR(ApplyFile(s, path));
    s.config_file = path;
  } else if (explicit_file) {
    return NotFound("config file " + path + " (--config / BACKUP_CONFIG) does not exist");
  }
  if (auto v = Env("BACKUP_ROOT")) s.backup_root = v;
  if (auto v = Env("BACKUP_STATE_DIR")) s.state_dir = v;
  if (auto v = Env("BACKUP_LOG_DIR")) s.log_dir = v;
  if (auto v = Env("BACKUP_ENCRYPTION_KEY")) s.key_file = v;
  if (auto v = Env("BACKUP_PASSPHRASE")) s.passphrase = v;
  if (auto v = Env("BACKUP_COMPRESSION")) {
    ASSIGN_OR_RETURN(s.compression, EnvInt("BACKUP_COMPRESSION", v, 0, 19));
  }
  if (auto v = Env("BACKUP_WORKERS")) {
    ASSIGN_OR_RETURN(s.workers, EnvInt("BACKUP_WORKERS", v, 1, 256));
  }
  if (auto v = Env("PLAYER_SAVES_DIR")) s.player_saves_dir = v;
  if (auto v = Env("CONFIG_DIRS")) s.config_dirs = SplitList(v, ':');
  if (auto v = Env("APP_DIR")) s.app_dir = v;
  if (const char* v = std::getenv("APP_EXCLUDE")) s.app_exclude = SplitList(v, ':');  // set but empty: exclude nothing
  if (auto v = Env("DB_HOST")) s.db_host = v;
  if (auto v = Env("DB_PORT")) {
    ASSIGN_OR_RETURN(s.db_port, EnvInt("DB_PORT", v, 1, 65535));
  }
  if (auto v = Env("DB_NAME")) s.db_name = v;
  if (auto v = Env("DB_USER")) s.db_user = v;
  if (auto v = Env("DB_PASSWORD")) s.db_password = v;
  if (auto v = Env("DB_SSLMODE")) s.db_sslmode = v;
  if (auto v = Env("DB_ENGINE")) s.db_engine = v;
  if (auto v = Env("DB_PG_BIN_DIR")) s.db_pg_bin_dir = v;
  if (auto v = Env("DB_RESTORE_JOBS")) {
    ASSIGN_OR_RETURN(s.db_restore_jobs, EnvInt("DB_RESTORE_JOBS", v, 1, 64));
  }
  if (auto v = Env("DB_CHECKSUMS")) {
    ASSIGN_OR_RETURN(s.db_checksums, ParseBool("DB_CHECKSUMS", v));
  }
  if (auto v = Env("DB_BACKUP_METHOD")) s.db_backup_method = v;
  if (auto v = Env("DB_WAL_SOURCE")) s.db_wal_source = v;
  if (auto v = Env("DB_WAL_WAIT_SECONDS")) {
    ASSIGN_OR_RETURN(s.db_wal_wait_seconds, EnvInt("DB_WAL_WAIT_SECONDS", v, 1, 86400));
  }
  if (auto v = Env("DB_MAX_RATE_KB")) {
    ASSIGN_OR_RETURN(s.db_max_rate_kb, EnvInt("DB_MAX_RATE_KB", v, 0, 1048576));
  }
  if (s.db_backup_method != "auto" && s.db_backup_method != "physical" && s.db_backup_method != "logical") {
    return InvalidArgument("DB_BACKUP_METHOD must be auto, physical or logical, not '" + s.db_backup_method + "'");
  }
  if (s.db_wal_source != "auto" && s.db_wal_source != "archive" && s.db_wal_source != "included") {
    return InvalidArgument("DB_WAL_SOURCE must be auto, archive or included, not '" + s.db_wal_source + "'");
  }
  if (auto v = Env("DB_PG_OS_USER")) s.db_pg_os_user = v;
  if (auto v = Env("DB_START_COMMAND")) s.db_start_command = v;
  if (auto v = Env("DB_VERIFY")) s.db_verify = v;
  if (s.db_verify != "amcheck" && s.db_verify != "full" && s.db_verify != "none") {
    return InvalidArgument("DB_VERIFY must be amcheck, full or none, not '" + s.db_verify + "'");
  }
  if (auto v = Env("DB_RECOVERY_TIMEOUT")) {
    ASSIGN_OR_RETURN(s.db_recovery_timeout, EnvInt("DB_RECOVERY_TIMEOUT", v, 0, 30 * 86400));
  }
  if (const char* v = std::getenv("BACKUP_SCHEDULE_FULL")) s.schedule_full = v;
  if (const char* v = std::getenv("BACKUP_SCHEDULE_INCREMENTAL")) s.schedule_incremental = v;  // "" = none
  if (auto v = Env("BACKUP_SCHEDULE_OVERLAP")) s.schedule_overlap = v;
  if (const char* v = std::getenv("DB_INCREMENTAL_INTERVAL")) s.db_incremental_interval = v;  // "" = none
  if (auto v = Env("BACKUP_RUN_TIMEOUT")) {
    ASSIGN_OR_RETURN(s.run_timeout_seconds, EnvInt("BACKUP_RUN_TIMEOUT", v, 0, 7 * 86400));
  }
  if (const char* v = std::getenv("BACKUP_STREAMS")) s.streams = SplitList(v, ',');
  for (const auto& name : s.streams) {
    if (name != "wal-receive" && name != "redis-stream") {
      return InvalidArgument("BACKUP_STREAMS names '" + name +
                             "': the streams `schedule` can run are wal-receive and redis-stream");
    }
  }
  if (s.schedule_overlap != "skip" && s.schedule_overlap != "wait") {
    return InvalidArgument("BACKUP_SCHEDULE_OVERLAP must be skip or wait, not '" + s.schedule_overlap + "'");
  }
  if (const char* v = std::getenv("BACKUP_RETENTION_FULL")) s.retention_full = v;
  if (const char* v = std::getenv("BACKUP_RETENTION_INCREMENTAL")) s.retention_incremental = v;
  if (auto v = Env("BACKUP_ALERT_WEBHOOK")) s.alert_webhook = v;
  if (auto v = Env("BACKUP_ALERT_ON_SUCCESS")) {
    ASSIGN_OR_RETURN(s.alert_on_success, ParseBool("BACKUP_ALERT_ON_SUCCESS", v));
  }
  if (auto v = Env("BACKUP_ALERT_TIMEOUT")) {
    ASSIGN_OR_RETURN(s.alert_timeout_seconds, EnvInt("BACKUP_ALERT_TIMEOUT", v, 1, 300));
  }
  if (auto v = Env("BACKUP_RPO_SECONDS")) {
    ASSIGN_OR_RETURN(s.rpo_seconds, EnvInt("BACKUP_RPO_SECONDS", v, 1, 86400 * 30));
  }
  if (auto v = Env("COCKROACH_BACKUP_URI")) s.cockroach_backup_uri = v;
  if (auto v = Env("COCKROACH_BACKUP_LOCATION")) s.cockroach_backup_location = v;
  if (auto v = Env("BACKUP_S3_BUCKET")) s.s3_bucket = v;
  if (auto v = Env("BACKUP_S3_REGION")) s.s3_region = v;
  if (auto v = Env("BACKUP_S3_ENDPOINT")) s.s3_endpoint = v;
  if (auto v = Env("AWS_ACCESS_KEY_ID")) s.aws_access_key_id = v;
  if (auto v = Env("AWS_SECRET_ACCESS_KEY")) s.aws_secret_access_key = v;
  if (auto v = Env("AWS_SESSION_TOKEN")) s.aws_session_token = v;
  if (auto v = Env("BACKUP_AZURE_CONTAINER")) s.azure_container = v;
  if (auto v = Env("BACKUP_AZURE_ACCOUNT")) s.azure_account = v;
  if (auto v = Env("AZURE_STORAGE_CONNECTION_STRING")) s.azure_connection_string = v;
  if (auto v = Env("BACKUP_GCS_BUCKET")) s.gcs_bucket = v;
  if (auto v = Env("BACKUP_GCS_PROJECT")) s.gcs_project = v;
  if (auto v = Env("GOOGLE_APPLICATION_CREDENTIALS")) s.google_credentials = v;
  if (const char* v = std::getenv("BACKUP_S3_PREFIX")) s.s3_prefix = v;  // "" = the bucket's root
  if (const char* v = std::getenv("BACKUP_AZURE_PREFIX")) s.azure_prefix = v;
  if (const char* v = std::getenv("BACKUP_GCS_PREFIX")) s.gcs_prefix = v;
  if (auto v = Env("BACKUP_S3_URL_STYLE")) s.s3_url_style = v;
  if (s.s3_url_style != "auto" && s.s3_url_style != "path" && s.s3_url_style != "virtual") {
    return InvalidArgument("BACKUP_S3_URL_STYLE must be auto, path or virtual, not '" + s.s3_url_style + "'");
  }
  if (auto v = Env("AZURE_STORAGE_KEY")) s.azure_key = v;
  if (auto v = Env("AZURE_STORAGE_SAS_TOKEN")) s.azure_sas_token = v;
  if (auto v = Env("STORAGE_EMULATOR_HOST")) s.storage_emulator_host = v;
  if (auto v = Env("AWS_PARALLEL_JOBS")) {
    ASSIGN_OR_RETURN(s.aws_parallel_jobs, EnvInt("AWS_PARALLEL_JOBS", v, 1, 64));
  }
  if (auto v = Env("AZURE_PARALLEL_JOBS")) {
    ASSIGN_OR_RETURN(s.azure_parallel_jobs, EnvInt("AZURE_PARALLEL_JOBS", v, 1, 64));
  }
  if (auto v = Env("GCS_PARALLEL_JOBS")) {
    ASSIGN_OR_RETURN(s.gcs_parallel_jobs, EnvInt("GCS_PARALLEL_JOBS", v, 1, 64));
  }
  if (auto v = Env("BACKUP_CA_BUNDLE")) s.ca_bundle = v;
  for (std::string* prefix : {&s.s3_prefix, &s.azure_prefix, &s.gcs_prefix}) {
    if (!prefix->empty() && prefix->back() != '/') *prefix += '/';
  }
  if (auto v = Env("REDIS_HOST")) s.redis_host = v;
  if (auto v = Env("REDIS_PORT")) {
    ASSIGN_OR_RETURN(s.redis_port, EnvInt("REDIS_PORT", v, 1, 65535));
  }
  if (auto v = Env("REDIS_USERNAME")) s.redis_username = v;
  if (auto v = Env("REDIS_PASSWORD")) s.redis_password = v;
  if (auto v = Env("REDIS_DATA_DIR")) s.redis_data_dir = v;
  if (auto v = Env("REDIS_RESTART_COMMAND")) s.redis_restart_command = v;
  if (auto v = Env("REDIS_CONF")) s.redis_conf = v;
  if (auto v = Env("REDIS_TLS")) {
    ASSIGN_OR_RETURN(s.redis_tls, ParseBool("REDIS_TLS", v));
  }
  if (auto v = Env("REDIS_TLS_CA_CERT")) s.redis_tls_ca_cert = v;
  if (auto v = Env("REDIS_TLS_CERT")) s.redis_tls_cert = v;
  if (auto v = Env("REDIS_TLS_KEY")) s.redis_tls_key = v;
  if (auto v = Env("REDIS_TLS_SERVER_NAME")) s.redis_tls_server_name = v;
  if (auto v = Env("REDIS_LIVE_RESTORE_PORT")) {
    ASSIGN_OR_RETURN(s.redis_live_restore_port, EnvInt("REDIS_LIVE_RESTORE_PORT", v, 0, 65535));
  }
  if (auto v = Env("REDIS_DIGEST")) {
    ASSIGN_OR_RETURN(s.redis_digest, ParseBool("REDIS_DIGEST", v));
  }
  if (auto v = Env("WAL_PUSH_OFFSITE")) s.wal_push_offsite = v;
  if (auto v = Env("WAL_PUSH_OFFSITE_TIMEOUT")) {
    ASSIGN_OR_RETURN(s.wal_push_offsite_timeout, EnvInt("WAL_PUSH_OFFSITE_TIMEOUT", v, 0, 3600));
  }
  if (auto v = Env("WAL_FETCH_RETRY_SECONDS")) {
    ASSIGN_OR_RETURN(s.wal_fetch_retry_seconds, EnvInt("WAL_FETCH_RETRY_SECONDS", v, 0, 86400));
  }
  RETURN_IF_ERROR(ApplyWalReceiveEnv(s));
  RETURN_IF_ERROR(ApplyRedisStreamEnv(s));
  if (auto v = Env("WAL_FETCH_PREFETCH")) {
    ASSIGN_OR_RETURN(s.wal_fetch_prefetch, EnvInt("WAL_FETCH_PREFETCH", v, 1, 256));
  }
  if (auto v = Env("WAL_PUSH_ASYNC")) {
    ASSIGN_OR_RETURN(s.wal_push_async, ParseBool("WAL_PUSH_ASYNC", v));
  }
  if (auto v = Env("WAL_PUSH_JOBS")) {
    ASSIGN_OR_RETURN(s.wal_push_jobs, EnvInt("WAL_PUSH_JOBS", v, 1, 16));
  }
  if (!s.wal_push_offsite.empty() && s.wal_push_offsite != "s3" && s.wal_push_offsite != "azure" &&
      s.wal_push_offsite != "gcs") {
    return InvalidArgument("WAL_PUSH_OFFSITE must be s3, azure or gcs, not '" + s.wal_push_offsite + "'");
  }
  RETURN_IF_ERROR(ValidateDatabase(s));
  return s;
}

}  // namespace stb
