// redis-stream: a resident capture that is a replica to Redis, stores the master's base RDB and
// its replication stream as sealed redis/ objects, and acknowledges only what is stored locally.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "core/stop.h"
#include "redisstream/resp_stream.h"
#include "repository/redis_stream_store.h"
#include "repository/repository.h"
#include "storage/storage.h"

namespace stb {

// What INFO says about the source (the fields the capture needs).
struct RedisServerInfo {
  std::string version;  // redis_version
  std::string run_id;
  std::string role;
  bool cluster = false;
};
// Parses "INFO server" + "INFO cluster" text (unknown lines ignored, values bounded).
StatusOr<RedisServerInfo> ParseRedisServerInfo(std::string_view text);
// Redis >= 7.0 (absolute TTLs in the stream) and no cluster mode; else an error naming what was found.
Status CheckStreamSource(const RedisServerInfo& info);

// The master as the capture loop sees it; tests script one.
class ReplicaLink {
 public:
  virtual ~ReplicaLink() = default;
  virtual StatusOr<RedisServerInfo> Info() = 0;
  // Sends REPLCONF capa eof capa psync2, then PSYNC <replid> <offset> ("" = PSYNC ? -1).
  virtual StatusOr<PsyncReply> Psync(const std::string& replid, uint64_t offset) = 0;
  virtual StatusOr<size_t> ReadRdb(uint8_t* buf, size_t n) = 0;  // after FULLRESYNC; 0 at its end
  // Stream bytes; 0 = nothing within timeout_ms; kUnavailable when the peer closed.
  virtual StatusOr<size_t> Receive(uint8_t* buf, size_t n, int timeout_ms) = 0;
  virtual Status SendAck(uint64_t offset) = 0;
};

struct RedisStreamOptions {
  int interval_ms = 1000;
  size_t segment_bytes = size_t{16} << 20;
  size_t piece_bytes = size_t{16} << 20;
  int time_resolution_ms = 10;
  int ack_interval_ms = 1000;
  int backoff_min_ms = 200, backoff_max_ms = 30000;
  std::function<int64_t()> now_ms;              // default: the system clock
  std::function<void(int)> sleep_ms;            // default: sleeps in slices, ends on stop
  std::function<void(const std::string&)> log;  // one line, no secrets
  // One command longer than this cannot be stored (an object holds at most kRedisStreamMaxBody):
  // the chain ends with a gap event and a new base is taken (tests set it small).
  size_t max_command_bytes = kRedisStreamMaxBody;
  // Told of every object once it is durable locally (the shippers copy it offsite), and of the
  // newest point the local repository recovers to (Unix ms), after each segment or base.
  std::function<void(const std::string& object)> on_stored;
  std::function<void(int64_t point_ms)> on_point;
  // (event, message): redis_stream_gap when a command too long to store forces a new base.
  std::function<void(const std::string&, const std::string&)> alert;
};

struct CaptureState {
  std::string chain;  // "" until a chain exists
  std::string replid;
  uint64_t base_offset = 0;
  uint64_t durable = 0;  // end of the stored run from the base: the most ever acknowledged
  int64_t last_arrival_ms = 0;
  std::string run_id_hash;
  int64_t db = -1;  // at durable
  int multi_depth = 0;
  size_t segments_stored = 0, chains_started = 0, acks_sent = 0;
  uint64_t max_ack = 0;
};

class RedisStreamCapture {
 public:
  RedisStreamCapture(const Repository& repo, const RedisStreamStore& store, Storage& local, RedisStreamOptions opt,
                     const StopToken& stop);
  // The newest chain with meta in the local listing and its contiguous end (temp files ignored).
  Status Resume();
  // Until stopped (Ok) or a fatal error; reconnects with backoff.
  Status Run(const std::function<StatusOr<std::unique_ptr<ReplicaLink>>()>& connect);
  // One connection: Ok when stopped, kUnavailable when the link was lost (the caller retries).
  Status RunSession(ReplicaLink& link);
  const CaptureState& state() const { return st_; }

 private:
  Status StartChain(ReplicaLink& link, const PsyncReply& reply, const RedisServerInfo& info);
  Status Stream(ReplicaLink& link);
  Status Cut(ReplicaLink& link, bool force_in_multi);
  // Stores what is complete, writes the link-lost event, returns why (kUnavailable: retry).
  Status LinkLost(ReplicaLink& link, const Status& why);
  Status WriteEvent(RedisChainEvent::Type type, const std::string& next_chain, const std::string& detail);
  // PutSealed into the local repository, then on_stored.
  Status Store(const RedisSealed& s);
  // A command longer than `limit` (about max_command_bytes): ends the session, asks for a new base.
  Status CommandTooLong(size_t limit);
  int64_t Now() const;

  const Repository& repo_;
  const RedisStreamStore& store_;
  Storage& local_;
  RedisStreamOptions opt_;
  const StopToken& stop_;
  CaptureState st_;
  bool peer_lost_ = false;   // the last link ended by the peer (for restart vs gap)
  bool force_full_ = false;  // the next PSYNC asks for a full resync (a command too long to store)
  std::string gap_detail_;   // the gap event's detail then
  int64_t last_event_ms_ = 0;
  // The bytes after durable and what the splitter found in them.
  Bytes pending_;
  std::vector<RedisTimeIndexEntry> index_;  // offsets from durable
  int64_t first_arrival_ = 0;
  struct CutPoint {
    uint64_t end = 0;
    int64_t db = -1;
    int depth = 0;
  };
  CutPoint safe_;  // last command end outside MULTI
  CutPoint any_;   // last command end
  bool getack_ = false;
};

}  // namespace stb
