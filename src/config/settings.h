// Settings of every command: defaults, overridden by the TOML config file, by the environment
// variables of the operations guide, then by flags. Each field names its variable in doc/configuration.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace stb {

struct Settings {
  std::string config_file;                                               // BACKUP_CONFIG / --config
  std::string backup_root = "/var/backups/spacetime";                    // BACKUP_ROOT
  std::string state_dir = "/var/lib/spacetime-backup";                   // BACKUP_STATE_DIR
  std::string log_dir = "/var/log/spacetime";                            // BACKUP_LOG_DIR
  std::string key_file;                                                  // BACKUP_ENCRYPTION_KEY
  std::string passphrase;                                                // BACKUP_PASSPHRASE (never printed)
  int compression = 1;                                                   // BACKUP_COMPRESSION: 0 = off, 1..19
  int workers = 0;                                                       // BACKUP_WORKERS: 0 = number of cores
  std::string player_saves_dir;                                          // PLAYER_SAVES_DIR
  std::vector<std::string> config_dirs;                                  // CONFIG_DIRS (':'-separated)
  std::string app_dir;                                                   // APP_DIR
  std::vector<std::string> app_exclude{"*.pyc", "__pycache__", ".git"};  // APP_EXCLUDE (':'-separated)
  std::string db_host;                                                   // DB_HOST (database component)
  int db_port = 0;                                                       // DB_PORT: 0 = libpq's default (5432)
  std::string db_name;                                                   // DB_NAME
  std::string db_user;                                                   // DB_USER
  std::string db_password;    // DB_PASSWORD (never printed); "" = PGPASSWORD or ~/.pgpass
  std::string db_sslmode;     // DB_SSLMODE: disable .. verify-full
  std::string db_engine;      // DB_ENGINE: "" = detect, postgresql, cockroachdb
  std::string db_pg_bin_dir;  // DB_PG_BIN_DIR: pg_dump/pg_restore location
  int db_restore_jobs = 1;    // DB_RESTORE_JOBS: pg_restore --jobs (1 = streamed)
  bool db_checksums = true;   // DB_CHECKSUMS: per-table content checksums
  // PostgreSQL physical base backups (issue 16): the method, where the backup's WAL comes from,
  // how long to wait for it to reach the repository, and the server's send rate limit.
  std::string db_backup_method = "auto";  // DB_BACKUP_METHOD: auto, physical, logical
  std::string db_wal_source = "auto";     // DB_WAL_SOURCE: auto, archive, included
  int db_wal_wait_seconds = 120;          // DB_WAL_WAIT_SECONDS
  int db_max_rate_kb = 0;                 // DB_MAX_RATE_KB: BASE_BACKUP MAX_RATE (0 = none)
  // Point-in-time restore of physical backups.
  std::string db_pg_os_user = "postgres";  // DB_PG_OS_USER: the account the restored server runs as
  std::string db_start_command;            // DB_START_COMMAND: starts it instead of pg_ctl
  std::string db_verify = "amcheck";       // DB_VERIFY: amcheck, full (also pg_verifybackup) or none
  int db_recovery_timeout = 0;             // DB_RECOVERY_TIMEOUT: seconds; 0 = no limit
  // CockroachDB's own BACKUP writes to a collection: COCKROACH_BACKUP_URI, or one built from
  // COCKROACH_BACKUP_LOCATION (nodelocal, s3, azure, gcs) and the location settings below.
  std::string cockroach_backup_uri, cockroach_backup_location = "nodelocal";
  // Cloud locations (the guide's variables). Secrets are never printed.
  std::string s3_bucket, s3_region = "us-east-1", s3_endpoint;              // BACKUP_S3_*
  std::string aws_access_key_id, aws_secret_access_key, aws_session_token;  // AWS_*
  std::string azure_container, azure_account, azure_connection_string;      // BACKUP_AZURE_*, AZURE_STORAGE_*
  std::string gcs_bucket, gcs_project, google_credentials;  // BACKUP_GCS_*, GOOGLE_APPLICATION_CREDENTIALS
  // Where in each bucket/container the repository lives (the guide's paths).
  std::string s3_prefix = "backups/primary/";       // BACKUP_S3_PREFIX
  std::string azure_prefix = "backups/secondary/";  // BACKUP_AZURE_PREFIX
  std::string gcs_prefix = "backups/tertiary/";     // BACKUP_GCS_PREFIX
  std::string s3_url_style = "auto";                // BACKUP_S3_URL_STYLE: auto, path or virtual
  std::string azure_key, azure_sas_token;           // AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN (secrets)
  std::string storage_emulator_host;                // STORAGE_EMULATOR_HOST (GCS emulator, no auth)
  int aws_parallel_jobs = 4, azure_parallel_jobs = 4, gcs_parallel_jobs = 4;  // *_PARALLEL_JOBS
  std::string ca_bundle;       // BACKUP_CA_BUNDLE: PEM CAs for private endpoints
  std::string redis_host;      // REDIS_HOST (redis component)
  int redis_port = 6379;       // REDIS_PORT
  std::string redis_username;  // REDIS_USERNAME (ACL user)
  std::string redis_password;  // REDIS_PASSWORD (never printed)
  std::string redis_data_dir;  // REDIS_DATA_DIR: where restore writes dump.rdb
  bool redis_tls = false;      // REDIS_TLS
  std::string redis_tls_ca_cert, redis_tls_cert, redis_tls_key, redis_tls_server_name;  // REDIS_TLS_*
  bool redis_digest = false;          // REDIS_DIGEST: record DEBUG DIGEST (blocks the server)
  std::string redis_restart_command;  // REDIS_RESTART_COMMAND: run after a restore
  std::string redis_conf;             // REDIS_CONF: the redis.conf the restart loads (stream restore checks appendonly)
  int redis_live_restore_port = 0;    // REDIS_LIVE_RESTORE_PORT: listener of a live restore (0: any)

