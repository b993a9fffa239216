// The one interface every component (database, redis, player_saves, configuration, application)
// implements, and the registry that knows them and their backup and restore orders.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "reports/reports.h"
#include "repository/blob_refs.h"

namespace stb {

class BlobSaver;
class Repository;
struct Progress;
struct Settings;

// What a backup gives each component.
struct BackupContext {
  Repository& repo;
  BlobSaver& saver;  // stores blobs, deduplicated against the index
  const Settings& settings;
  std::string type;                    // "full" or "incremental"
  const nlohmann::json* parent_entry;  // this component's entry in the parent snapshot, or nullptr
  Progress& progress;
};

struct ComponentBackup {
  nlohmann::json entry;    // the snapshot entry (object with "kind"); null: nothing stored
  ComponentReport report;  // status and success are set by the archiver from `report.success`
};

// The restore command's options that components read (each takes what concerns it).
struct RestoreOptions {
  std::string target;                           // --target DIR: files under DIR/<component>, redis under DIR/redis
  std::string target_db;                        // --target-db NAME
  bool live = false;                            // --live: redis replaces the running server's data
  bool sync = false;                            // --sync: syncfs before reporting success
  std::vector<std::string> includes, excludes;  // file selection
  // database, physical backups: point-in-time recovery (doc/operations.md).
  std::string recovery_target = "latest";   // latest, immediate, time, lsn
  double target_time_unix = 0;              // time: --target-time
  std::string target_lsn;                   // lsn: --target-lsn X/Y
  std::string target_dir;                   // --target-dir: the data directory ("" = the recorded one)
  std::vector<std::string> tablespace_map;  // --tablespace-map OID=DIR
  int pg_port = 0;                          // --pg-port: 0 = a free one
  bool archive_preserve = false;            // --archive-mode preserve
  bool stop_after = false;                  // --stop-after: stop the server once verified
  // redis: replay the stored stream (restore --latest: "latest"; --target-time: "time", at
  // target_time_unix). "" restores the backup's RDB. Only `restore` sets it (not drills).
  std::string redis_stream;
};

struct RestoreContext {
  Repository& repo;
  const Settings& settings;
  const RestoreOptions& options;
  Progress& progress;
};

// BlobVisitor: called for every blob an entry needs (repository/blob_refs.h, with the helpers
// that walk id lists and file trees).

class Component {
 public:
  virtual ~Component() = default;
  // The component's name: its key in snapshots, reports, metrics and --components.
  virtual std::string_view name() const = 0;
  // "" when configured; else the setting that would configure it ("DB_HOST"), which the backup
  // report and the "nothing to back up" error name.
  virtual std::string MissingSetting(const Settings& s) const = 0;
  virtual ComponentBackup Backup(BackupContext& ctx) = 0;
  // Restores one entry of a snapshot and verifies it before reporting success (content hashes,
  // row counts, key counts): the restorer never reports a component it has not verified.
  virtual ComponentReport Restore(const nlohmann::json& entry, RestoreContext& ctx) = 0;
  // Visits every blob the entry references (check, prune); problems are appended to errors
  // prefixed with `prefix` ("backup <id> (<object>), ").
  virtual void VisitBlobs(Repository& repo, const nlohmann::json& entry, const std::string& prefix,
                          const BlobVisitor& visit, std::vector<std::string>& errors) = 0;
};

// The components in their backup order (the guide's "What's included") and restore order (its
// "Restore Process"). Order of registration does not matter; each says its place.
class ComponentRegistry {
 public:
  void Add(std::unique_ptr<Component> c, int backup_rank, int restore_rank);
  std::vector<Component*> BackupOrder() const;
  std::vector<Component*> RestoreOrder() const;
  Component* Find(std::string_view name) const;  // nullptr when unknown
  // "configuration, database, redis, player_saves, application": for errors naming the choices.
  std::string Names() const;

 private:
  struct Entry {
    std::unique_ptr<Component> component;
    int backup_rank, restore_rank;
  };
  std::vector<Entry> entries_;
};

// The registry of the built-in components (components/builtin.cc).
const ComponentRegistry& Components();

}  // namespace stb
