// The walsender side of PostgreSQL the physical base backup needs (protocol-replication, PG15):
// IDENTIFY_SYSTEM, SHOW, and BASE_BACKUP's results and single COPY stream of typed messages.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "components/database/pg_client.h"
#include "core/status.h"

namespace stb {

// One CopyData message of BASE_BACKUP's stream. Views point into the message.
struct BackupCopyMessage {
  char type = 0;                  // 'n' new archive, 'd' data, 'm' manifest follows, 'p' progress; 0 = end
  std::string_view archive;       // 'n': "base.tar" or "<oid>.tar"
  std::string_view tablespace;    // 'n': the tablespace's location ("" for the data directory)
  std::span<const uint8_t> data;  // 'd'
  uint64_t progress = 0;          // 'p': bytes done in this tablespace
};
// Pure (fuzzed): an unknown type, a missing NUL, or a wrong length is Corrupt.
StatusOr<BackupCopyMessage> ParseBackupCopyMessage(std::span<const uint8_t> msg);

struct BackupTablespaceRow {
  uint32_t oid = 0;  // 0: the data directory
  std::string location;
  int64_t size = -1;  // -1: not sent
};

class PgReplicationConn {
 public:
  static StatusOr<std::unique_ptr<PgReplicationConn>> Connect(const DbEndpoint& ep, const std::string& app_name);

  struct SystemInfo {
    std::string system_id;  // decimal, as the server sends it
    uint32_t timeline = 0;
    uint64_t xlogpos = 0;
  };
  StatusOr<SystemInfo> IdentifySystem();
  StatusOr<std::string> Show(const std::string& guc);

  struct BackupStart {
    uint64_t lsn = 0;
    uint32_t tli = 0;
    std::vector<BackupTablespaceRow> tablespaces;
  };
  // Sends the BASE_BACKUP command and reads its first two results; the COPY stream follows.
  StatusOr<BackupStart> StartBaseBackup(const std::string& command);
  // The next message of the stream (type 0 at its end); valid until the next call.
  StatusOr<BackupCopyMessage> NextBackupMessage();
  // The end position, after the stream ended.
  StatusOr<std::pair<uint64_t, uint32_t>> FinishBaseBackup();
  // Cancels the running command; callable from another thread.
  void Cancel();
  // The server's WARNINGs while the backup ran (checksum failures), first lines only.
  const std::vector<std::string>& warnings() const { return warnings_; }
  PGconn* raw() { return conn_->raw(); }
  ~PgReplicationConn();

 private:
  PgReplicationConn() = default;
  std::unique_ptr<PgConnection> conn_;
  char* buf_ = nullptr;  // the last CopyData, owned by libpq's allocator
  std::vector<std::string> warnings_;
};

}  // namespace stb
