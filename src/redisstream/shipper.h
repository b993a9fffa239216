// redis-stream's cloud copies: each object the capture stores locally goes to every cloud location
// under the same name, sealed bytes unchanged, create-only, from a bounded queue per location
// (retried with backoff; past the bound, and after a restart, caught up from the two listings),
// and the newest point each location can restore to alone is tracked from what reached it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "repository/redis_stream_store.h"
#include "storage/storage.h"

namespace stb {

// What one location holds of each chain: the newest point it restores to alone is the last
// arrival at the end of the run of segments from a chain's base offset, once the chain's meta
// and every base piece are there (the base alone: its base_ms). Not thread-safe.
class RedisPointTracker {
 public:
  // An object known to be there from a listing (meta and the run's last segment are read by Resolve).
  void AddListed(const RedisStreamName& n, const std::string& object);
  // An object just opened (a meta's JSON is parsed here).
  void AddOpened(const RedisStreamName& n, const std::string& object, const RedisStreamObject& o);
  // Reads (from `from`, which holds the same objects) what AddListed left unknown. An object
  // `from` no longer has (pruned, or the repository rebuilt) is read from `fallback` when given;
  // a chain still unreadable then stays out of the point instead of failing the whole resolve.
  Status Resolve(const RedisStreamStore& store, Storage& from, Storage* fallback = nullptr);
  // Unix ms; 0 when no chain is restorable there.
  int64_t point_ms() const;

 private:
  struct Chain {
    bool meta_listed = false, meta_known = false;
    uint64_t base_offset = 0;
    int64_t base_ms = 0;
    size_t pieces_needed = 0;
    std::set<uint32_t> pieces;
    uint64_t end = 0;
    int64_t end_ms = -1;  // -1: the last arrival of end_name is not read yet
    std::string end_name;
    struct Ahead {
      uint64_t end = 0;
      int64_t last_ms = -1;
      std::string name;
    };
    std::map<uint64_t, Ahead> ahead;  // segments past the run, by start
  };
  void Advance(Chain& c);
  std::map<std::string, Chain> chains_;
};

// A location compared with the local repository: the newest point it restores to, and the local
// objects it lacks, in shipping order (newest chain first; in a chain base pieces, meta, id
// switches, segments from the lowest offset, events).
struct RedisLocationView {
  int64_t point_ms = 0;
  std::vector<std::string> missing;
  size_t objects = 0;  // of this source there
};
StatusOr<RedisLocationView> CompareRedisLocation(const RedisStreamStore& store, Storage& local,
                                                 const RedisStreamListing& local_listing, Storage& remote,
                                                 RedisPointTracker* tracker = nullptr);
// The newest point the local repository restores to (the same rule).
StatusOr<int64_t> LocalRedisPoint(const RedisStreamStore& store, Storage& local, const RedisStreamListing& listing);

struct RedisShipperOptions {
  size_t queue_max = 100000;  // names waiting; past it the queue is dropped and a catch-up runs
  int backoff_min_ms = 500, backoff_max_ms = 30000;
  std::function<void(const std::string&)> log;  // one line, no secrets
};

struct RedisShipStatus {
  std::string location;
  uint64_t shipped = 0, failures = 0;
  size_t queued = 0;
  bool catching_up = false;
  int64_t point_ms = 0;
  std::string last_error;
};

class RedisStreamShipper {
 public:
  // on_point(location, ms): the location's point moved forward (called on the shipper's thread).
  RedisStreamShipper(const RedisStreamStore& store, Storage& local, std::string location,
                     std::shared_ptr<Storage> remote, RedisShipperOptions o,
                     std::function<void(const std::string&, int64_t)> on_point);
  ~RedisStreamShipper();
  // The thread: a catch-up from the listings first, then the queue.
  void Start();
  // Never waits for the location.
  void Enqueue(const std::string& object);
  // Ships what is queued for at most drain_ms more, then ends the thread.
  void Stop(int drain_ms);
  RedisShipStatus status() const;
  const std::string& location() const { return location_; }

 private:
  void Loop();
  Status CatchUp();
  Status ShipOne(const std::string& object);
  void NotePoint();
  void Backoff(std::unique_lock<std::mutex>& g);

  const RedisStreamStore& store_;
  Storage& local_;
  std::string location_;
  std::shared_ptr<Storage> remote_;
  RedisShipperOptions o_;
  std::function<void(const std::string&, int64_t)> on_point_;
  RedisPointTracker tracker_;  // the thread's alone
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool need_catchup_ = true;
  bool stop_ = false;
  int64_t drain_until_ms_ = 0;
  int backoff_ms_ = 0;
  RedisShipStatus st_;
  std::thread thread_;
};

}  // namespace stb
