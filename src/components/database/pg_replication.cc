#include "components/database/pg_replication.h"

#include <libpq-fe.h>

#include <cstring>

#include "core/parse.h"
#include "repository/wal_store.h"

namespace stb {

namespace {

std::string FirstLine(const char* s) {
  std::string m = s ? s : "";
  size_t nl = m.find('\n');
  return nl == std::string::npos ? m : m.substr(0, nl);
}

// Takes a NUL-terminated string from the front of rest.
StatusOr<std::string_view> TakeCString(std::span<const uint8_t>& rest, const char* what) {
  const void* nul = std::memchr(rest.data(), 0, rest.size());
  if (!nul) return Corrupt(std::string("base backup stream: ") + what + " is not NUL-terminated");
  size_t n = static_cast<const uint8_t*>(nul) - rest.data();
  std::string_view s(reinterpret_cast<const char*>(rest.data()), n);
  rest = rest.subspan(n + 1);
  return s;
}

void CollectNotice(void* arg, const PGresult* res) {
  const char* sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
  if (sev && std::strcmp(sev, "WARNING") == 0) {
    static_cast<std::vector<std::string>*>(arg)->push_back(FirstLine(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)));
  }
}

// One row of text values of a result that must be TUPLES_OK.
Status ExpectTuples(PGresult* res, PGconn* conn, const char* what) {
  if (!res)
    return Internal(std::string("base backup: the server closed the stream before ") + what + ": " +
                    FirstLine(PQerrorMessage(conn)));
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    std::string msg = FirstLine(PQresultErrorMessage(res));
    PQclear(res);
    return Internal("BASE_BACKUP failed: " + msg);
  }
  return Status::Ok();
}

StatusOr<std::pair<uint64_t, uint32_t>> LsnRow(PGresult* res, const char* what) {
  if (PQntuples(res) != 1 || PQnfields(res) < 2 || PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1)) {
    PQclear(res);
    return Corrupt(std::string("base backup: unreadable ") + what + " position");
  }
  auto lsn = ParseLsn(PQgetvalue(res, 0, 0));
  auto tli = ParseUint(PQgetvalue(res, 0, 1), UINT32_MAX, std::string(what) + " timeline");
  PQclear(res);
  if (!lsn.ok()) return lsn.status();
  if (!tli.ok()) return tli.status();
  return std::make_pair(*lsn, static_cast<uint32_t>(*tli));
}

}  // namespace

StatusOr<BackupCopyMessage> ParseBackupCopyMessage(std::span<const uint8_t> msg) {
  if (msg.empty()) return Corrupt("base backup stream: an empty message");
  BackupCopyMessage m;
  m.type = static_cast<char>(msg[0]);
  std::span<const uint8_t> rest = msg.subspan(1);
  switch (m.type) {
    case 'n': {
      ASSIGN_OR_RETURN(m.archive, TakeCString(rest, "the archive name"));
      ASSIGN_OR_RETURN(m.tablespace, TakeCString(rest, "the tablespace path"));
      if (!rest.empty()) return Corrupt("base backup stream: trailing bytes after a new-archive message");
      if (m.archive.empty()) return Corrupt("base backup stream: an archive without a name");
      return m;
    }
    case 'd':
      m.data = rest;
      return m;
    case 'm':
      if (!rest.empty()) return Corrupt("base backup stream: bytes after the manifest marker");
      return m;
    case 'p':
      if (rest.size() != 8)
        return Corrupt("base backup stream: a progress message of " + std::to_string(rest.size()) + " bytes, not 8");
      for (uint8_t b : rest) m.progress = m.progress << 8 | b;
      return m;
    default:
      return Corrupt("base backup stream: unknown message type " + std::to_string(msg[0]));
  }
}

StatusOr<std::unique_ptr<PgReplicationConn>> PgReplicationConn::Connect(const DbEndpoint& ep,
                                                                        const std::string& app_name) {
  ASSIGN_OR_RETURN(auto c, PgConnection::ConnectReplication(ep, app_name));
  std::unique_ptr<PgReplicationConn> r(new PgReplicationConn());
  r->conn_ = std::move(c);
  PQsetNoticeReceiver(r->conn_->raw(), CollectNotice, &r->warnings_);
  return r;
}

PgReplicationConn::~PgReplicationConn() {
  if (buf_) PQfreemem(buf_);
}

StatusOr<PgReplicationConn::SystemInfo> PgReplicationConn::IdentifySystem() {
  ASSIGN_OR_RETURN(auto rows, conn_->Query("IDENTIFY_SYSTEM"));
  if (rows.size() != 1 || rows[0].size() < 3 || !rows[0][0] || !rows[0][1] || !rows[0][2]) {
    return Corrupt("IDENTIFY_SYSTEM answered an unreadable row");
  }
  SystemInfo s;
  s.system_id = *rows[0][0];
  RETURN_IF_ERROR(ParseUint(s.system_id, UINT64_MAX, "system identifier").status());
  ASSIGN_OR_RETURN(uint64_t tli, ParseUint(*rows[0][1], UINT32_MAX, "timeline"));
  s.timeline = static_cast<uint32_t>(tli);
  ASSIGN_OR_RETURN(s.xlogpos, ParseLsn(*rows[0][2]));
  return s;
}

