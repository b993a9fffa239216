#include "components/database/pg_walstream.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "core/parse.h"
#include "repository/wal_store.h"

namespace stb {

namespace {

uint64_t GetBe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

void PutBe64(Bytes& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::string FirstLine(const char* s) {
  std::string m = s ? s : "";
  auto nl = m.find('\n');
  return nl == std::string::npos ? m : m.substr(0, nl);
}

// "requested WAL segment ... has already been removed": by SQLSTATE (58P01, undefined_file), which
// lc_messages does not translate, or by the English text from a server that sent no code.
bool WalRemoved(const PGresult* res, const std::string& msg) {
  const char* code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  if (code && std::string_view(code) == "58P01") return true;
  return msg.find("has already been removed") != std::string::npos;
}

class PgWalSource : public WalSource {
 public:
  PgWalSource(std::unique_ptr<PgConnection> c, DbEndpoint ep) : conn_(std::move(c)), ep_(std::move(ep)) {}
  ~PgWalSource() override {
    if (copy_buf_) PQfreemem(copy_buf_);
  }

  StatusOr<SystemInfo> IdentifySystem() override {
    ASSIGN_OR_RETURN(auto rows, conn_->Query("IDENTIFY_SYSTEM"));
    if (rows.size() != 1 || rows[0].size() < 3 || !rows[0][0] || !rows[0][1] || !rows[0][2]) {
      return Corrupt("IDENTIFY_SYSTEM: unexpected answer");
    }
    SystemInfo info;
    ASSIGN_OR_RETURN(info.system_id, ParseUint(*rows[0][0], UINT64_MAX, "system identifier"));
    ASSIGN_OR_RETURN(uint64_t tli, ParseUint(*rows[0][1], UINT32_MAX, "timeline"));
    info.timeline = static_cast<uint32_t>(tli);
    ASSIGN_OR_RETURN(info.xlogpos, ParseLsn(*rows[0][2]));
    return info;
  }

  StatusOr<uint32_t> SegmentSize() override {
    ASSIGN_OR_RETURN(std::string v, conn_->QueryValue("SHOW wal_segment_size"));
    ASSIGN_OR_RETURN(uint64_t n, ParsePgSize(v));
    if (!ValidSegmentSize(n) || n > kWalMaxSegmentSize) {
      return InvalidArgument("wal_segment_size " + v + " is not supported (at most 64MB)");
    }
    return static_cast<uint32_t>(n);
  }

  StatusOr<std::optional<uint64_t>> SlotKeepSize() override {
    ASSIGN_OR_RETURN(std::string v, conn_->QueryValue("SHOW max_slot_wal_keep_size"));
    if (v == "-1") return std::optional<uint64_t>();
    ASSIGN_OR_RETURN(uint64_t n, ParsePgSize(v));
    return std::optional<uint64_t>(n);
  }

  Status CreatePhysicalSlot(const std::string& slot) override {
    auto r = conn_->Query("CREATE_REPLICATION_SLOT " + conn_->QuoteIdent(slot) + " PHYSICAL RESERVE_WAL");
    if (!r.ok() && r.status().message().find("already exists") != std::string::npos) return Status::Ok();
    return r.status().Context("creating replication slot " + slot + " (WAL_SLOT)");
  }

  Status DropSlot(const std::string& slot) override {
    return conn_->Exec("DROP_REPLICATION_SLOT " + conn_->QuoteIdent(slot)).Context("dropping slot " + slot);
  }

  StatusOr<std::optional<uint64_t>> ReadSlotRestartLsn(const std::string& slot) override {
    ASSIGN_OR_RETURN(auto rows, conn_->Query("READ_REPLICATION_SLOT " + conn_->QuoteIdent(slot)));
    if (rows.empty() || rows[0].size() < 2 || !rows[0][1]) return std::optional<uint64_t>();
    ASSIGN_OR_RETURN(uint64_t lsn, ParseLsn(*rows[0][1]));
    return std::optional<uint64_t>(lsn);
  }

  // wal_status is SQL, which a walsender connection does not take: a short connection of its own.
  // A user allowed replication only (pg_hba) cannot open one: then a missing restart_lsn is taken
  // for lost, as READ_REPLICATION_SLOT shows an invalidated slot.
  StatusOr<bool> SlotLost(const std::string& slot) override {
    auto sql = PgConnection::Connect(ep_);
    if (!sql.ok()) {
      LogWarn("wal-receive: cannot read pg_replication_slots (" + sql.status().message() +
              "): a slot without restart_lsn is taken for lost");
      ASSIGN_OR_RETURN(auto restart, ReadSlotRestartLsn(slot));
      return !restart;
    }
    ASSIGN_OR_RETURN(auto rows, (*sql)->Query("SELECT wal_status FROM pg_replication_slots WHERE slot_name = " +
                                              (*sql)->QuoteLiteral(slot)));
    return !rows.empty() && !rows[0].empty() && rows[0][0].value_or("") == "lost";
  }

  StatusOr<std::pair<std::string, std::string>> TimelineHistory(uint32_t tli) override {
    ASSIGN_OR_RETURN(auto rows, conn_->Query("TIMELINE_HISTORY " + std::to_string(tli)));
    if (rows.size() != 1 || rows[0].size() < 2 || !rows[0][0] || !rows[0][1]) {
      return Corrupt("TIMELINE_HISTORY: unexpected answer");
    }
    return std::make_pair(*rows[0][0], *rows[0][1]);
  }

  Status StartReplication(const std::string& slot, uint64_t lsn, uint32_t tli) override {
    std::string cmd = "START_REPLICATION SLOT " + conn_->QuoteIdent(slot) + " PHYSICAL " + FormatLsn(lsn) +
                      " TIMELINE " + std::to_string(tli);
    PGresult* res = PQexec(conn_->raw(), cmd.c_str());
    ExecStatusType st = PQresultStatus(res);
    std::string msg = FirstLine(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_->raw()));
    bool removed = WalRemoved(res, msg);
    PQclear(res);
    if (st == PGRES_COPY_BOTH) return Status::Ok();
    if (PQstatus(conn_->raw()) != CONNECTION_OK) return Unavailable("the replication connection was lost: " + msg);
    if (removed) return NotFound(msg);
    return Internal(cmd + ": " + msg);
  }

  StatusOr<Received> Receive(int timeout_ms) override {
    Received out;
    if (copy_buf_) {
      PQfreemem(copy_buf_);
      copy_buf_ = nullptr;
    }
    for (int round = 0; round < 2; ++round) {
      int n = PQgetCopyData(conn_->raw(), &copy_buf_, 1);
      if (n > 0) {
        out.kind = Received::kMessage;
        out.message.assign(reinterpret_cast<uint8_t*>(copy_buf_), reinterpret_cast<uint8_t*>(copy_buf_) + n);
        return out;
      }
      if (n == -1) {
        out.kind = Received::kEndOfTimeline;
        return out;
      }
      if (n == -2) return Unavailable("replication stream: " + FirstLine(PQerrorMessage(conn_->raw())));
      if (round == 1) break;
      pollfd p{PQsocket(conn_->raw()), POLLIN, 0};
      int pr = ::poll(&p, 1, timeout_ms);
      if (pr < 0 && errno != EINTR) return ErrnoStatus("poll on the replication connection", errno);
      if (pr <= 0) return out;
      if (PQconsumeInput(conn_->raw()) == 0) {
        return Unavailable("replication stream: " + FirstLine(PQerrorMessage(conn_->raw())));
      }
    }
    return out;
  }

  Status Send(const Bytes& message) override {
    if (PQputCopyData(conn_->raw(), reinterpret_cast<const char*>(message.data()), static_cast<int>(message.size())) <=
            0 ||
        PQflush(conn_->raw()) != 0) {
      return Unavailable("sending to the server: " + FirstLine(PQerrorMessage(conn_->raw())));
    }
    return Status::Ok();
  }

  StatusOr<std::pair<uint32_t, uint64_t>> FinishTimeline() override {
    PQputCopyEnd(conn_->raw(), nullptr);
    PQflush(conn_->raw());
    std::optional<std::pair<uint32_t, uint64_t>> next;
    std::string error;
    bool removed = false;
    while (PGresult* res = PQgetResult(conn_->raw())) {
      ExecStatusType st = PQresultStatus(res);
      if (st == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 2) {
        auto tli = ParseUint(PQgetvalue(res, 0, 0), UINT32_MAX, "next timeline");
        auto pos = ParseLsn(PQgetvalue(res, 0, 1));
        if (tli.ok() && pos.ok()) next = std::make_pair(static_cast<uint32_t>(*tli), *pos);
      } else if (st == PGRES_FATAL_ERROR) {
        error = FirstLine(PQresultErrorMessage(res));
        removed = WalRemoved(res, error);
      }
      PQclear(res);
    }
    // Streaming from WAL the server has removed ends here, after START_REPLICATION succeeded.
    if (removed) return NotFound(error);
    if (!error.empty()) return Unavailable("end of the replication stream: " + error);
    if (!next) return Unavailable("the server ended the stream without naming a next timeline");
    return *next;
  }

 private:
  std::unique_ptr<PgConnection> conn_;
  DbEndpoint ep_;  // for SlotLost's SQL connection
  char* copy_buf_ = nullptr;
};

}  // namespace

StatusOr<WalStreamMessage> ParseWalStreamMessage(std::span<const uint8_t> msg) {
  if (msg.empty()) return Corrupt("replication stream: an empty message");
  WalStreamMessage m;
  if (msg[0] == 'w') {
    if (msg.size() < 25) return Corrupt("replication stream: XLogData shorter than its 25-byte header");
    m.type = WalStreamMessage::kXLogData;
    m.data_start = GetBe64(&msg[1]);
    m.wal_end = GetBe64(&msg[9]);
    m.send_time = static_cast<int64_t>(GetBe64(&msg[17]));
    m.data = msg.subspan(25);
    if (m.data.size() > UINT64_MAX - m.data_start) return Corrupt("replication stream: XLogData past the end of WAL");
    return m;
  }
  if (msg[0] == 'k') {
    if (msg.size() != 18) return Corrupt("replication stream: keepalive of " + std::to_string(msg.size()) + " bytes");
    m.type = WalStreamMessage::kKeepalive;
    m.wal_end = GetBe64(&msg[1]);
    m.send_time = static_cast<int64_t>(GetBe64(&msg[9]));
    if (msg[17] > 1) return Corrupt("replication stream: keepalive reply flag " + std::to_string(msg[17]));
    m.reply_requested = msg[17] == 1;
    return m;
  }
  return Corrupt("replication stream: unknown message type " + std::to_string(msg[0]));
}

Bytes EncodeStandbyStatus(uint64_t written, uint64_t flushed, uint64_t applied, int64_t pg_now, bool reply_now) {
  Bytes out;
  out.reserve(34);
  out.push_back('r');
  PutBe64(out, written);
  PutBe64(out, flushed);
  PutBe64(out, applied);
  PutBe64(out, static_cast<uint64_t>(pg_now));
  out.push_back(reply_now ? 1 : 0);
  return out;
}

StatusOr<uint64_t> ParsePgSize(std::string_view text) {
  static const std::pair<std::string_view, uint64_t> kUnits[] = {
      {"kB", 1ull << 10}, {"MB", 1ull << 20}, {"GB", 1ull << 30}, {"TB", 1ull << 40}, {"B", 1}};
  for (const auto& [suffix, mult] : kUnits) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      ASSIGN_OR_RETURN(uint64_t n, ParseUint(text.substr(0, text.size() - suffix.size()), UINT64_MAX / mult, "size"));
      return n * mult;
    }
  }
  return ParseUint(text, UINT64_MAX, "size");
}

StatusOr<std::unique_ptr<WalSource>> ConnectWalSource(const DbEndpoint& ep, const std::string& application_name) {
  ASSIGN_OR_RETURN(auto conn, PgConnection::ConnectReplication(ep, application_name));
  return std::unique_ptr<WalSource>(new PgWalSource(std::move(conn), ep));
}

}  // namespace stb
