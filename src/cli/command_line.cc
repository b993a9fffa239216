#include "cli/command_line.h"

#include <CLI/CLI.hpp>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "cloud/locations.h"
#include "core/parse.h"

namespace stb {

namespace {

const char* kEnvHelp = R"(
Environment (see doc/configuration.md; flags override, a TOML config file is overridden):
  BACKUP_ROOT            local repository (default /var/backups/spacetime)
  BACKUP_ENCRYPTION_KEY  key file: 64 hex digits, mode 0600 (`spacetime-backup key generate FILE`)
  BACKUP_PASSPHRASE      instead of a key file: a passphrase (Argon2id)
  PLAYER_SAVES_DIR       player saves component
  CONFIG_DIRS            configuration component: several roots, ':'-separated
  APP_DIR, APP_EXCLUDE   application component and its exclude globs (default *.pyc:__pycache__:.git)
  DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD   database component (PostgreSQL or CockroachDB;
                         also DB_SSLMODE, DB_ENGINE, DB_PG_BIN_DIR, DB_RESTORE_JOBS, DB_CHECKSUMS,
                         COCKROACH_BACKUP_URI, COCKROACH_BACKUP_LOCATION)
  REDIS_HOST, REDIS_PORT, REDIS_PASSWORD   redis component (also REDIS_USERNAME, REDIS_TLS,
                         REDIS_TLS_CA_CERT, REDIS_DATA_DIR, REDIS_RESTART_COMMAND, REDIS_DIGEST,
                         REDIS_LIVE_RESTORE_PORT, REDIS_CONF, REDIS_STREAM_SOURCE)
  BACKUP_COMPRESSION     zstd level 0 (off) .. 19 (default 1)
  BACKUP_WORKERS         parallel workers (default: number of cores)
  BACKUP_LOG_DIR         log directory (default /var/log/spacetime)
  BACKUP_SCHEDULE_FULL, BACKUP_SCHEDULE_INCREMENTAL   cron expressions of `schedule`
  DB_INCREMENTAL_INTERVAL  cron of `schedule`'s CockroachDB db-incremental (revision-history layers; "" = none)
  BACKUP_RUN_TIMEOUT     seconds a scheduled run may take before it is stopped and alerted (default 21600; 0: none)
  BACKUP_RETENTION_FULL, BACKUP_RETENTION_INCREMENTAL retention, e.g. daily=7,weekly=4 / within=1d
  BACKUP_ALERT_WEBHOOK   Slack-compatible webhook for failures (BACKUP_ALERT_ON_SUCCESS=yes: also successes)
  BACKUP_S3_BUCKET, BACKUP_S3_REGION, BACKUP_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
  AWS_SESSION_TOKEN      S3 copy, under BACKUP_S3_PREFIX (default backups/primary/)
  BACKUP_AZURE_CONTAINER, AZURE_STORAGE_CONNECTION_STRING (or BACKUP_AZURE_ACCOUNT with
                         AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN)   Azure copy (backups/secondary/)
  BACKUP_GCS_BUCKET, GOOGLE_APPLICATION_CREDENTIALS (STORAGE_EMULATOR_HOST for an emulator)
                         GCS copy (backups/tertiary/)
  AWS_PARALLEL_JOBS, AZURE_PARALLEL_JOBS, GCS_PARALLEL_JOBS   requests at once per location (default 4)
  BACKUP_CA_BUNDLE       PEM CA bundle for private endpoints (TLS is always verified)
  BACKUP_STATE_DIR       catalog of runs for `monitor` and `dr-test` (default /var/lib/spacetime-backup)
  BACKUP_CONFIG          config file (default /etc/spacetime/backup.toml)
Exit status: 0 when overall_success is true, 1 on failure, 2 on a usage error.)";

const CLI::IsMember& Locations() {
  static const CLI::IsMember kLocations(LocationNames());
  return kLocations;
}

// Sets the command to run; its arguments live as long as the callbacks that share them.
template <typename Args, typename Fn>
void RunWith(CommandLine& cl, std::shared_ptr<Args> args, Fn fn) {
  cl.run = [args, fn](Settings& s) { return fn(s, *args); };
}

void AddInit(CommandLine& cl) {
  auto* init = cl.app->add_subcommand(
      "init", "Create the repository in BACKUP_ROOT and copy it to every configured cloud location (s3, azure, gcs)");
  init->callback([&cl] { cl.run = [](Settings& s) { return RunInit(s); }; });
}

void AddBackup(CommandLine& cl) {
  auto* backup = cl.app->add_subcommand("backup", "Back up every configured component and print the JSON report");
  backup->require_subcommand(1);
  auto args = std::make_shared<BackupArgs>();
  auto add_flags = [&cl](CLI::App* c) {
    c->add_option("--compression", cl.compression, "zstd level, 0 = off (default 1, or BACKUP_COMPRESSION)")
        ->check(CLI::Range(0, 19));
    c->add_option("--workers", cl.workers, "parallel workers (default: cores)")->check(CLI::Range(1, 256));
    c->add_flag("--no-progress", cl.no_progress, "no progress line on stderr");
  };
  auto run = [&cl, args](const char* type) {
    return [&cl, args, type] {
      args->type = type;
      args->progress = !cl.no_progress;
      RunWith(cl, args, [](Settings& s, const BackupArgs& a) { return RunBackup(s, a); });
    };
  };
  auto* full = backup->add_subcommand("full", "Read every file of every component");
  add_flags(full);
  full->callback(run("full"));
  auto* incr = backup->add_subcommand(
      "incremental", "Like full, but files unchanged since PARENT (same size, mtime, inode) are not read again");
  incr->add_option("PARENT", args->parent,
                   "backup id, or a path ending in one (/var/backups/db/20240103_142530); default: latest");
  add_flags(incr);
  incr->callback(run("incremental"));
}

// Point-in-time recovery of physical PostgreSQL backups (restore and pg-recover).
void AddRecoveryOptions(CLI::App* app, RestoreArgs& a) {
  auto* t = app->add_option("--target-time", a.target_time,
                            "database: recover up to this time (YYYY-MM-DD HH:MM:SS[.f][+HH:MM|Z], ISO 8601; no "
                            "zone = local time); with BACKUP_ID latest, the newest physical backup ending before it; "
                            "CockroachDB: the collection's chain holding it, restored AS OF SYSTEM TIME; redis: replay "
                            "the stream redis-stream captured up to it (appendonlydir, needs appendonly yes)");
  auto* l = app->add_option("--target-lsn", a.target_lsn, "database: recover up to this WAL position (X/Y)");
  auto* n = app->add_flag("--latest", a.latest,
                          "database: replay all WAL in the repository (the default; a backup that carries its own WAL "
                          "recovers to its end); redis: replay all of the stream redis-stream captured (without it "
                          "and --target-time, redis is the backup's RDB)");
  auto* i = app->add_flag("--immediate", a.immediate, "database: stop as soon as the base backup is consistent");
  t->excludes(l)->excludes(n)->excludes(i);
  l->excludes(n)->excludes(i);
  n->excludes(i);
  app->add_option("--target-dir", a.target_dir, "database: the data directory to lay down (missing or empty)");
  app->add_option("--tablespace-map", a.tablespace_map, "database: put tablespace OID in DIR (OID=DIR, repeatable)");
  app->add_option("--pg-port", a.pg_port, "database: port of the restored server (default: a free one)")
      ->check(CLI::Range(1, 65535));
  app->add_option("--archive-mode", a.archive_mode,
                  "database: preserve (restore in place and keep archiving) or off (default)")
      ->check(CLI::IsMember({"preserve", "off"}));
  app->add_flag("--stop-after", a.stop_after, "database: stop the recovered server once verified");
}

void AddPgRecover(CommandLine& cl) {
  auto args = std::make_shared<PgRecoverArgs>();
  auto* pr = cl.app->add_subcommand(
      "pg-recover",
      "Point-in-time recovery of a PostgreSQL base backup already laid down in DIR (e.g. pg_basebackup -X none) "
      "from the WAL in the repository; prints the report with rto_seconds and recovered_to");
  pr->add_option("DIR", args->data_dir, "the data directory (with its backup_label)")->required();
  pr->add_option("--location", args->location, "local (default), s3, azure or gcs")->check(Locations());
  AddRecoveryOptions(pr, args->target);
  pr->callback([&cl, args] { RunWith(cl, args, RunPgRecover); });
}

void AddRestore(CommandLine& cl) {
  auto args = std::make_shared<RestoreArgs>();
  auto comps = std::make_shared<std::string>();
  auto* restore =
      cl.app->add_subcommand("restore",
                             "Restore a backup (configuration, database, redis, player_saves, application), verify "
                             "it, print the report with rto_seconds");
  restore->add_option("BACKUP_ID", args->backup_id, "backup id (YYYYMMDD_HHMMSS) or 'latest'")->required();
  restore
      ->add_option("LOCATION", args->location,
                   "where to read the backup from: local (default), s3, azure or gcs (that location alone)")
      ->check(Locations());
  restore->add_option("--components", *comps, "comma-separated subset, e.g. player_saves,configuration");
  restore->add_option("--target", args->target,
                      "restore under DIR/<component>/<root name> instead of the original paths");
  restore->add_option("--target-db", args->target_db,
                      "database: restore into this database (created if missing) instead of DB_NAME");
  restore->add_option("--workers", cl.workers, "parallel workers (default: cores)")->check(CLI::Range(1, 256));
  restore->add_flag("--live", args->live,
                    "redis: load the snapshot into the running server at REDIS_HOST:REDIS_PORT by replication "
                    "instead of writing dump.rdb");
  restore->add_option("--include", args->includes,
                      "file components: restore only entries matching this glob (repeatable; a name, or a path "
                      "such as 'player_saves/saves/0a/player_42.json' as `ls` shows it; a folder brings its contents)");
  restore->add_option("--exclude", args->excludes,
                      "file components: leave out entries matching this glob (repeatable)");
  restore->add_flag("--sync", args->sync, "flush the restored files to disk (syncfs) before reporting success");
  AddRecoveryOptions(restore, *args);
  restore->add_flag("--no-progress", cl.no_progress, "no progress line on stderr");
  restore->callback([&cl, args, comps] {
    args->components = SplitList(*comps, ',');
    args->progress = !cl.no_progress;
    RunWith(cl, args, [](Settings& s, const RestoreArgs& a) { return RunRestore(s, a); });
  });
}

void AddSnapshots(CommandLine& cl) {
  struct Args {
    bool json = false, recovery_points = false;
    std::string location = "local";
  };
  auto args = std::make_shared<Args>();
  auto* snaps = cl.app->add_subcommand("snapshots", "List the backups in a location");
  snaps->alias("list");
  snaps->add_option("LOCATION", args->location, "local (default), s3, azure or gcs")->check(Locations());
  snaps->add_flag("--json", args->json, "print JSON instead of a table");
  snaps->add_flag("--recovery-points", args->recovery_points,
                  "print each component's recovery point per location (from the catalog) instead of the backups");
  snaps->callback([&cl, args] {
    RunWith(cl, args,
            [](Settings& s, const Args& a) { return RunSnapshots(s, a.json, a.location, a.recovery_points); });
  });
}

CLI::App* BrowseCommand(CommandLine& cl, std::shared_ptr<BrowseArgs> args, const char* name, const char* help,
                        int (*fn)(const Settings&, const BrowseArgs&)) {
  auto* c = cl.app->add_subcommand(name, help);
  c->callback([&cl, args, fn] { RunWith(cl, args, [fn](Settings& s, const BrowseArgs& a) { return fn(s, a); }); });
  return c;
}

void AddBrowse(CommandLine& cl) {
  auto a = std::make_shared<BrowseArgs>();
  auto* ls = BrowseCommand(cl, a, "ls", "List what a backup holds: every entry, or those at and below COMPONENT[/PATH]",
                           RunLs);
  ls->add_option("BACKUP_ID", a->backup_id, "backup id or 'latest'")->required();
  ls->add_option("PATH", a->path, "COMPONENT[/ROOT/PATH], e.g. player_saves/saves/00");
  ls->add_flag("--json", a->json, "print a JSON array (path, type, mode, uid, gid, size, mtime)");
  auto* find = BrowseCommand(cl, a, "find",
                             "Find entries whose name (or, with a '/', path) matches a glob, in every backup", RunFind);
  find->add_option("PATTERN", a->pattern, "glob, e.g. 'player_42.json' or 'player_saves/*/0a/*'")->required();
  find->add_flag("--json", a->json, "print a JSON array");
  auto* dump = BrowseCommand(cl, a, "dump", "Write one file of a backup to stdout, verified", RunDump);
  dump->add_option("BACKUP_ID", a->backup_id, "backup id or 'latest'")->required();
  dump->add_option("PATH", a->path, "COMPONENT/ROOT/PATH of a file (see `ls`), or database/NAME.dump, redis/dump.rdb")
      ->required();
  auto* diff = BrowseCommand(
      cl, a, "diff", "What changed between two backups: + added, - removed, M content, T type, m metadata", RunDiff);
  diff->add_option("FROM", a->backup_id, "backup id")->required();
  diff->add_option("TO", a->backup_id2, "backup id or 'latest'")->required();
  diff->add_flag("--json", a->json, "print JSON: added, removed, modified, type_changed, metadata_changed");
  auto* exp =
      BrowseCommand(cl, a, "export", "Hand a component (or a folder of it) out as a plain tar archive", RunExport);
  exp->add_option("BACKUP_ID", a->backup_id, "backup id or 'latest'")->required();
  exp->add_option("COMPONENT", a->path, "COMPONENT[/ROOT/PATH], e.g. player_saves or player_saves/saves/00")
      ->required();
  exp->add_option("--format", a->format, "tar.gz (default) or tar.zst")->check(CLI::IsMember({"tar.gz", "tar.zst"}));
  exp->add_option("--output", a->output, "write to FILE (atomically) instead of stdout");
  for (CLI::App* c : {ls, find, dump, diff, exp}) {
    c->add_option("--location", a->location, "local (default), s3, azure or gcs")->check(Locations());
  }
}

void AddReplicate(CommandLine& cl) {
  auto args = std::make_shared<ReplicateArgs>();
  auto* replicate = cl.app->add_subcommand(
      "replicate",
      "Copy what other locations lack (the repair after an outage); every backup does this for the cloud locations");
  replicate->add_option("--from", args->from, "source location: local (default), s3, azure or gcs")->check(Locations());
  replicate
      ->add_option("--to", args->to,
                   "target location, repeatable (default: every configured cloud location; local when --from "
                   "is a cloud location)")
      ->check(Locations());
  replicate->add_flag("--delete", args->delete_extra,
                      "also delete from the targets what the source no longer has (forgotten backups, removed keys); "
                      "refused when the source holds fewer snapshots than a target");
  replicate->add_flag("--force", args->force,
                      "with --delete: delete even when the source holds fewer snapshots than a target");
  replicate->callback(
      [&cl, args] { RunWith(cl, args, [](Settings& s, const ReplicateArgs& a) { return RunReplicate(s, a); }); });
}

// `check [--read-data [PERCENT]] [LOCATION]`: the optional value may have taken the location.
void ParseReadData(CheckArgs& a, std::string value) {
  if (FindLocation(value) != nullptr) {
    a.location = value;
    value.clear();
  }
  if (!a.read_data || value.empty()) return;
  if (value.back() == '%') value.pop_back();
  auto percent = ParseDecimal(value, 0, 100, "--read-data");
  if (!percent.ok() || *percent <= 0) throw CLI::ValidationError("--read-data", "PERCENT must be in (0, 100]");
  a.percent = *percent;
}

void AddCheck(CommandLine& cl) {
  auto args = std::make_shared<CheckArgs>();
  auto read_data = std::make_shared<std::string>();
  auto* check = cl.app->add_subcommand(
      "check", "Verify a location's repository; with --read-data, every byte (or PERCENT of the packs)");
  check->add_option("--read-data", *read_data, "read and verify data: all, or a percentage such as 10")
      ->expected(0, 1)
      ->default_str("100");
  check->add_option("LOCATION", args->location, "local (default), s3, azure or gcs")->check(Locations());
  check->callback([&cl, args, read_data, check] {
    args->read_data = check->count("--read-data") > 0;
    ParseReadData(*args, *read_data);
    RunWith(cl, args, [](Settings& s, const CheckArgs& a) { return RunCheck(s, a); });
  });
}

void AddKey(CommandLine& cl) {
  auto* key = cl.app->add_subcommand("key", "Manage the keys that unlock the repository (no data is rewritten)");
  key->require_subcommand(1);
  auto arg = std::make_shared<std::string>();
  auto* kgen = key->add_subcommand("generate", "Write a new random key file (mode 0600)");
  kgen->add_option("FILE", *arg, "path of the new key file")->required();
  kgen->callback([&cl, arg] { RunWith(cl, arg, [](Settings&, const std::string& f) { return RunKeyGenerate(f); }); });
  auto* klist = key->add_subcommand("list", "List the keys");
  klist->callback([&cl] { cl.run = [](Settings& s) { return RunKeyList(s); }; });
  auto* kadd = key->add_subcommand("add", "Add a key file (created if missing) that also unlocks the repository");
  kadd->add_option("--new-key-file", *arg, "key file to add")->required();
  kadd->callback([&cl, arg] { RunWith(cl, arg, RunKeyAdd); });
  auto* krm = key->add_subcommand("remove", "Remove a key by id (not the one in use, never the last)");
  krm->add_option("ID", *arg, "key id from `key list`")->required();
  krm->callback([&cl, arg] { RunWith(cl, arg, RunKeyRemove); });
  auto* krot = key->add_subcommand("rotate", "Add a new key file and remove the key in use");
  krot->add_option("--new-key-file", *arg, "the new key file (created if missing)")->required();
  krot->callback([&cl, arg] { RunWith(cl, arg, RunKeyRotate); });
}

// --keep-RULE values into the policy; a bad one is a usage error naming its flag.
void ParseKeepFlags(ForgetArgs& a, const std::map<std::string, std::string>& keep) {
  for (const auto& [rule, value] : keep) {
    if (value.empty()) continue;
    a.explicit_policy = true;
    if (rule == "within") {
      auto d = ParseWithin(value);
      if (!d.ok()) throw CLI::ValidationError("--keep-within", d.status().message());
      a.policy.within = value;
      continue;
    }
    auto n = ParseKeepCount("--keep-" + rule, value);
    if (!n.ok()) throw CLI::ValidationError("--keep-" + rule, n.status().message());
    int* dst = rule == "last"      ? &a.policy.last
               : rule == "hourly"  ? &a.policy.hourly
               : rule == "daily"   ? &a.policy.daily
               : rule == "weekly"  ? &a.policy.weekly
               : rule == "monthly" ? &a.policy.monthly
                                   : &a.policy.yearly;
    *dst = *n;
  }
}

void AddForget(CommandLine& cl) {
  auto args = std::make_shared<ForgetArgs>();
  auto keep = std::make_shared<std::map<std::string, std::string>>();
  auto* forget = cl.app->add_subcommand(
      "forget",
      "Apply the retention policy: remove the backups no rule keeps (default: BACKUP_RETENTION_FULL, the guide's "
      "7 daily, 4 weekly, 12 monthly, 3 yearly fulls, and BACKUP_RETENTION_INCREMENTAL, incrementals for 1 day); "
      "prints each kept backup with the rules that kept it");
  for (const char* rule : {"last", "hourly", "daily", "weekly", "monthly", "yearly"}) {
    forget->add_option(std::string("--keep-") + rule, (*keep)[rule],
                       std::string("keep the newest backup of each of the last N ") +
                           (std::string(rule) == "last" ? "backups" : std::string(rule) + " periods") +
                           " (-1 or 'unlimited': all)");
  }
  forget->add_option("--keep-within", (*keep)["within"], "keep every backup within DURATION (1y2m3d4h) of the newest");
  forget->add_flag("--dry-run", args->dry_run, "only print what would be kept and removed");
  forget->add_flag("--prune", args->prune, "then prune the data only the removed backups used");
  forget
      ->add_option("LOCATION", args->location,
                   "local (default), s3, azure or gcs: the location whose own backups are forgotten, under its lock")
      ->check(Locations());
  forget->callback([&cl, args, keep] {
    ParseKeepFlags(*args, *keep);
    RunWith(cl, args, [](Settings& s, const ForgetArgs& a) { return RunForget(s, a); });
  });
}

void AddPrune(CommandLine& cl) {
  auto args = std::make_shared<PruneArgs>();
  auto* prune = cl.app->add_subcommand(
      "prune", "Remove the data no backup references and repack mostly-unused packs (exclusive lock)");
  prune->add_flag("--dry-run", args->dry_run, "only print what would be deleted and repacked");
  prune
      ->add_option("--repack-unused", args->repack_unused_percent,
                   "rewrite packs whose unused share exceeds PERCENT (default 20)")
      ->check(CLI::Range(0.0, 100.0));
  prune->add_option("LOCATION", args->location, "local (default), s3, azure or gcs")->check(Locations());
  prune->callback([&cl, args] { RunWith(cl, args, [](Settings& s, const PruneArgs& a) { return RunPrune(s, a); }); });
}

void AddMonitor(CommandLine& cl, const std::string& version) {
  auto args = std::make_shared<MonitorArgs>();
  args->version = version;
  auto* monitor = cl.app->add_subcommand(
      "monitor",
      "Serve Prometheus metrics (/metrics) and /healthz from the catalog in BACKUP_STATE_DIR, probing each cloud "
      "location every --probe-interval; SIGTERM stops it");
  monitor->add_option("--listen", args->listen,
                      "address to listen on: HOST:PORT, :PORT or PORT (default 0.0.0.0:9091)");
  monitor->add_option("--probe-interval", args->probe_interval_seconds, "seconds between location probes (default 60)")
      ->check(CLI::Range(1.0, 86400.0));
  monitor->callback(
      [&cl, args] { RunWith(cl, args, [](Settings& s, const MonitorArgs& a) { return RunMonitor(s, a); }); });
}

void AddDrTest(CommandLine& cl) {
  auto args = std::make_shared<DrTestArgs>();
  auto* drtest = cl.app->add_subcommand(
      "dr-test",
      "Disaster-recovery drill: restore the latest backup into scratch targets (a temporary directory, a scratch "
      "database, a scratch redis-server on 127.0.0.1), verify every component, remove them, record the result");
  drtest->add_option("--scenario", args->scenario, "name recorded for the drill (default restore_verify)");
  drtest->callback(
      [&cl, args] { RunWith(cl, args, [](Settings& s, const DrTestArgs& a) { return RunDrTest(s, a); }); });
}

void AddSchedule(CommandLine& cl) {
  auto args = std::make_shared<ScheduleArgs>();
  auto* schedule = cl.app->add_subcommand(
      "schedule",
      "Run as a daemon: full backups at BACKUP_SCHEDULE_FULL (default '0 2 * * *'), incrementals at "
      "BACKUP_SCHEDULE_INCREMENTAL (default '0 * * * *'), local time, one at a time; retention and alerts after "
      "each; with BACKUP_STREAMS=wal-receive it also keeps wal-receive running (restarted with backoff, "
      "stream_down alert past BACKUP_RPO_SECONDS); with DB_INCREMENTAL_INTERVAL (cron, CockroachDB) it also runs "
      "db-incremental, a revision-history layer, on its own timer. SIGTERM stops it cleanly");
  schedule->add_flag("--now", args->run_now, "run a full backup at start, then follow the schedule");
  struct RunArgs {
    std::string type;
    bool worker = false;
  };
  auto run_args = std::make_shared<RunArgs>();
  auto* srun = schedule->add_subcommand(
      "run", "One scheduled run, for cron and systemd timers: backup, retention (forget + prune), alerts");
  srun->add_option("TYPE", run_args->type, "full, incremental or db-incremental (CockroachDB)")
      ->required()
      ->check(CLI::IsMember({"full", "incremental", "db-incremental"}));
  // The supervised child of `schedule run` (internal: not for operators).
  srun->add_flag("--worker", run_args->worker)->group("");
  srun->callback([&cl, run_args] {
    RunWith(cl, run_args, [](Settings& s, const RunArgs& a) {
      return a.worker ? RunScheduledJob(s, a.type) : SuperviseScheduledJob(s, a.type);
    });
  });
  schedule->callback([&cl, args] {
    if (!cl.run) RunWith(cl, args, [](Settings& s, const ScheduleArgs& a) { return RunSchedule(s, a); });
  });
}

void AddWal(CommandLine& cl) {
  auto push = std::make_shared<WalPushArgs>();
  auto* wp = cl.app->add_subcommand(
      "wal-push",
      "archive_command = 'spacetime-backup wal-push %p': store one WAL file durably in the local repository, then "
      "in each cloud location (WAL_PUSH_OFFSITE: one that must have it before success); exit 0 or 1");
  wp->add_option("FILE", push->path, "the WAL file (%p)")->required();
  wp->add_option("--pgdata", push->pgdata, "data directory holding global/pg_control (default: above pg_wal/)");
  wp->add_flag("--daemon", push->daemon,
               "run the spool daemon (WAL_PUSH_ASYNC) that stores every .ready file of FILE's pg_wal; wal-push starts "
               "it itself");
  wp->callback([&cl, push] { RunWith(cl, push, RunWalPush); });
  auto fetch = std::make_shared<WalFetchArgs>();
  auto* wf = cl.app->add_subcommand(
      "wal-fetch",
      "restore_command = 'spacetime-backup wal-fetch %f %p': write one archived WAL file; exit 0 when written, 1 "
      "when the archive does not have it, 255 when that cannot be told (recovery then stops)");
  wf->add_option("NAME", fetch->file, "the WAL file name (%f)")->required();
  wf->add_option("DEST", fetch->dest, "where to write it (%p)")->required();
  wf->add_option("--pgdata", fetch->pgdata, "data directory holding global/pg_control (default: the current one)");
  wf->add_option("--location", fetch->location, "local (default), s3, azure or gcs")->check(Locations());
  wf->add_option("--staging", fetch->staging,
                 "take the file from a restore's staging directory instead of the repository (what restore writes "
                 "into restore_command; needs no key)");
  wf->callback([&cl, fetch] { RunWith(cl, fetch, RunWalFetch); });
  auto recv = std::make_shared<WalReceiveArgs>();
  auto* wr = cl.app->add_subcommand(
      "wal-receive",
      "resident WAL receiver on the physical slot WAL_SLOT (like pg_receivewal): stores a part every "
      "WAL_RECEIVE_FLUSH_MS and each complete segment, copies them to the cloud locations; SIGTERM ends it");
  wr->add_flag("--sync", recv->sync,
               "flush and confirm after every batch, for synchronous_standby_names = 'spacetime_wal'");
  wr->callback([&cl, recv] { RunWith(cl, recv, RunWalReceive); });
  auto rs = std::make_shared<RedisStreamArgs>();
  auto* rc = cl.app->add_subcommand(
      "redis-stream",
      "resident Redis replication stream capture (a replica without a listening port, Redis 7.0+): stores the base "
      "RDB and the stream as redis/ objects in the local repository, a segment every REDIS_STREAM_INTERVAL s or "
      "REDIS_STREAM_SEGMENT_MB, and acknowledges to Redis only what is stored; reconnects with backoff; SIGTERM "
      "ends it");
  rc->add_flag("--status", rs->status, "print the stored chains (offsets, segments, events) as JSON and exit");
  rc->callback([&cl, rs] { RunWith(cl, rs, RunRedisStream); });
}

}  // namespace