StatusOr<std::string> PgReplicationConn::Show(const std::string& guc) {
  ASSIGN_OR_RETURN(auto rows, conn_->Query("SHOW " + guc));
  if (rows.size() != 1 || rows[0].empty() || !rows[0][0]) return Corrupt("SHOW " + guc + " answered no value");
  return *rows[0][0];
}

StatusOr<PgReplicationConn::BackupStart> PgReplicationConn::StartBaseBackup(const std::string& command) {
  PGconn* c = conn_->raw();
  if (!PQsendQuery(c, command.c_str()))
    return Internal("BASE_BACKUP could not be sent: " + FirstLine(PQerrorMessage(c)));
  BackupStart b;
  PGresult* res = PQgetResult(c);
  RETURN_IF_ERROR(ExpectTuples(res, c, "the start position"));
  ASSIGN_OR_RETURN(auto start, LsnRow(res, "start"));
  b.lsn = start.first;
  b.tli = start.second;
  res = PQgetResult(c);
  RETURN_IF_ERROR(ExpectTuples(res, c, "the tablespace list"));
  for (int i = 0; i < PQntuples(res); ++i) {
    BackupTablespaceRow t;
    if (!PQgetisnull(res, i, 0)) {
      auto oid = ParseUint(PQgetvalue(res, i, 0), UINT32_MAX, "tablespace oid");
      if (!oid.ok()) {
        PQclear(res);
        return oid.status();
      }
      t.oid = static_cast<uint32_t>(*oid);
    }
    if (!PQgetisnull(res, i, 1)) t.location = PQgetvalue(res, i, 1);
    if (PQnfields(res) > 2 && !PQgetisnull(res, i, 2)) {
      auto size = ParseInt(PQgetvalue(res, i, 2), 0, INT64_MAX, "tablespace size");
      if (size.ok()) t.size = *size;
    }
    b.tablespaces.push_back(std::move(t));
  }
  PQclear(res);
  res = PQgetResult(c);
  if (!res || PQresultStatus(res) != PGRES_COPY_OUT) {
    std::string msg = res ? FirstLine(PQresultErrorMessage(res)) : FirstLine(PQerrorMessage(c));
    if (res) PQclear(res);
    return Internal("BASE_BACKUP did not start its data stream: " + msg);
  }
  PQclear(res);
  return b;
}

StatusOr<BackupCopyMessage> PgReplicationConn::NextBackupMessage() {
  if (buf_) {
    PQfreemem(buf_);
    buf_ = nullptr;
  }
  PGconn* c = conn_->raw();
  // Without waiting first: the data is most often there already, and a blocking call polls the
  // socket before each read (half the system calls of a base backup). When nothing is buffered
  // the blocking call waits, the way libpq does it (it knows about TLS buffers too).
  int n = PQgetCopyData(c, &buf_, 1);
  if (n == 0 && PQconsumeInput(c)) n = PQgetCopyData(c, &buf_, 1);
  if (n == 0) n = PQgetCopyData(c, &buf_, 0);
  if (n == -1) return BackupCopyMessage{};
  if (n < 0) return Internal("base backup stream failed: " + FirstLine(PQerrorMessage(c)));
  return ParseBackupCopyMessage(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(buf_), static_cast<size_t>(n)));
}

StatusOr<std::pair<uint64_t, uint32_t>> PgReplicationConn::FinishBaseBackup() {
  PGconn* c = conn_->raw();
  std::optional<std::pair<uint64_t, uint32_t>> end;
  Status err;
  // The copy's own completion, then the end position, then the command's completion.
  while (PGresult* res = PQgetResult(c)) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK && !end && PQntuples(res) == 1) {
      auto e = LsnRow(res, "end");
      if (!e.ok()) {
        err = e.status();
      } else {
        end = *e;
      }
      continue;
    }
    if (st == PGRES_FATAL_ERROR && err.ok())
      err = Internal("BASE_BACKUP failed: " + FirstLine(PQresultErrorMessage(res)));
    PQclear(res);
  }
  RETURN_IF_ERROR(err);
  if (!end) return Corrupt("BASE_BACKUP ended without its end position");
  return *end;
}

void PgReplicationConn::Cancel() {
  if (PGcancel* cancel = PQgetCancel(conn_->raw())) {
    char err[256];
    PQcancel(cancel, err, sizeof err);
    PQfreeCancel(cancel);
  }
}

}  // namespace stb
