// `redis-stream`: the resident Redis replication stream capture (redisstream/capture) into the
// local repository, until SIGTERM or SIGINT; `--status` prints the stored chains as JSON.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "cli/commands.h"
#include "cli/common.h"
#include "components/redis/redis.h"
#include "components/redis/redis_stream_restore.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/stop.h"
#include "redisstream/capture.h"
#include "redisstream/redis_link.h"

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

int PrintStatus(Repository& repo, const RedisStreamStore& store) {
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
  PrintJson({{"source", store.source()}, {"chains", chains}});
  return 0;
}

}  // namespace

int RunRedisStream(const Settings& s, const RedisStreamArgs& a) {
  auto repo = OpenRepository(s, "local");
  if (!repo.ok()) return Fail(repo.status());
  RedisStreamStore store(**repo, RedisStreamStore::SourceOf(**repo, RedisStreamSourceName(s)), s.compression);
  if (a.status) return PrintStatus(**repo, store);
  InitLog(s.log_dir, "redis-stream.log");
  StopOnSignals({SIGTERM, SIGINT});
  auto lock = LockCapture(s);
  if (!lock.ok()) {
    Fail(lock.status());
    return 75;
  }
  RedisStreamOptions o;
  o.interval_ms = s.redis_stream_interval * 1000;
  o.segment_bytes = static_cast<size_t>(s.redis_stream_segment_mb) << 20;
  o.log = [](const std::string& line) { LogInfo("redis-stream: " + line); };
  RedisStreamCapture capture(**repo, store, (*repo)->storage(), o, ProcessStopToken());
  if (Status st = capture.Resume(); !st.ok()) return Fail(st);
  const RedisEndpoint ep = RedisOptionsOf(s).endpoint;
  LogInfo("redis-stream: started (source " + ep.Describe() + ")");
  Status st = capture.Run([&ep] { return RedisReplicaLink::Connect(ep); });
  if (!st.ok()) return Fail(st);
  const std::string where = std::to_string(capture.state().durable);
  LogInfo("redis-stream: stopped; stored up to offset " + where);
  std::fprintf(stderr, "redis-stream: stopped; stored up to offset %s\n", where.c_str());
  return 0;
}

}  // namespace stb
