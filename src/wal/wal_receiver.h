// wal-receive: a resident receiver on a physical replication slot that stores WAL as it arrives,
// a part every WAL_RECEIVE_FLUSH_MS and whole segments, and ships both to the cloud locations.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "components/database/pg_walstream.h"
#include "core/bytes.h"
#include "core/status.h"
#include "core/stop.h"
#include "repository/repository.h"
#include "repository/wal_store.h"
#include "storage/storage.h"
#include "wal/archive.h"
#include "wal/slot_loss.h"

namespace stb {

// The bytes of the segment being received, and what of them is durable in the local repository.
// Invariant: the buffer holds [segment start, received) of one timeline.
class WalSink {
 public:
  // Told of every object once it is durable locally (the shippers take it from there).
  struct Listener {
    virtual ~Listener() = default;
    virtual void OnPart(uint32_t tli, uint64_t segno, uint32_t begin, std::span<const uint8_t> bytes) = 0;
    virtual void OnSegment(const WalSealed& sealed) = 0;
  };
  WalSink(const WalStore& store, Storage& local, uint64_t sysid, uint32_t seg_size);
  void set_listener(Listener* l) { listener_ = l; }

  // Starts a segment afresh at lsn (rounded down to its segment start).
  void Begin(uint32_t tli, uint64_t lsn);
  // Forgets what is not durable, for a stream restarted at flushed().
  void Rewind() { received_ = flushed_; }
  // Bytes at `start`, which must be received(); a complete segment is stored (kind 0) at once.
  Status Append(uint64_t start, std::span<const uint8_t> data);
  // Stores [flushed, received) as a part; durable before it returns.
  Status Flush();

  bool started() const { return tli_ != 0; }
  uint32_t tli() const { return tli_; }
  uint64_t received() const { return received_; }
  uint64_t flushed() const { return flushed_; }
  // The highest position ever durable: what the server may be told (never more).
  uint64_t durable() const { return durable_; }
  size_t parts_stored() const { return parts_; }
  size_t segments_stored() const { return segments_; }

 private:
  uint64_t SegStart(uint64_t lsn) const { return lsn - lsn % seg_size_; }
  Status StoreSegment();

  const WalStore& store_;
  Storage& local_;
  uint64_t sysid_;
  uint32_t seg_size_;
  Listener* listener_ = nullptr;
  uint32_t tli_ = 0;
  uint64_t seg_start_ = 0, received_ = 0, flushed_ = 0, durable_ = 0;
  Bytes buf_;
  size_t parts_ = 0, segments_ = 0;
};

// One cloud location: about once per interval, one part with everything received since its last
// upload; each complete segment as the same sealed bytes (noted in the outbox first).
class WalShipper : public WalSink::Listener {
 public:
  WalShipper(const Repository& repo, const WalStore& store, Storage& local, WalOffsite where, uint64_t sysid,
             uint32_t seg_size, std::string outbox_dir, int interval_ms);
  ~WalShipper() override;
  void OnPart(uint32_t tli, uint64_t segno, uint32_t begin, std::span<const uint8_t> bytes) override;
  void OnSegment(const WalSealed& sealed) override;
  // Ends the thread; with last_pass, ships what is pending first.
  void Stop(bool last_pass);
  // How far each location has it: the end of the newest thing uploaded.
  uint64_t shipped_lsn() const { return shipped_.load(); }
  size_t uploads() const { return uploads_.load(); }

 private:
  struct Pending {
    uint32_t begin = 0;
    Bytes bytes;
  };
  void Loop();
  void ShipOnce();

