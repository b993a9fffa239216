// One function per command; main.cc parses the command line and calls them. Each returns the
// process exit status (0 only on full success).
#pragma once

#include <string>
#include <vector>

#include "config/settings.h"

namespace stb {

int RunInit(const Settings& s);

struct BackupArgs {
  std::string type;    // "full" or "incremental"
  std::string parent;  // incremental: backup id or a path ending in one; "" = latest
  bool progress = true;
};
int RunBackup(const Settings& s, const BackupArgs& a);

struct RestoreArgs {
  std::string backup_id;
  std::string location = "local";
  std::vector<std::string> components;  // empty: all in the backup
  std::string target;                   // "": original locations
  std::string target_db;                // database: restore into this database instead of DB_NAME
  bool sync = false;                    // flush to disk before reporting success
  bool live = false;                    // redis: load into the running server by replication
  bool progress = true;
};
int RunRestore(const Settings& s, const RestoreArgs& a);

int RunSnapshots(const Settings& s, bool json);

struct CheckArgs {
  bool read_data = false;
  double percent = 100;
  std::string location = "local";
};
int RunCheck(const Settings& s, const CheckArgs& a);

int RunKeyGenerate(const std::string& path);
int RunKeyList(const Settings& s);
int RunKeyAdd(const Settings& s, const std::string& new_key_file);
int RunKeyRemove(const Settings& s, const std::string& key_id);
int RunKeyRotate(const Settings& s, const std::string& new_key_file);

}  // namespace stb
