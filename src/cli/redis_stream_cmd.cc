// `redis-stream`: the resident Redis replication stream capture (redisstream/capture) into the
// local repository, copied to the cloud locations as it is written (redisstream/shipper), with
// its recovery points in the catalog, until SIGTERM or SIGINT; `--status` prints it as JSON.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <chrono>
#include <map>
#include <mutex>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/wal_locations.h"
#include "cloud/locations.h"
#include "components/redis/redis.h"
#include "components/redis/redis_stream_restore.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/stop.h"
#include "redisstream/capture.h"
#include "redisstream/redis_link.h"
#include "redisstream/shipper.h"

namespace stb {

namespace {

// One capture per state directory: a second one would store the same stream twice.
StatusOr<Fd> LockCapture(const Settings& s) {
  RETURN_IF_ERROR(MakeDirs(s.state_dir + "/streams"));
  const std::string path = s.state_dir + "/streams/redis-stream.lock";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus("opening " + path, errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    ssize_t n = ::pread(fd.get(), pid, sizeof pid - 1, 0);
    (void)n;
    return Unavailable("redis-stream is already running (pid " + std::string(pid) + "), lock " + path);
  }
  const std::string mine = std::to_string(::getpid());
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), mine.data(), mine.size(), 0) < 0) {
    return ErrnoStatus("writing " + path, errno);
  }
  return fd;
}

// The newest recoverable point of each location into the catalog (backup_recovery_point_seconds
// {component="redis"}), at most once a second per location: the capture moves it every segment.
class PointRecorder {
 public:
  explicit PointRecorder(const std::string& state_dir) {
    auto c = Catalog::Open(state_dir);
    if (c.ok()) {
      catalog_ = std::move(*c);
    } else {
      LogWarn("redis-stream: catalog: " + c.status().message() + " (recovery points not recorded)");
    }
  }
  void Note(const std::string& location, int64_t point_ms) {
    std::lock_guard<std::mutex> g(mu_);
    Point& p = points_[location];
    p.pending = std::max(p.pending, point_ms);
    const int64_t now = NowMs();
    for (auto& [loc, q] : points_) {
      if (q.pending > q.written && now - q.at >= 1000) Write(loc, q, now);
    }
  }
  void Flush() {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [loc, q] : points_) {
      if (q.pending > q.written) Write(loc, q, NowMs());
    }
  }

 private:
  struct Point {
    int64_t pending = 0, written = 0, at = 0;
  };
  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void Write(const std::string& location, Point& p, int64_t now) {
    p.written = p.pending;
    p.at = now;
    if (!catalog_) return;
    Status st = catalog_->RecordRecoveryPoint("redis", LocationLabel(location), "redis-stream", p.pending / 1000.0);
    if (!st.ok()) LogWarn("redis-stream: " + st.message());
  }
  std::mutex mu_;
  std::unique_ptr<Catalog> catalog_;
  std::map<std::string, Point> points_;
};

// Per cloud location: how far its copy is (from its listing), against the local point.
nlohmann::json LocationsStatus(const Settings& s, Repository& repo, const RedisStreamStore& store,
                               const RedisStreamListing& listing) {
  nlohmann::json out = nlohmann::json::array();
  auto local_point = LocalRedisPoint(store, repo.storage(), listing);
  out.push_back({{"location", "local"}, {"point_unix_ms", local_point.ok() ? *local_point : 0}});
  if (!local_point.ok()) out.back()["error"] = local_point.status().message();
  std::vector<std::string> warnings;
  for (const auto& loc : WalOffsiteLocations(s, warnings)) {
    nlohmann::json j = {{"location", LocationLabel(loc.name)}};
    auto v = CompareRedisLocation(store, repo.storage(), listing, *loc.storage);
    if (!v.ok()) {
      j["error"] = v.status().message();
    } else {
      j["point_unix_ms"] = v->point_ms;
      j["objects_missing"] = v->missing.size();
      // How far behind local it is: what a restore from it alone would lose against local.
      if (local_point.ok() && v->point_ms > 0) {
        j["lag_seconds"] = std::max<int64_t>(0, *local_point - v->point_ms) / 1000.0;
      } else {
        j["lag_seconds"] = nullptr;
      }
    }
    out.push_back(j);
  }
  for (const auto& w : warnings) out.push_back({{"error", w}});
  return out;
}

