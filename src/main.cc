// spacetime-backup: parses the command line, loads settings (flags > environment > config file >
// defaults), runs one command and maps its result to the exit status.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/last_resort.h"
#include "core/parse.h"

#ifndef STB_VERSION
#define STB_VERSION "0.0.0"
#endif

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
                         REDIS_LIVE_RESTORE_PORT)
  BACKUP_COMPRESSION     zstd level 0 (off) .. 19 (default 1)
  BACKUP_WORKERS         parallel workers (default: number of cores)
  BACKUP_LOG_DIR         log directory (default /var/log/spacetime)
  BACKUP_SCHEDULE_FULL, BACKUP_SCHEDULE_INCREMENTAL   cron expressions of `schedule`
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

}  // namespace

namespace {

int Run(int argc, char** argv);

}  // namespace

// Any exception that escapes a module, on the main thread or a worker, ends the process with one
// error line and exit 1 rather than abort()'s signal.
int main(int argc, char** argv) {
  stb::InstallLastResortHandler();
  try {
    return Run(argc, argv);
  } catch (...) {
    stb::ExitOnUnexpected(std::current_exception());
  }
}

namespace {

int Run(int argc, char** argv) {
  // Buffers of 1 MiB and more (chunks, read spans) go straight to mmap and back to the system
  // when freed; glibc's adaptive threshold would otherwise keep them in the heap for good.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  CLI::App app{"spacetime-backup: encrypted, deduplicated backup and verified restore for the SpaceTime backend"};
  app.footer(kEnvHelp);
  app.set_version_flag("--version", std::string("spacetime-backup ") + STB_VERSION);
  app.require_subcommand(1);
  std::string config;
  app.add_option("--config", config, "TOML config file (default /etc/spacetime/backup.toml, or BACKUP_CONFIG)");
  int compression = -1, workers = 0;
  bool no_progress = false;
  std::function<int(stb::Settings&)> run;

  auto* init = app.add_subcommand(
      "init", "Create the repository in BACKUP_ROOT and copy it to every configured cloud location (s3, azure, gcs)");
  init->callback([&] { run = [](stb::Settings& s) { return stb::RunInit(s); }; });

  auto* backup = app.add_subcommand("backup", "Back up every configured component and print the JSON report");
  backup->require_subcommand(1);
  stb::BackupArgs bargs;
  auto add_backup_flags = [&](CLI::App* c) {
    c->add_option("--compression", compression, "zstd level, 0 = off (default 1, or BACKUP_COMPRESSION)")
        ->check(CLI::Range(0, 19));
    c->add_option("--workers", workers, "parallel workers (default: cores)")->check(CLI::Range(1, 256));
    c->add_flag("--no-progress", no_progress, "no progress line on stderr");
  };
  auto* full = backup->add_subcommand("full", "Read every file of every component");
  add_backup_flags(full);
  full->callback([&] {
    bargs.type = "full";
    run = [&](stb::Settings& s) { return stb::RunBackup(s, bargs); };
  });
  auto* incr = backup->add_subcommand(
      "incremental", "Like full, but files unchanged since PARENT (same size, mtime, inode) are not read again");
  incr->add_option("PARENT", bargs.parent,
                   "backup id, or a path ending in one (/var/backups/db/20240103_142530); default: latest");
  add_backup_flags(incr);
  incr->callback([&] {
    bargs.type = "incremental";
    run = [&](stb::Settings& s) { return stb::RunBackup(s, bargs); };
  });

  stb::RestoreArgs rargs;
  std::string comps;
  auto* restore =
      app.add_subcommand("restore",
                         "Restore a backup (configuration, database, redis, player_saves, application), verify it, "
                         "print the report with rto_seconds");
  restore->add_option("BACKUP_ID", rargs.backup_id, "backup id (YYYYMMDD_HHMMSS) or 'latest'")->required();
  restore
      ->add_option("LOCATION", rargs.location,
                   "where to read the backup from: local (default), s3, azure or gcs (that location alone)")
      ->check(CLI::IsMember({"local", "s3", "azure", "gcs"}));
  restore->add_option("--components", comps, "comma-separated subset, e.g. player_saves,configuration");
  restore->add_option("--target", rargs.target,
                      "restore under DIR/<component>/<root name> instead of the original paths");
  restore->add_option("--target-db", rargs.target_db,
                      "database: restore into this database (created if missing) instead of DB_NAME");
  restore->add_option("--workers", workers, "parallel workers (default: cores)")->check(CLI::Range(1, 256));
  restore->add_flag("--live", rargs.live,
                    "redis: load the snapshot into the running server at REDIS_HOST:REDIS_PORT by replication "
                    "instead of writing dump.rdb");
  restore->add_option("--include", rargs.includes,
                      "file components: restore only entries matching this glob (repeatable; a name, or a path "
                      "such as 'player_saves/saves/0a/player_42.json' as `ls` shows it; a folder brings its contents)");
  restore->add_option("--exclude", rargs.excludes,
                      "file components: leave out entries matching this glob (repeatable)");
  restore->add_flag("--sync", rargs.sync, "flush the restored files to disk (syncfs) before reporting success");
  restore->add_flag("--no-progress", no_progress, "no progress line on stderr");
  restore->callback([&] {
    rargs.components = stb::SplitList(comps, ',');
    run = [&](stb::Settings& s) { return stb::RunRestore(s, rargs); };
  });

  bool as_json = false;
  std::string snaps_location = "local";
  auto* snaps = app.add_subcommand("snapshots", "List the backups in a location");
  snaps->alias("list");
  snaps->add_option("LOCATION", snaps_location, "local (default), s3, azure or gcs")
      ->check(CLI::IsMember({"local", "s3", "azure", "gcs"}));
  snaps->add_flag("--json", as_json, "print JSON instead of a table");
  snaps->callback([&] { run = [&](stb::Settings& s) { return stb::RunSnapshots(s, as_json, snaps_location); }; });

  stb::BrowseArgs brargs;
  const auto locations = CLI::IsMember({"local", "s3", "azure", "gcs"});
  auto* ls = app.add_subcommand("ls", "List what a backup holds: every entry, or those at and below COMPONENT[/PATH]");
  ls->add_option("BACKUP_ID", brargs.backup_id, "backup id or 'latest'")->required();
  ls->add_option("PATH", brargs.path, "COMPONENT[/ROOT/PATH], e.g. player_saves/saves/00");
  ls->add_option("--location", brargs.location, "local (default), s3, azure or gcs")->check(locations);
  ls->add_flag("--json", brargs.json, "print a JSON array (path, type, mode, uid, gid, size, mtime)");
  ls->callback([&] { run = [&](stb::Settings& s) { return stb::RunLs(s, brargs); }; });
  auto* find =
      app.add_subcommand("find", "Find entries whose name (or, with a '/', path) matches a glob, in every backup");
  find->add_option("PATTERN", brargs.pattern, "glob, e.g. 'player_42.json' or 'player_saves/*/0a/*'")->required();
  find->add_option("--location", brargs.location, "local (default), s3, azure or gcs")->check(locations);
  find->add_flag("--json", brargs.json, "print a JSON array");
  find->callback([&] { run = [&](stb::Settings& s) { return stb::RunFind(s, brargs); }; });
  auto* dump = app.add_subcommand("dump", "Write one file of a backup to stdout, verified");
  dump->add_option("BACKUP_ID", brargs.backup_id, "backup id or 'latest'")->required();
  dump->add_option("PATH", brargs.path,
                   "COMPONENT/ROOT/PATH of a file (see `ls`), or database/NAME.dump, redis/dump.rdb")
      ->required();
  dump->add_option("--location", brargs.location, "local (default), s3, azure or gcs")->check(locations);
  dump->callback([&] { run = [&](stb::Settings& s) { return stb::RunDump(s, brargs); }; });
  auto* diff =
      app.add_subcommand("diff", "What changed between two backups: + added, - removed, M content, T type, m metadata");
  diff->add_option("FROM", brargs.backup_id, "backup id")->required();
  diff->add_option("TO", brargs.backup_id2, "backup id or 'latest'")->required();
  diff->add_option("--location", brargs.location, "local (default), s3, azure or gcs")->check(locations);
  diff->add_flag("--json", brargs.json, "print JSON: added, removed, modified, type_changed, metadata_changed");
  diff->callback([&] { run = [&](stb::Settings& s) { return stb::RunDiff(s, brargs); }; });
  auto* exp = app.add_subcommand("export", "Hand a component (or a folder of it) out as a plain tar archive");
  exp->add_option("BACKUP_ID", brargs.backup_id, "backup id or 'latest'")->required();
  exp->add_option("COMPONENT", brargs.path, "COMPONENT[/ROOT/PATH], e.g. player_saves or player_saves/saves/00")
      ->required();
  exp->add_option("--format", brargs.format, "tar.gz (default) or tar.zst")
      ->check(CLI::IsMember({"tar.gz", "tar.zst"}));
  exp->add_option("--output", brargs.output, "write to FILE (atomically) instead of stdout");
  exp->add_option("--location", brargs.location, "local (default), s3, azure or gcs")->check(locations);
  exp->callback([&] { run = [&](stb::Settings& s) { return stb::RunExport(s, brargs); }; });

  stb::ReplicateArgs repargs;
  auto* replicate = app.add_subcommand(
      "replicate",
      "Copy what other locations lack (the repair after an outage); every backup does this for the cloud locations");
  replicate->add_option("--from", repargs.from, "source location: local (default), s3, azure or gcs")
      ->check(CLI::IsMember({"local", "s3", "azure", "gcs"}));
  replicate
      ->add_option("--to", repargs.to,
                   "target location, repeatable (default: every configured cloud location; local when --from "
                   "is a cloud location)")
      ->check(CLI::IsMember({"local", "s3", "azure", "gcs"}));
  replicate->add_flag("--delete", repargs.delete_extra,
                      "also delete from the targets what the source no longer has (forgotten backups, removed keys); "
                      "refused when the source holds fewer snapshots than a target");
  replicate->add_flag("--force", repargs.force,
                      "with --delete: delete even when the source holds fewer snapshots than a target");
  replicate->callback([&] { run = [&](stb::Settings& s) { return stb::RunReplicate(s, repargs); }; });

  stb::CheckArgs cargs;
  std::string read_data;
  auto* check = app.add_subcommand(
      "check", "Verify a location's repository; with --read-data, every byte (or PERCENT of the packs)");
  check->add_option("--read-data", read_data, "read and verify data: all, or a percentage such as 10")
      ->expected(0, 1)
      ->default_str("100");
  check->add_option("LOCATION", cargs.location, "local (default), s3, azure or gcs")
      ->check(CLI::IsMember({"local", "s3", "azure", "gcs"}));
  check->callback([&] {
    cargs.read_data = check->count("--read-data") > 0;
    // `check --read-data s3`: the optional value took the location.
    if (read_data == "local" || read_data == "s3" || read_data == "azure" || read_data == "gcs") {
      cargs.location = read_data;
      read_data.clear();
    }
    if (cargs.read_data && !read_data.empty()) {
      std::string p = read_data;
      if (!p.empty() && p.back() == '%') p.pop_back();
      auto percent = stb::ParseDecimal(p, 0, 100, "--read-data");
      if (!percent.ok() || *percent <= 0) throw CLI::ValidationError("--read-data", "PERCENT must be in (0, 100]");
      cargs.percent = *percent;
    }
    run = [&](stb::Settings& s) { return stb::RunCheck(s, cargs); };
  });

  auto* key = app.add_subcommand("key", "Manage the keys that unlock the repository (no data is rewritten)");
  key->require_subcommand(1);
  std::string key_arg, new_key_file;
  auto* kgen = key->add_subcommand("generate", "Write a new random key file (mode 0600)");
  kgen->add_option("FILE", key_arg, "path of the new key file")->required();
  kgen->callback([&] { run = [&](stb::Settings&) { return stb::RunKeyGenerate(key_arg); }; });
  auto* klist = key->add_subcommand("list", "List the keys");
  klist->callback([&] { run = [](stb::Settings& s) { return stb::RunKeyList(s); }; });
  auto* kadd = key->add_subcommand("add", "Add a key file (created if missing) that also unlocks the repository");
  kadd->add_option("--new-key-file", new_key_file, "key file to add")->required();
  kadd->callback([&] { run = [&](stb::Settings& s) { return stb::RunKeyAdd(s, new_key_file); }; });
  auto* krm = key->add_subcommand("remove", "Remove a key by id (not the one in use, never the last)");
  krm->add_option("ID", key_arg, "key id from `key list`")->required();
  krm->callback([&] { run = [&](stb::Settings& s) { return stb::RunKeyRemove(s, key_arg); }; });
  auto* krot = key->add_subcommand("rotate", "Add a new key file and remove the key in use");
  krot->add_option("--new-key-file", new_key_file, "the new key file (created if missing)")->required();
  krot->callback([&] { run = [&](stb::Settings& s) { return stb::RunKeyRotate(s, new_key_file); }; });

  stb::ForgetArgs fargs;
  std::map<std::string, std::string> keep;
  auto* forget = app.add_subcommand(
      "forget",
      "Apply the retention policy: remove the backups no rule keeps (default: BACKUP_RETENTION_FULL, the guide's "
      "7 daily, 4 weekly, 12 monthly, 3 yearly fulls, and BACKUP_RETENTION_INCREMENTAL, incrementals for 1 day); "
      "prints each kept backup with the rules that kept it");
  for (const char* rule : {"last", "hourly", "daily", "weekly", "monthly", "yearly"}) {
    forget->add_option(std::string("--keep-") + rule, keep[rule],
                       std::string("keep the newest backup of each of the last N ") +
                           (std::string(rule) == "last" ? "backups" : std::string(rule) + " periods") +
                           " (-1 or 'unlimited': all)");
  }
  forget->add_option("--keep-within", keep["within"], "keep every backup within DURATION (1y2m3d4h) of the newest");
  forget->add_flag("--dry-run", fargs.dry_run, "only print what would be kept and removed");
  forget->add_flag("--prune", fargs.prune, "then prune the data only the removed backups used");
  forget
      ->add_option("LOCATION", fargs.location,
                   "local (default), s3, azure or gcs: the location whose own backups are forgotten, under its lock")
      ->check(CLI::IsMember({"local", "s3", "azure", "gcs"}));
  forget->callback([&] {
    for (const auto& [rule, value] : keep) {
      if (value.empty()) continue;
      fargs.explicit_policy = true;
      if (rule == "within") {
        auto d = stb::ParseWithin(value);
        if (!d.ok()) throw CLI::ValidationError("--keep-within", d.status().message());
        fargs.policy.within = value;
        continue;
      }
      auto n = stb::ParseKeepCount("--keep-" + rule, value);
      if (!n.ok()) throw CLI::ValidationError("--keep-" + rule, n.status().message());
      int* dst = rule == "last"      ? &fargs.policy.last
                 : rule == "hourly"  ? &fargs.policy.hourly
                 : rule == "daily"   ? &fargs.policy.daily
                 : rule == "weekly"  ? &fargs.policy.weekly
                 : rule == "monthly" ? &fargs.policy.monthly
                                     : &fargs.policy.yearly;
      *dst = *n;
    }
    run = [&](stb::Settings& s) { return stb::RunForget(s, fargs); };
  });

  stb::PruneArgs pargs;
  auto* prune = app.add_subcommand(
      "prune", "Remove the data no backup references and repack mostly-unused packs (exclusive lock)");
  prune->add_flag("--dry-run", pargs.dry_run, "only print what would be deleted and repacked");
  prune
      ->add_option("--repack-unused", pargs.repack_unused_percent,
                   "rewrite packs whose unused share exceeds PERCENT (default 20)")
      ->check(CLI::Range(0.0, 100.0));
  prune->add_option("LOCATION", pargs.location, "local (default), s3, azure or gcs")
      ->check(CLI::IsMember({"local", "s3", "azure", "gcs"}));
  prune->callback([&] { run = [&](stb::Settings& s) { return stb::RunPrune(s, pargs); }; });

  stb::MonitorArgs margs;
  margs.version = STB_VERSION;
  auto* monitor = app.add_subcommand(
      "monitor",
      "Serve Prometheus metrics (/metrics) and /healthz from the catalog in BACKUP_STATE_DIR, probing each cloud "
      "location every --probe-interval; SIGTERM stops it");
  monitor->add_option("--listen", margs.listen,
                      "address to listen on: HOST:PORT, :PORT or PORT (default 0.0.0.0:9091)");
  monitor->add_option("--probe-interval", margs.probe_interval_seconds, "seconds between location probes (default 60)")
      ->check(CLI::Range(1.0, 86400.0));
  monitor->callback([&] { run = [&](stb::Settings& s) { return stb::RunMonitor(s, margs); }; });

  stb::DrTestArgs dargs;
  auto* drtest = app.add_subcommand(
      "dr-test",
      "Disaster-recovery drill: restore the latest backup into scratch targets (a temporary directory, a scratch "
      "database, a scratch redis-server on 127.0.0.1), verify every component, remove them, record the result");
  drtest->add_option("--scenario", dargs.scenario, "name recorded for the drill (default restore_verify)");
  drtest->callback([&] { run = [&](stb::Settings& s) { return stb::RunDrTest(s, dargs); }; });

  stb::ScheduleArgs sargs;
  std::string run_type;
  auto* schedule = app.add_subcommand(
      "schedule",
      "Run as a daemon: full backups at BACKUP_SCHEDULE_FULL (default '0 2 * * *'), incrementals at "
      "BACKUP_SCHEDULE_INCREMENTAL (default '0 * * * *'), local time, one at a time; retention and alerts after "
      "each. SIGTERM stops it cleanly");
  schedule->add_flag("--now", sargs.run_now, "run a full backup at start, then follow the schedule");
  auto* srun = schedule->add_subcommand(
      "run", "One scheduled run, for cron and systemd timers: backup, retention (forget + prune), alerts");
  srun->add_option("TYPE", run_type, "full or incremental")->required()->check(CLI::IsMember({"full", "incremental"}));
  bool run_worker = false;
  // The supervised child of `schedule run` (internal: not for operators).
  srun->add_flag("--worker", run_worker)->group("");
  srun->callback([&] {
    run = [&](stb::Settings& s) {
      return run_worker ? stb::RunScheduledJob(s, run_type) : stb::SuperviseScheduledJob(s, run_type);
    };
  });
  schedule->callback([&] {
    if (!run) run = [&](stb::Settings& s) { return stb::RunSchedule(s, sargs); };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  auto settings = stb::LoadSettings(config);
  if (!settings.ok()) return stb::Fail(settings.status());
  if (compression >= 0) settings->compression = compression;
  if (workers > 0) settings->workers = workers;
  bargs.progress = rargs.progress = !no_progress;
  return run(*settings);
}

}  // namespace
