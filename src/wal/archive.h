// PostgreSQL's archive_command and restore_command over the WAL store: wal-push makes a WAL file
// durable in the local repository, then copies the same sealed bytes offsite; wal-fetch gets one back.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "repository/repository.h"
#include "repository/wal_store.h"
#include "storage/storage.h"

namespace stb {

struct WalOffsite {
  std::string name;  // "s3", "azure", "gcs"
  std::shared_ptr<Storage> storage;
};

struct WalPushOptions {
  std::string path;                     // %p (relative to the data directory, where PG runs us)
  std::string pgdata;                   // "" = the directory above the file's pg_wal
  int compression = 1;                  // BACKUP_COMPRESSION
  std::string required_offsite;         // WAL_PUSH_OFFSITE: stored there too before success
  double offsite_timeout_seconds = 10;  // WAL_PUSH_OFFSITE_TIMEOUT: the others, best effort
  std::string outbox_dir;               // $BACKUP_STATE_DIR/wal-outbox
  double outbox_drain_seconds = 5;
};

struct WalPushResult {
  std::string object;
  std::string cluster;
  uint64_t end_lsn = 0;                // a segment's end position; 0 for other WAL files
  std::vector<std::string> stored_in;  // locations that have it now
  std::vector<std::string> warnings;   // offsite copies left in the outbox
  // Threads still copying to a slow location: the caller must end the process with _exit()
  // rather than return (they use the repository and the locations).
  bool copies_running = false;
  // Milliseconds per step ("read 3, seal 41, local 12, offsite 0"), logged: where a slow push
  // spends its time.
  std::string timing;
};

// The system identifier in global/pg_control (its first 8 bytes, host order).
StatusOr<uint64_t> ReadSystemIdentifier(const std::string& pgdata);

// A conflict (the name stored with other content) is kAlreadyExists; nothing is overwritten.
StatusOr<WalPushResult> PushWal(const Repository& repo, Storage& local, const std::vector<WalOffsite>& offsite,
                                const WalPushOptions& o);

// An outbox entry says that `object` (in the local repository) has yet to reach `location`:
// written before a copy starts, removed once it is there, drained by DrainWalOutbox.
Status WriteWalOutboxEntry(const std::string& outbox_dir, const std::string& location, const std::string& object);
void RemoveWalOutboxEntry(const std::string& outbox_dir, const std::string& location, const std::string& object);

// Copies what an earlier push left in the outbox to its locations, for at most `seconds`.
// Returns the entries still waiting.
size_t DrainWalOutbox(const Repository& repo, Storage& local, const std::vector<WalOffsite>& offsite,
                      const std::string& outbox_dir, double seconds);

struct WalFetchOptions {
  std::string file;           // %f
  std::string dest;           // %p
  std::string pgdata;         // "" = the current directory (PG runs restore_command in the data directory)
  uint64_t system_id = 0;     // 0: from pgdata's pg_control
  double retry_seconds = 60;  // WAL_FETCH_RETRY_SECONDS: an unreachable location is retried this long
};

// Ok: dest holds the whole file. kNotFound: not in the archive (restore_command exits 1). Any
// other error: cannot tell (exits 255, which stops recovery rather than ending it early).
Status FetchWal(const Repository& repo, Storage& from, const WalFetchOptions& o);

}  // namespace stb
