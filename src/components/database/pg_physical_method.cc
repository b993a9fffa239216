// Whether a physical base backup can run (DB_BACKUP_METHOD's checks) and where its WAL comes
// from (DB_WAL_SOURCE), from the normal SQL connection and one walsender connection.
#include "components/database/engines.h"
#include "components/database/pg_replication.h"
#include "core/parse.h"

namespace stb {

using json = nlohmann::json;

StatusOr<std::string> OneSetting(PgConnection& sql, const std::string& name) {
  ASSIGN_OR_RETURN(auto rows, sql.Query("SELECT setting FROM pg_settings WHERE name = " + sql.QuoteLiteral(name)));
  if (rows.empty() || rows[0].empty() || !rows[0][0]) return std::string();
  return *rows[0][0];
}

// archive when archive_command pushes to us, included otherwise (with the warning).
std::string ChooseWalSource(PgConnection& sql, const std::string& configured, const std::string& slot, json& warnings) {
  if (configured != "auto") return configured;
  auto receiving = sql.Query(
      "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'physical' AND active AND "
      "slot_name = " +
      sql.QuoteLiteral(slot));
  if (receiving.ok() && receiving->size() == 1 && !(*receiving)[0].empty() && (*receiving)[0][0].value_or("0") != "0") {
    return "archive";  // wal-receive stores the stream
  }
  auto mode = OneSetting(sql, "archive_mode");
  auto cmd = OneSetting(sql, "archive_command");
  if (mode.ok() && cmd.ok() && (*mode == "on" || *mode == "always") && cmd->find("wal-push") != std::string::npos) {
    return "archive";
  }
  warnings.push_back(
      "no WAL archiving: point-in-time recovery needs archive_command (wal-push) or wal-receive on slot " + slot +
      "; the backup includes its own WAL");
  return "included";
}

std::string PhysicalBackupBlocker(PgConnection& sql, const DbEndpoint& ep) {
  std::string user = ep.user;
  if (sql.server_version() < 150000) {
    return "the server is PostgreSQL " + std::to_string(sql.server_version() / 10000) +
           "; physical backups need 15 or newer";
  }
  auto rows = sql.Query(
      "SELECT r.rolsuper OR r.rolreplication, current_setting('wal_level'), "
      "current_setting('max_wal_senders')::int, (SELECT count(*) FROM pg_stat_replication), current_user "
      "FROM pg_roles r WHERE r.rolname = current_user");
  if (!rows.ok()) return "checking the role and wal_level failed: " + rows.status().message();
  if (rows->size() != 1 || (*rows)[0].size() < 5) return "the server did not describe the current role";
  const PgRow& r = (*rows)[0];
  if (r[4]) user = *r[4];
  if (!r[0] || *r[0] != "t")
    return "DB_USER '" + user + "' lacks the REPLICATION attribute (ALTER ROLE " + user + " REPLICATION)";
  if (!r[1] || *r[1] == "minimal") return "wal_level is minimal (set wal_level = replica and restart)";
  auto senders = r[2] ? ParseUintCapped(*r[2], 1 << 20) : std::nullopt;
  auto busy = r[3] ? ParseUintCapped(*r[3], 1 << 20) : std::nullopt;
  if (senders && busy && *busy >= *senders) {
    return "max_wal_senders (" + *r[2] + ") are all in use";
  }
  auto rc = PgReplicationConn::Connect(ep, "spacetime_backup");
  auto sys = rc.ok() ? (*rc)->IdentifySystem() : StatusOr<PgReplicationConn::SystemInfo>(rc.status());
  if (!sys.ok()) {
    return "pg_hba.conf has no 'replication' line for user " + user + " from this host (" + sys.status().message() +
           ")";
  }
  return "";
}

}  // namespace stb
