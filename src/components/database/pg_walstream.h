// PostgreSQL's physical streaming replication as wal-receive sees it: the pure codec of the COPY
// BOTH messages ('w' XLogData, 'k' keepalive in; 'r' standby status out) and a walsender session.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "components/database/pg_client.h"
#include "core/bytes.h"
#include "core/status.h"

namespace stb {

// PostgreSQL's timestamps: microseconds since 2000-01-01 00:00:00 UTC.
constexpr int64_t kPgEpochOffsetMicros = 946684800000000;
inline int64_t PgTimeFromUnixMicros(int64_t unix_us) { return unix_us - kPgEpochOffsetMicros; }
inline int64_t UnixMicrosFromPgTime(int64_t pg_us) { return pg_us + kPgEpochOffsetMicros; }

struct WalStreamMessage {
  enum Type : char { kXLogData = 'w', kKeepalive = 'k' } type = kXLogData;
  uint64_t data_start = 0;        // 'w': the LSN of data[0]
  uint64_t wal_end = 0;           // the server's end of WAL
  int64_t send_time = 0;          // PostgreSQL time
  bool reply_requested = false;   // 'k'
  std::span<const uint8_t> data;  // 'w': points into the message
};
// One CopyData payload from the server. Pure: fuzzed (fuzz/walstream_message_fuzz.cc).
StatusOr<WalStreamMessage> ParseWalStreamMessage(std::span<const uint8_t> msg);

// The 'r' message: written, flushed and applied are end positions (last byte + 1); applied 0 means
// "not applied" (we never replay). 34 bytes.
Bytes EncodeStandbyStatus(uint64_t written, uint64_t flushed, uint64_t applied, int64_t pg_now, bool reply_now);

// One walsender session. An interface so that the receiver's loop can be tested without a server.
class WalSource {
 public:
  virtual ~WalSource() = default;
  struct SystemInfo {
    uint64_t system_id = 0;
    uint32_t timeline = 0;
    uint64_t xlogpos = 0;
  };
  virtual StatusOr<SystemInfo> IdentifySystem() = 0;
  virtual StatusOr<uint32_t> SegmentSize() = 0;  // SHOW wal_segment_size, in bytes
  // SHOW max_slot_wal_keep_size in bytes; nullopt when unlimited (-1) or not known.
  virtual StatusOr<std::optional<uint64_t>> SlotKeepSize() { return std::optional<uint64_t>(); }
  // CREATE_REPLICATION_SLOT ... PHYSICAL RESERVE_WAL; one that exists already is success.
  virtual Status CreatePhysicalSlot(const std::string& slot) = 0;
  virtual Status DropSlot(const std::string& slot) = 0;
  // READ_REPLICATION_SLOT's restart_lsn; nullopt when the slot has none (or does not exist).
  virtual StatusOr<std::optional<uint64_t>> ReadSlotRestartLsn(const std::string& slot) = 0;
  // Whether PostgreSQL invalidated the slot (pg_replication_slots.wal_status = 'lost'): a slot
  // without a restart_lsn may merely not have reserved WAL yet.
  virtual StatusOr<bool> SlotLost(const std::string& slot) = 0;
  // TIMELINE_HISTORY: (file name, content).
  virtual StatusOr<std::pair<std::string, std::string>> TimelineHistory(uint32_t tli) = 0;
  virtual Status StartReplication(const std::string& slot, uint64_t lsn, uint32_t tli) = 0;

  struct Received {
    enum Kind { kNothing, kMessage, kEndOfTimeline } kind = kNothing;
    Bytes message;  // kMessage
  };
  // The next message, waiting at most timeout_ms (kNothing then, or on a signal).
  virtual StatusOr<Received> Receive(int timeout_ms) = 0;
  virtual Status Send(const Bytes& message) = 0;
  // After kEndOfTimeline: ends our side of the copy and reads the next timeline and its start.
  virtual StatusOr<std::pair<uint32_t, uint64_t>> FinishTimeline() = 0;
};

// The libpq session: a replication=true connection with application_name.
StatusOr<std::unique_ptr<WalSource>> ConnectWalSource(const DbEndpoint& ep, const std::string& application_name);

// "16MB", "1GB", "16777216" (SHOW wal_segment_size) in bytes.
StatusOr<uint64_t> ParsePgSize(std::string_view text);

}  // namespace stb