int PrintStatus(const Settings& s, Repository& repo, const RedisStreamStore& store) {
  auto listing = store.List(repo.storage());
  if (!listing.ok()) return Fail(listing.status());
  nlohmann::json chains = nlohmann::json::array();
  for (const auto& [id, c] : listing->chains) {
    nlohmann::json j = {{"chain", id},
                        {"has_meta", c.has_meta},
                        {"pieces", c.pieces.size()},
                        {"segments", c.segments.size()},
                        {"events", nlohmann::json::array()}};
    if (c.has_meta) {
      auto meta = store.ReadMeta(repo.storage(), id);
      if (!meta.ok()) return Fail(meta.status());
      const RedisContiguity k = ChainContiguity(meta->base_offset, c.Ranges());
      j["replid"] = meta->replid;
      j["base_offset"] = meta->base_offset;
      j["durable_end"] = k.durable_end;
      j["missing"] = k.missing.size();
      j["rdb_size"] = meta->rdb_size;
    }
    for (int64_t ms : c.events) {
      auto e = store.ReadEvent(repo.storage(), id, ms);
      if (!e.ok()) return Fail(e.status());
      j["events"].push_back({{"type", RedisEventTypeName(e->type)},
                             {"at_ms", e->at_ms},
                             {"offset", e->offset},
                             {"next_chain", e->next_chain}});
    }
    chains.push_back(j);
  }
  PrintJson({{"source", store.source()}, {"chains", chains}, {"locations", LocationsStatus(s, repo, store, *listing)}});
  return 0;
}

}  // namespace

int RunRedisStream(const Settings& s, const RedisStreamArgs& a) {
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  RedisStreamStore store(**repo, RedisStreamStore::SourceOf(**repo, RedisStreamSourceName(s)), s.compression);
  if (a.status) return PrintStatus(s, **repo, store);
  InitLog(s.log_dir, "redis-stream.log");
  StopOnSignals({SIGTERM, SIGINT});
  auto lock = LockCapture(s);
  if (!lock.ok()) {
    Fail(lock.status());
    return 75;
  }
  std::vector<std::string> warnings;
  auto offsite = WalOffsiteLocations(s, warnings);  // the locations WAL goes to
  for (const auto& w : warnings) {
    std::fprintf(stderr, "warning: %s\n", w.c_str());
    LogWarn("redis-stream: " + w);
  }
  PointRecorder points(s.state_dir);
  std::vector<std::unique_ptr<RedisStreamShipper>> shippers;
  for (const auto& loc : offsite) {
    RedisShipperOptions so;
    so.log = [](const std::string& line) { LogInfo("redis-stream: " + line); };
    shippers.push_back(std::make_unique<RedisStreamShipper>(
        store, (*repo)->storage(), loc.name, loc.storage, so,
        [&points](const std::string& where, int64_t ms) { points.Note(where, ms); }));
    shippers.back()->Start();
  }
  RedisStreamOptions o;
  o.interval_ms = s.redis_stream_interval * 1000;
  o.segment_bytes = static_cast<size_t>(s.redis_stream_segment_mb) << 20;
  o.log = [](const std::string& line) { LogInfo("redis-stream: " + line); };
  // Shipping never holds the capture up: Enqueue only queues a name.
  o.on_stored = [&shippers](const std::string& object) {
    for (auto& sh : shippers) sh->Enqueue(object);
  };
  o.on_point = [&points](int64_t ms) { points.Note("local", ms); };
  o.alert = [&s](const std::string& event, const std::string& message) { AlertWal(s, event, "critical", message); };
  RedisStreamCapture capture(**repo, store, (*repo)->storage(), o, ProcessStopToken());
  if (Status st = capture.Resume(); !st.ok()) return Fail(st);
  const RedisEndpoint ep = RedisOptionsOf(s).endpoint;
  LogInfo("redis-stream: started (source " + ep.Describe() + ", " + std::to_string(offsite.size()) +
          " cloud locations)");
  Status st = capture.Run([&ep] { return RedisReplicaLink::Connect(ep); });
  // What is queued gets 10 s to reach the locations; the rest is caught up at the next start.
  const auto drain_end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (auto& sh : shippers) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(drain_end - std::chrono::steady_clock::now());
    sh->Stop(static_cast<int>(std::max<int64_t>(0, left.count())));
  }
  points.Flush();
  if (!st.ok()) return Fail(st);
  const std::string where = std::to_string(capture.state().durable);
  LogInfo("redis-stream: stopped; stored up to offset " + where);
  std::fprintf(stderr, "redis-stream: stopped; stored up to offset %s\n", where.c_str());
  return 0;
}

}  // namespace stb