CommandLine::CommandLine() = default;
CommandLine::~CommandLine() = default;

std::unique_ptr<CommandLine> BuildCommandLine(const std::string& version) {
  auto cl = std::make_unique<CommandLine>();
  cl->app = std::make_unique<CLI::App>(
      "spacetime-backup: encrypted, deduplicated backup and verified restore for the SpaceTime backend");
  cl->app->footer(kEnvHelp);
  cl->app->set_version_flag("--version", "spacetime-backup " + version);
  cl->app->require_subcommand(1);
  cl->app->add_option("--config", cl->config,
                      "TOML config file (default /etc/spacetime/backup.toml, or BACKUP_CONFIG)");
  AddInit(*cl);
  AddBackup(*cl);
  AddRestore(*cl);
  AddSnapshots(*cl);
  AddBrowse(*cl);
  AddReplicate(*cl);
  AddCheck(*cl);
  AddKey(*cl);
  AddForget(*cl);
  AddPrune(*cl);
  AddMonitor(*cl, version);
  AddDrTest(*cl);
  AddSchedule(*cl);
  AddWal(*cl);
  AddPgRecover(*cl);
  return cl;
}

int RunCommandLine(CommandLine& cl, int argc, char** argv) {
  try {
    cl.app->parse(argc, argv);
  } catch (const CLI::Success& e) {
    return cl.app->exit(e);
  } catch (const CLI::ParseError& e) {
    cl.app->exit(e);
    return 2;
  }
  auto settings = LoadSettings(cl.config);
  if (!settings.ok()) return Fail(settings.status());
  if (cl.compression >= 0) settings->compression = cl.compression;
  if (cl.workers > 0) settings->workers = cl.workers;
  return cl.run(*settings);
}

}  // namespace stb
