// A libpq connection to PostgreSQL or CockroachDB (same wire protocol) with Status results, and
// connection errors turned into one line that names the setting to check (DB_HOST, DB_PASSWORD...).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

typedef struct pg_conn PGconn;

namespace stb {

struct DbEndpoint {
  std::string host;      // DB_HOST
  int port = 0;          // DB_PORT; 0 = libpq's default (PGPORT or 5432)
  std::string name;      // DB_NAME
  std::string user;      // DB_USER; "" = libpq's default
  std::string password;  // DB_PASSWORD; "" = libpq's own (PGPASSWORD, ~/.pgpass). Never printed.
  std::string sslmode;   // DB_SSLMODE; "" = libpq's default
  // Environment for pg_dump/pg_restore: the same endpoint as PG* variables (password included).
  std::vector<std::pair<std::string, std::string>> LibpqEnv(const std::string& dbname) const;
  std::string Describe() const;  // "user@host:port/name", no password
};

using PgRow = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // dbname overrides endpoint.name (the maintenance database for CREATE DATABASE, say).
  static StatusOr<std::unique_ptr<PgConnection>> Connect(const DbEndpoint& ep, const std::string& dbname = "");
  // A walsender connection (libpq's replication=true, as pg_basebackup and pg_receivewal open):
  // it accepts replication commands (IDENTIFY_SYSTEM, BASE_BACKUP, START_REPLICATION), not SQL.
  // application_name is what synchronous_standby_names and pg_stat_replication see.
  static StatusOr<std::unique_ptr<PgConnection>> ConnectReplication(const DbEndpoint& ep,
                                                                    const std::string& application_name);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  StatusOr<std::vector<PgRow>> Query(const std::string& sql);
  // The same, giving up after timeout_seconds of silence (a server we cannot trust to answer);
  // the connection must then be dropped.
  StatusOr<std::vector<PgRow>> Query(const std::string& sql, double timeout_seconds);
  // One value of one row.
  StatusOr<std::string> QueryValue(const std::string& sql);
  Status Exec(const std::string& sql) { return Query(sql).status(); }
  std::string QuoteIdent(const std::string& name);
  std::string QuoteLiteral(const std::string& value);
  int server_version() const;  // 150004 for 15.4
  // The libpq handle, for the protocol-level modules of this component (COPY streams of
  // BASE_BACKUP and START_REPLICATION). The connection keeps ownership.
  PGconn* raw() { return conn_; }

 private:
  PgConnection() = default;
  static StatusOr<std::unique_ptr<PgConnection>> Open(const DbEndpoint& ep, const std::string& dbname,
                                                      const std::string& replication, const std::string& app_name);
  PGconn* conn_ = nullptr;
};

// The one-line message for a failed connection: what happened and which setting to check.
std::string ExplainConnectError(const std::string& libpq_message, const DbEndpoint& ep, const std::string& dbname);

}  // namespace stb
