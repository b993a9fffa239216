#include "components/database/pg_client.h"

#include <poll.h>

#include <cerrno>
#include <chrono>

#include <libpq-fe.h>

namespace stb {

namespace {

bool Has(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

std::string FirstLine(std::string s) {
  // libpq prefixes "connection to server at ... failed: " and may add hints on later lines.
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> DbEndpoint::LibpqEnv(const std::string& dbname) const {
  std::vector<std::pair<std::string, std::string>> env;
  if (!host.empty()) env.emplace_back("PGHOST", host);
  if (port > 0) env.emplace_back("PGPORT", std::to_string(port));
  env.emplace_back("PGDATABASE", dbname.empty() ? name : dbname);
  if (!user.empty()) env.emplace_back("PGUSER", user);
  if (!password.empty()) env.emplace_back("PGPASSWORD", password);
  if (!sslmode.empty()) env.emplace_back("PGSSLMODE", sslmode);
  env.emplace_back("PGAPPNAME", "spacetime-backup");
  env.emplace_back("PGCONNECT_TIMEOUT", "10");
  return env;
}

std::string DbEndpoint::Describe() const {
  return (user.empty() ? "" : user + "@") + host + ":" + (port > 0 ? std::to_string(port) : "5432") + "/" + name;
}

std::string ExplainConnectError(const std::string& msg, const DbEndpoint& ep, const std::string& dbname) {
  std::string where = ep.host + ":" + (ep.port > 0 ? std::to_string(ep.port) : "5432");
  std::string db = dbname.empty() ? ep.name : dbname;
  if (Has(msg, "Connection refused"))
    return "cannot connect to the database at " + where +
           ": connection refused (check DB_HOST and DB_PORT, and that the server is running)";
  if (Has(msg, "could not translate host name") || Has(msg, "Name or service not known"))
    return "cannot resolve the database host '" + ep.host + "' (check DB_HOST)";
  if (Has(msg, "timeout expired") || Has(msg, "timed out"))
    return "the database at " + where + " did not answer within 10 s (check DB_HOST, DB_PORT and the network)";
  if (Has(msg, "password authentication failed") || Has(msg, "no password supplied") ||
      Has(msg, "authentication failed"))
    return "the database refused the password of user '" + ep.user + "' (check DB_PASSWORD and DB_USER)";
  if (Has(msg, "does not exist") && Has(msg, "database"))
    return "the database '" + db + "' does not exist on " + where + " (check DB_NAME)";
  if (Has(msg, "role") && Has(msg, "does not exist"))
    return "the database user '" + ep.user + "' does not exist on " + where + " (check DB_USER)";
  if (Has(msg, "SSL") || Has(msg, "certificate") || Has(msg, "sslmode"))
    return "TLS to the database at " + where + " failed: " + FirstLine(msg) + " (check DB_SSLMODE)";
  if (Has(msg, "pg_hba.conf"))
    return "the database at " + where + " does not allow this client: " + FirstLine(msg) +
           " (check DB_USER, DB_SSLMODE and the server's pg_hba.conf)";
  return "cannot connect to the database at " + where + ": " + FirstLine(msg) + " (check DB_HOST, DB_PORT, DB_USER)";
}

StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(const DbEndpoint& ep, const std::string& dbname) {
  return Open(ep, dbname, "", "spacetime-backup");
}

StatusOr<std::unique_ptr<PgConnection>> PgConnection::ConnectReplication(const DbEndpoint& ep,
                                                                         const std::string& application_name) {
  return Open(ep, "", "true", application_name);
}

StatusOr<std::unique_ptr<PgConnection>> PgConnection::Open(const DbEndpoint& ep, const std::string& dbname,
                                                           const std::string& replication,
                                                           const std::string& app_name) {
  std::vector<const char*> keys, values;
  std::string port = ep.port > 0 ? std::to_string(ep.port) : "";
  const std::string& db = dbname.empty() ? ep.name : dbname;
  auto add = [&](const char* k, const std::string& v) {
    if (v.empty()) return;
    keys.push_back(k);
    values.push_back(v.c_str());
  };
  add("host", ep.host);
  add("port", port);
  add("dbname", db);
  add("user", ep.user);
  add("password", ep.password);
  add("sslmode", ep.sslmode);
  add("replication", replication);
  add("application_name", app_name);
  keys.push_back("connect_timeout");
  values.push_back("10");
  keys.push_back(nullptr);
  values.push_back(nullptr);
  std::unique_ptr<PgConnection> c(new PgConnection());
  c->conn_ = PQconnectdbParams(keys.data(), values.data(), 0);
  if (c->conn_ == nullptr) return Internal("libpq could not allocate a connection");
  if (PQstatus(c->conn_) != CONNECTION_OK) {
    return Unavailable(ExplainConnectError(PQerrorMessage(c->conn_), ep, db));
  }
  return c;
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

namespace {

// Rows of a result (which is cleared), or its error.
StatusOr<std::vector<PgRow>> TakeRows(PGconn* conn, PGresult* res) {
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    std::string msg = FirstLine(res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
    PQclear(res);
    if (PQstatus(conn) != CONNECTION_OK) return Unavailable("the database connection was lost: " + msg);
    return Internal(msg);
  }
  std::vector<PgRow> rows(static_cast<size_t>(PQntuples(res)));
  int cols = PQnfields(res);
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int f = 0; f < cols; ++f) {
      int ri = static_cast<int>(r);
      if (PQgetisnull(res, ri, f)) {
        rows[r].emplace_back(std::nullopt);
      } else {
        rows[r].emplace_back(std::string(PQgetvalue(res, ri, f), static_cast<size_t>(PQgetlength(res, ri, f))));
      }
    }
  }
  PQclear(res);
  return rows;
}

}  // namespace

StatusOr<std::vector<PgRow>> PgConnection::Query(const std::string& sql) {
  return TakeRows(conn_, PQexec(conn_, sql.c_str()));
}

StatusOr<std::vector<PgRow>> PgConnection::Query(const std::string& sql, double timeout_seconds) {
  if (!PQsendQuery(conn_, sql.c_str()))
    return Unavailable("the database connection was lost: " + FirstLine(PQerrorMessage(conn_)));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  PGresult* last = nullptr;
  for (;;) {
    while (!PQisBusy(conn_)) {
      PGresult* r = PQgetResult(conn_);
      if (!r) return last ? TakeRows(conn_, last) : StatusOr<std::vector<PgRow>>(Internal("no result from the server"));
      PQclear(last);
      last = r;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int n = left.count() > 0 ? ::poll(&p, 1, int(left.count())) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      PQclear(last);
      // A server that stays silent: the connection cannot be reused (the answer may come later).
      return Unavailable("the database did not answer within " + std::to_string(int(timeout_seconds)) + " s");
    }
    if (!PQconsumeInput(conn_)) {
      PQclear(last);
      return Unavailable("the database connection was lost: " + FirstLine(PQerrorMessage(conn_)));
    }
  }
}

StatusOr<std::string> PgConnection::QueryValue(const std::string& sql) {
  ASSIGN_OR_RETURN(auto rows, Query(sql));
  if (rows.empty() || rows[0].empty() || !rows[0][0]) return Internal("no value from: " + sql);
  return *rows[0][0];
}

std::string PgConnection::QuoteIdent(const std::string& name) {
  char* q = PQescapeIdentifier(conn_, name.c_str(), name.size());
  std::string out = q ? q : "\"\"";
  PQfreemem(q);
  return out;
}

std::string PgConnection::QuoteLiteral(const std::string& value) {
  char* q = PQescapeLiteral(conn_, value.c_str(), value.size());
  std::string out = q ? q : "''";
  PQfreemem(q);
  return out;
}

int PgConnection::server_version() const { return PQserverVersion(conn_); }

}  // namespace stb
