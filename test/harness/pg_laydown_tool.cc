// Test driver for LayDownPhysical until the restore command calls it (issue 16, WP4):
//   pg_laydown_tool BACKUP_ID TARGET_DIR [OID=DIR ...]
// Opens the local repository of BACKUP_ROOT with BACKUP_ENCRYPTION_KEY and lays the snapshot's
// database entry down; prints the result as JSON; exit 1 with the error on failure.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "components/database/pg_physical_laydown.h"
#include "core/parse.h"
#include "crypto/key_source.h"
#include "repository/repository.h"
#include "repository/snapshots.h"

using namespace stb;

int main(int argc, char** argv) {
  auto die = [](const std::string& m) {
    std::cerr << "pg_laydown_tool: " << m << "\n";
    return 1;
  };
  if (argc < 3) return die("usage: pg_laydown_tool BACKUP_ID TARGET_DIR [OID=DIR ...]");
  const char* root = std::getenv("BACKUP_ROOT");
  const char* keyfile = std::getenv("BACKUP_ENCRYPTION_KEY");
  if (!root || !keyfile) return die("set BACKUP_ROOT and BACKUP_ENCRYPTION_KEY");
  auto storage = OpenLocalStorage(root, false);
  if (!storage.ok()) return die(storage.status().message());
  auto key = LoadKeyFile(keyfile);
  if (!key.ok()) return die(key.status().message());
  auto repo = Repository::Open(std::shared_ptr<Storage>(std::move(*storage)), *key);
  if (!repo.ok()) return die(repo.status().message());
  if (Status st = (*repo)->LoadIndex(); !st.ok()) return die(st.message());
  auto snap = FindSnapshot(**repo, argv[1]);
  if (!snap.ok()) return die(snap.status().message());
  auto parsed = Snapshot::FromJson(snap->doc);
  if (!parsed.ok()) return die(parsed.status().message());
  auto it = parsed->components.find("database");
  if (it == parsed->components.end()) return die("the snapshot has no database entry");
  LayDownOptions opt;
  opt.target_dir = argv[2];
  for (int i = 3; i < argc; ++i) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    auto oid = ParseUint(a.substr(0, eq == std::string::npos ? 0 : eq), UINT32_MAX, "tablespace oid");
    if (!oid.ok() || eq == std::string::npos) return die("tablespace mapping '" + a + "' is not OID=DIR");
    opt.tablespace_map[static_cast<uint32_t>(*oid)] = a.substr(eq + 1);
  }
  Progress progress;
  auto r = LayDownPhysical(**repo, it->second, opt, progress);
  if (!r.ok()) return die(r.status().message());
  nlohmann::json out = r->report;
  out["data_directory"] = r->data_directory;
  out["files"] = r->files;
  for (const auto& [oid, dir] : r->tablespaces) out["tablespaces"][std::to_string(oid)] = dir;
  std::cout << out.dump() << "\n";
  return 0;
}