  // Schedule, retention and alerts (schedule, forget, prune).
  std::string schedule_full = "0 2 * * *";         // BACKUP_SCHEDULE_FULL (cron)
  std::string schedule_incremental = "0 * * * *";  // BACKUP_SCHEDULE_INCREMENTAL (cron; "" = none)
  std::string schedule_overlap = "skip";           // BACKUP_SCHEDULE_OVERLAP: skip or wait
  std::string db_incremental_interval;             // DB_INCREMENTAL_INTERVAL (cron; CockroachDB only; "" = none)
  std::vector<std::string> streams;                // BACKUP_STREAMS: captures `schedule` keeps running
  int run_timeout_seconds = 6 * 3600;  // BACKUP_RUN_TIMEOUT: a scheduled run is stopped after this (0: never)
  std::string retention_full = "daily=7,weekly=4,monthly=12,yearly=3";  // BACKUP_RETENTION_FULL
  std::string retention_incremental = "within=1d";                      // BACKUP_RETENTION_INCREMENTAL
  std::string alert_webhook;       // BACKUP_ALERT_WEBHOOK (holds a token: never printed)
  bool alert_on_success = false;   // BACKUP_ALERT_ON_SUCCESS
  int alert_timeout_seconds = 10;  // BACKUP_ALERT_TIMEOUT: per attempt (3 attempts)
  int rpo_seconds = 300;           // BACKUP_RPO_SECONDS: alert when the newest database backup is older

  // WAL archiving (wal-push, wal-fetch).
  std::string wal_push_offsite;       // WAL_PUSH_OFFSITE: a cloud location wal-push waits for ("" = none)
  int wal_push_offsite_timeout = 10;  // WAL_PUSH_OFFSITE_TIMEOUT: seconds for the other clouds
  int wal_fetch_retry_seconds = 60;   // WAL_FETCH_RETRY_SECONDS: an unreachable location is retried this long
  // redis-stream (the Redis replication stream capture).
  std::string redis_stream_source;   // REDIS_STREAM_SOURCE: the stream's name (default REDIS_HOST:REDIS_PORT)
  int redis_stream_interval = 1;     // REDIS_STREAM_INTERVAL: seconds between segments
  int redis_stream_segment_mb = 16;  // REDIS_STREAM_SEGMENT_MB: a segment is cut at this size (MiB, <= 32)
  // wal-receive (streaming on a replication slot).
  std::string wal_slot = "spacetime_backup";                   // WAL_SLOT: the physical slot
  std::string wal_receive_application_name = "spacetime_wal";  // WAL_RECEIVE_APPLICATION_NAME
  int wal_receive_flush_ms = 1000;                             // WAL_RECEIVE_FLUSH_MS: a part this often
  bool wal_receive_sync = false;                               // WAL_RECEIVE_SYNC: flush after every batch
  int wal_status_interval = 10;                                // WAL_STATUS_INTERVAL: seconds between reports
  int wal_offsite_interval_ms = 1000;                          // WAL_OFFSITE_INTERVAL_MS: a cloud part this often
  int wal_behind_mb = 1024;    // WAL_BEHIND_MB: wal_behind when the slot or a location lags more (MiB)
  int wal_fetch_prefetch = 8;  // WAL_FETCH_PREFETCH: segments a restore keeps ready ahead of the server
  bool wal_push_async = true;  // WAL_PUSH_ASYNC: a resident spool daemon pushes ahead of PostgreSQL's archiver
  int wal_push_jobs = 2;       // WAL_PUSH_JOBS: segments the daemon stores at once

  int EffectiveWorkers() const;
};

// Reads the config file (explicit path, BACKUP_CONFIG, or /etc/spacetime/backup.toml when it
// exists), then the environment. An explicit file that is missing or malformed is an error.
StatusOr<Settings> LoadSettings(const std::string& config_flag);

// Applies the text of a TOML config file (as LoadSettings does for the file); `origin` names it
// in errors. A malformed file or a setting of the wrong type or range is InvalidArgument.
Status ApplyConfigText(Settings& s, std::string_view text, const std::string& origin);

std::vector<std::string> SplitList(const std::string& s, char sep);

}  // namespace stb