  const Repository& repo_;
  const WalStore& store_;
  Storage& local_;
  WalOffsite where_;
  uint64_t sysid_;
  uint32_t seg_size_;
  std::string outbox_dir_;
  int interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::pair<uint32_t, uint64_t>, Pending> parts_;  // (tli, segno)
  std::vector<WalSealed> segments_;
  std::atomic<uint64_t> shipped_{0};
  std::atomic<size_t> uploads_{0};
  std::thread thread_;
};

struct WalReceiverOptions {
  std::string slot = "spacetime_backup";  // WAL_SLOT
  int flush_ms = 1000;                    // WAL_RECEIVE_FLUSH_MS
  int status_interval_ms = 10000;         // WAL_STATUS_INTERVAL (seconds in the setting)
  bool sync = false;                      // WAL_RECEIVE_SYNC / --sync: flush and report after every batch
  int offsite_interval_ms = 1000;         // WAL_OFFSITE_INTERVAL_MS
  int compression = 1;                    // BACKUP_COMPRESSION
  std::string outbox_dir;                 // $BACKUP_STATE_DIR/wal-outbox
  double max_backoff_seconds = 30;
  // WAL_BEHIND_BYTES: wal_behind fires when the slot holds more than this (or half the server's
  // max_slot_wal_keep_size, if smaller) of WAL not yet stored, or a cloud location lags as much.
  uint64_t behind_bytes = uint64_t{1} << 30;
  // Told of WAL the server removed before it was stored (the command records it for check/schedule).
  std::function<void(const WalLoss&)> on_loss;
};

using WalSourceFactory = std::function<StatusOr<std::unique_ptr<WalSource>>()>;
// (event, severity, message): wal_slot_lost, wal_behind, wal_conflict.
using WalAlertFn = std::function<void(const std::string&, const std::string&, const std::string&)>;

class WalReceiver {
 public:
  WalReceiver(const Repository& repo, Storage& local, std::vector<WalOffsite> offsite, WalReceiverOptions o,
              const StopToken& stop, WalAlertFn alert = nullptr);
  ~WalReceiver();
  // Until stopped: connects, streams, reconnects with backoff (1 s to max_backoff_seconds). On a
  // stop: the last part stored, the last status sent, the shippers given 10 s; then Ok.
  Status Run(const WalSourceFactory& connect);
  // One connection's worth; returns Ok on a stop, an error when the session ended otherwise.
  Status RunSession(WalSource& src);
  // The shippers' last pass, then their end (Run does it when stopped).
  void FinishShipping();
  const WalSink* sink() const { return sink_.get(); }

 private:
  Status Setup(WalSource& src, uint64_t* start, uint32_t* tli);
  Status StoreHistory(WalSource& src, uint32_t tli);
  Status Start(WalSource& src, uint64_t start, uint32_t tli);
  Status Stream(WalSource& src);
  Status Handle(const Bytes& msg, bool* reply);
  Status FlushAndReport(WalSource& src, bool reply_now);
  Status Report(WalSource& src, bool reply_now);
  // The slot was invalidated or the server removed WAL from `from` on: recreates the slot if it
  // is useless, alerts wal_slot_lost with the range, and begins again where the server has WAL.
  Status LoseWal(WalSource& src, uint64_t from, uint32_t tli, const std::string& why);
  void WatchBehind();

  const Repository& repo_;
  Storage& local_;
  std::vector<WalOffsite> offsite_;
  WalReceiverOptions o_;
  const StopToken& stop_;
  WalAlertFn alert_;
  uint64_t sysid_ = 0;
  uint32_t seg_size_ = 0;
  uint64_t server_end_ = 0;
  uint64_t behind_limit_ = 0;
  uint64_t offsite_base_ = 0;           // durable at the first session: shippers count from here
  bool lost_pending_ = false;           // the last stream ended with "already been removed"
  std::map<std::string, bool> behind_;  // "slot" or a location -> wal_behind raised
  std::unique_ptr<WalStore> store_;
  std::unique_ptr<WalSink> sink_;
  std::vector<std::unique_ptr<WalShipper>> shippers_;
  std::unique_ptr<WalSink::Listener> fanout_;
};

}  // namespace stb
