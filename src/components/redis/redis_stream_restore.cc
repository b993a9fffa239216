#include "components/redis/redis_stream_restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <deque>
#include <sstream>
#include <vector>

#include "components/redis/rdb.h"
#include "core/backoff.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/stop.h"
#include "core/subprocess.h"
#include "redisstream/aof_writer.h"
#include "redisstream/restore_plan.h"
#include "repository/blob_stream.h"
#include "repository/redis_stream_store.h"
#include "repository/snapshots.h"

namespace stb {

using json = nlohmann::json;

std::string RedisStreamSourceName(const Settings& s) {
  if (!s.redis_stream_source.empty()) return s.redis_stream_source;
  return (s.redis_host.empty() ? "localhost" : s.redis_host) + ":" + std::to_string(s.redis_port);
}

StatusOr<RedisAofConfig> ParseRedisConf(std::string_view text, std::string* include) {
  RedisAofConfig c;
  size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    // Words separated by blanks; a value may be quoted.
    std::vector<std::string> words;
    for (size_t i = 0; i < line.size();) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i >= line.size() || (words.empty() && line[i] == '#')) break;
      std::string w;
      if (line[i] == '"' || line[i] == '\'') {
        const char q = line[i++];
        size_t end = line.find(q, i);
        if (end == std::string_view::npos) {
          return InvalidArgument("REDIS_CONF line " + std::to_string(line_no) + ": unterminated quote");
        }
        w = std::string(line.substr(i, end - i));
        i = end + 1;
      } else {
        size_t end = line.find_first_of(" \t\r", i);
        w = std::string(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
        i = end == std::string_view::npos ? line.size() : end;
      }
      words.push_back(std::move(w));
    }
    if (words.size() < 2) continue;
    std::string key = words[0];
    for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value = words[1];
    if (key == "appendonly") {
      std::string v = value;
      for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (v != "yes" && v != "no") {
        return InvalidArgument("REDIS_CONF line " + std::to_string(line_no) + ": appendonly is neither yes nor no");
      }
      c.appendonly = v == "yes";
    } else if (key == "appenddirname") {
      c.dirname = value;
    } else if (key == "appendfilename") {
      c.filename = value;
    } else if (key == "dir") {
      c.dir = value;
    } else if (key == "include" && include) {
      *include = value;
    }
  }
  return c;
}

namespace {

// Segments read while planning and replaying: the newest two are kept, since the planner opens
// the segment(s) holding the cut and the replay ends with them.
class SegmentCache {
 public:
  SegmentCache(const RedisStreamStore& store, Storage& from) : store_(store), from_(from) {}
  StatusOr<RedisStreamObject> Load(const std::string& name) {
    for (const auto& [n, o] : recent_) {
      if (n == name) return o;
    }
    ASSIGN_OR_RETURN(RedisStreamObject o, store_.ReadObject(from_, name));
    recent_.emplace_back(name, o);
    if (recent_.size() > 2) recent_.pop_front();
    return o;
  }

 private:
  const RedisStreamStore& store_;
  Storage& from_;
  std::deque<std::pair<std::string, RedisStreamObject>> recent_;
};

// The chains with their meta, switches, events and segments. A segment's arrival times are its
// header's; only those near T are read (the listing's hour folder orders the rest), none for latest.
StatusOr<std::vector<RedisPlanChain>> LoadChains(const RedisStreamStore& store, Storage& from,
                                                 const RedisStreamListing& listing, const RedisStreamTarget& target,
                                                 SegmentCache& cache) {
  std::vector<RedisPlanChain> chains;
  const int64_t hour_t = target.latest ? 0 : RedisHourOfMs(target.time_ms);
  for (const auto& [id, c] : listing.chains) {
    if (!c.has_meta) continue;  // a chain without its meta does not exist (yet)
    RedisPlanChain pc;
    pc.id = id;
    ASSIGN_OR_RETURN(pc.meta, store.ReadMeta(from, id));
    for (uint64_t at : c.replid_switches) {
      ASSIGN_OR_RETURN(std::string r, store.ReadReplidSwitch(from, id, at));
      pc.replid_switches.emplace_back(at, r);
    }
    for (int64_t ms : c.events) {
      ASSIGN_OR_RETURN(RedisChainEvent e, store.ReadEvent(from, id, ms));
      pc.events.push_back(e);
    }
    const auto& segs = c.segments;  // by start
    for (size_t i = 0; i < segs.size(); ++i) {
      RedisPlanSegment ps{segs[i].range, segs[i].hour * 3600000, segs[i].hour * 3600000, segs[i].name};
      const bool near =
          !target.latest &&
          (segs[i].hour == hour_t || (segs[i].hour < hour_t && (i + 1 == segs.size() || segs[i + 1].hour >= hour_t)) ||
           (segs[i].hour > hour_t && (i == 0 || segs[i - 1].hour <= hour_t)));
      if (near) {
        ASSIGN_OR_RETURN(RedisStreamObject o, cache.Load(segs[i].name));
        ps.first_arrival_ms = o.first_arrival_ms;
        ps.last_arrival_ms = o.last_arrival_ms;
      }
      pc.segments.push_back(std::move(ps));
    }
    chains.push_back(std::move(pc));
  }
  return chains;
}

std::vector<RedisSnapshotBase> SnapshotBases(Repository& repo, std::vector<std::string>& warnings) {
  std::vector<RedisSnapshotBase> out;
  std::vector<std::string> problems;
  auto snaps = ListSnapshots(repo, &problems);
  if (!snaps.ok()) {
    warnings.push_back("backups not listed as bases (" + snaps.status().message() +
                       "): replayed from the stream's own base");
    return out;
  }
  for (const auto& snap : *snaps) {
    const json* comps = snap.doc.contains("components") ? &snap.doc["components"] : nullptr;
    if (!comps || !comps->is_object() || !comps->contains("redis")) continue;
    const json& e = (*comps)["redis"];
    if (!e.is_object() || !e.contains("repl_id") || !e.contains("repl_offset")) continue;
    if (!e["repl_id"].is_string() || !e["repl_offset"].is_number_unsigned()) continue;
    const std::string rid = e["repl_id"].get<std::string>();
    if (!ValidReplid(rid)) continue;
    out.push_back({snap.backup_id, rid, e["repl_offset"].get<uint64_t>(), 0});
  }
  return out;
}

// The base RDB into the writer, verified: a backup's blobs (each against its id) or the chain's
// pieces (each against the meta's content id), and the whole RDB's CRC64.
Status WriteBase(Repository& repo, const RedisStreamStore& store, const RedisPlanChain& chain,
                 const RedisRestorePlan& plan, AofDirWriter& w, uint64_t& size) {
  RdbValidator validator;
  auto sink = [&](std::span<const uint8_t> data) {
    validator.Update(data.data(), data.size());
    return w.AppendBase(data);
  };
  if (plan.base_from == "stream") {
    uint64_t at = 0;
    for (size_t i = 0; i < chain.meta.pieces.size(); ++i) {
      RedisStreamName n;
      n.kind = RedisObjectKind::kBasePiece;
      n.source = store.source();
      n.chain = chain.id;
      n.piece = static_cast<uint32_t>(i);
      const std::string object = RedisObjectName(n);
      ASSIGN_OR_RETURN(RedisStreamObject o, store.ReadObject(repo.storage(), object));
      if (!(o.content_id == chain.meta.pieces[i].content_id) || o.start != at ||
          o.raw.size() != chain.meta.pieces[i].size) {
        return Corrupt(object + " is not the piece its chain's meta names (content id, offset or size)");
      }
      RETURN_IF_ERROR(sink(std::span<const uint8_t>(o.raw.data(), o.raw.size())));
      at += o.raw.size();
    }
  } else {
    ASSIGN_OR_RETURN(SnapshotRef snap, FindSnapshot(repo, plan.base_from));
    const json* comps = snap.doc.contains("components") ? &snap.doc["components"] : nullptr;
    if (!comps || !comps->contains("redis")) return NotFound("backup " + plan.base_from + " has no redis entry");
    ASSIGN_OR_RETURN(std::vector<Id> ids, EntryBlobIds((*comps)["redis"], "blobs"));
    RETURN_IF_ERROR(StreamBlobs(repo, std::move(ids), [&](const Bytes& data) {
      return sink(std::span<const uint8_t>(data.data(), data.size()));
    }));
  }
  size = validator.size();
  return validator.Finish().Context("base RDB (" + plan.base_from + ")");
}

std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find(':', i);
    std::string dir = p.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (!dir.empty()) {
      std::string cand = dir + "/" + program;
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return "";
}

// redis-check-aof over the written (not yet swapped in) directory's manifest.
Status CheckAof(const std::string& tool, const std::string& manifest) {
  ASSIGN_OR_RETURN(auto proc, Subprocess::Start({{tool, manifest}, {}, false, true}));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(proc->stdout_fd(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.size() < (64u << 10)) out.append(buf, static_cast<size_t>(n));
  }
  const int rc = proc->Wait();
  if (rc == 0) return Status::Ok();
  std::string last;
  std::istringstream lines(out + "\n" + proc->StderrTail());
  for (std::string l; std::getline(lines, l);) {
    if (!l.empty()) last = l;
  }
  return Corrupt("redis-check-aof refused the restored AOF (exit status " + std::to_string(rc) + "): " + last);
}

StatusOr<std::string> ConfigGet(RedisConnection& c, const std::string& name) {
  ASSIGN_OR_RETURN(RespValue v, c.Command({"CONFIG", "GET", name}));
  if (v.type != RespValue::Type::kArray || v.elems.size() != 2) return NotFound("CONFIG GET " + name);
  return v.elems[1].str;
}

// REDIS_CONF when set (the file the restart loads), else the running server's configuration.
StatusOr<RedisAofConfig> AofConfig(const RedisOptions& opt, const Settings& s, std::vector<std::string>& warnings) {
  if (!s.redis_conf.empty()) {
    auto bytes = ReadWholeFile(s.redis_conf);
    if (!bytes.ok()) return InvalidArgument("REDIS_CONF: " + bytes.status().message());
    if (bytes->size() > (1u << 20)) return InvalidArgument("REDIS_CONF " + s.redis_conf + " is larger than 1 MiB");
    const std::string text(AsString(*bytes));
    std::string include;
    auto c = ParseRedisConf(text, &include);
    if (!c.ok()) return c.status().Context(s.redis_conf);
    if (!include.empty()) {
      warnings.push_back("REDIS_CONF includes " + include + ", which was not read: check appendonly there");
    }
    c->from = "REDIS_CONF " + s.redis_conf;
    if (!c->appendonly) c->appendonly = false;  // Redis' default
    return c;
  }
  RedisAofConfig c;
  auto conn = RedisConnection::Connect(opt.endpoint);
  if (!conn.ok()) {
    warnings.push_back("Redis at " + opt.endpoint.Describe() +
                       " is not running and REDIS_CONF is not set: the AOF names are Redis' defaults, and Redis "
                       "must start with appendonly yes to load them");
    return c;
  }
  auto ao = ConfigGet(**conn, "appendonly");
  if (!ao.ok()) {
    warnings.push_back("CONFIG GET appendonly was refused (" + ao.status().message() +
                       "): set REDIS_CONF so the restore can check it");
    return c;
  }
  c.appendonly = *ao == "yes";
  if (auto v = ConfigGet(**conn, "appenddirname"); v.ok() && !v->empty()) c.dirname = *v;
  if (auto v = ConfigGet(**conn, "appendfilename"); v.ok() && !v->empty()) c.filename = *v;
  if (auto v = ConfigGet(**conn, "dir"); v.ok()) c.dir = *v;
  c.from = "the running server's configuration (CONFIG GET)";
  return c;
}

// A Redis that still runs on the directory being replaced would go on writing there after the
// swap (an AOF rewrite creates and unlinks files in its appendonlydir) and then shut down over the
// restored files: it is stopped before anything is written, when a restart command can bring it
// back, and the restore is refused otherwise. A server that is down (the crash case) needs nothing.
Status StopRedisOnDir(const RedisOptions& opt, const std::string& dir, const std::string& dirname,
                      std::vector<std::string>& warnings) {
  auto conn = RedisConnection::Connect(opt.endpoint);
  if (!conn.ok()) {
    if (conn.status().code() == Code::kPermission) {
      warnings.push_back("Redis at " + opt.endpoint.Describe() + " refused the login (" + conn.status().message() +
                         "): make sure it does not run on " + dir + " while it is restored");
    }
    return Status::Ok();
  }
  auto live_dir = ConfigGet(**conn, "dir");
  if (!live_dir.ok()) {
    warnings.push_back("CONFIG GET dir was refused (" + live_dir.status().message() + "): make sure Redis at " +
                       opt.endpoint.Describe() + " does not run on " + dir + " while it is restored");
    return Status::Ok();
  }
  std::string live_name = "appendonlydir";
  if (auto v = ConfigGet(**conn, "appenddirname"); v.ok() && !v->empty()) live_name = *v;
  // The same directory whatever the path's spelling (symbolic links, a trailing slash).
  struct stat a {
  }, b{};
  if (live_name != dirname || ::stat(live_dir->c_str(), &a) != 0 || ::stat(dir.c_str(), &b) != 0 ||
      a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
    return Status::Ok();
  }
  const std::string where = dir + "/" + dirname;
  if (opt.restart_command.empty()) {
    return InvalidArgument("Redis at " + opt.endpoint.Describe() + " is running on " + where +
                           ", the directory this restore replaces: stop Redis first, or set REDIS_RESTART_COMMAND "
                           "so that the restore stops it (SHUTDOWN NOSAVE) and starts it on the restored files");
  }
  // SHUTDOWN gives no answer when it works (the connection closes); whether it did is whether the
  // server still answers. NOSAVE: the dump.rdb it would write is not what is being restored.
  Status said = (*conn)->Command({"SHUTDOWN", "NOSAVE"}).status();
  conn->reset();
  Env& env = Env::Default();
  const double deadline = env.MonotonicSeconds() + opt.load_timeout_seconds;
  Backoff poll({.base_seconds = 0.05, .max_seconds = 0.05, .min_seconds = 0.05});
  while (env.MonotonicSeconds() < deadline) {
    auto c = RedisConnection::Connect(opt.endpoint);
    if (!c.ok() && c.status().code() != Code::kPermission) {
      warnings.push_back("Redis at " + opt.endpoint.Describe() + " ran on " + where +
                         " and was stopped (SHUTDOWN NOSAVE) before the restore wrote anything; "
                         "REDIS_RESTART_COMMAND starts it again");
      return Status::Ok();
    }
    if (!env.SleepFor(poll.Next(), ProcessStopToken())) break;
  }
  return Unavailable("Redis at " + opt.endpoint.Describe() + " runs on " + where +
                     ", the directory this restore replaces, and did not stop on SHUTDOWN NOSAVE (" + said.message() +
                     "): stop it and restore again");
}

}  // namespace

json RestoreRedisFromStream(Repository& repo, const json& entry, const std::string& target_dir, const RedisOptions& opt,
                            const Settings& s, const RedisStreamTarget& target) {
  json r = {{"mode", "stream"}, {"files", json::array({"appendonlydir/"})}};
  std::vector<std::string> warnings;
  auto fail = [&](const Status& st) {
    r["success"] = false;
    r["error"] = st.message();
    if (!warnings.empty()) r["warnings"] = warnings;
    return r;
  };
  (void)entry;
  const std::string source = RedisStreamSourceName(s);
  RedisStreamStore store(repo, RedisStreamStore::SourceOf(repo, source));
  Storage& from = repo.storage();
  auto listing = store.List(from);
  if (!listing.ok()) return fail(listing.status().Context("listing the Redis stream in " + from.Describe()));
  bool any = false;
  for (const auto& [id, c] : listing->chains) any |= c.has_meta;
  if (!any) {
    std::string others;
    if (auto srcs = RedisStreamStore::ListSources(from); srcs.ok() && !srcs->empty()) {
      others = " (it holds the stream of " + std::to_string(srcs->size()) +
               " other source(s): REDIS_STREAM_SOURCE must name the one the capture used)";
    }
    return fail(NotFound("no Redis stream of " + source + " is stored in " + from.Describe() + others +
                         ": --latest and --target-time for redis replay the stream that `spacetime-backup "
                         "redis-stream` captures (BACKUP_STREAMS=redis-stream under schedule); without them redis "
                         "restores the backup's RDB"));
  }

  SegmentCache cache(store, from);
  auto chains = LoadChains(store, from, *listing, target, cache);
  if (!chains.ok()) return fail(chains.status());
  const auto bases = SnapshotBases(repo, warnings);
  auto plan = PlanRedisRestore(*chains, bases, {target.latest, target.time_ms},
                               [&](const RedisPlanSegment& seg) { return cache.Load(seg.name); });
  if (!plan.ok()) return fail(plan.status());
  const RedisPlanChain* chain = nullptr;
  for (const auto& c : *chains) {
    if (c.id == plan->chain) chain = &c;
  }
  if (!chain) return fail(Internal("planned chain " + plan->chain + " not found"));
  for (const auto& w : plan->warnings) warnings.push_back(w);

  // Where and under which names Redis will look, and whether it will look at all.
  auto cfg = AofConfig(opt, s, warnings);
  if (!cfg.ok()) return fail(cfg.status());
  if (cfg->appendonly && !*cfg->appendonly) {
    return fail(InvalidArgument("Redis runs with appendonly no (" + cfg->from +
                                "): it would load dump.rdb and ignore the restored AOF; set `appendonly yes` in its "
                                "configuration file" +
                                (s.redis_conf.empty() ? std::string() : " " + s.redis_conf) + " and restore again"));
  }
  std::string dir = target_dir.empty() ? cfg->dir : target_dir;
  if (dir.empty() || dir[0] != '/') {
    return fail(
        InvalidArgument("no absolute directory to restore appendonlydir into: pass --target or set "
                        "REDIS_DATA_DIR" +
                        (dir.empty() ? std::string() : " (Redis' dir is the relative '" + dir + "')")));
  }
  if (Status st = StopRedisOnDir(opt, dir, cfg->dirname, warnings); !st.ok()) return fail(st);
  if (Status st = MakeDirs(dir, 0750); !st.ok()) return fail(st);
  Fd parent(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent.valid()) return fail(ErrnoStatus("opening " + dir, errno));
  auto writer = AofDirWriter::Create(parent.get(), {cfg->dirname, cfg->filename});
  if (!writer.ok()) return fail(writer.status());
  AofDirWriter& w = **writer;
  // A failure before the swap leaves the live directory alone; the partial one is removed.
  auto abandon = [&](const Status& st) {
    w.Abandon();
    return fail(st);
  };
  uint64_t rdb_size = 0;
  if (Status st = WriteBase(repo, store, *chain, *plan, w, rdb_size); !st.ok()) return abandon(st);
  AofIncrEncoder enc(plan->base_offset, plan->cut);
  std::string out;
  for (const auto& seg : plan->segments) {
    auto o = cache.Load(seg.name);
    if (!o.ok()) return abandon(o.status());
    out.clear();
    if (Status st = enc.Add(*o, out); !st.ok()) return abandon(st.Context(seg.name));
    if (Status st = w.AppendIncr(out); !st.ok()) return abandon(st);
  }
  if (Status st = w.Seal(); !st.ok()) return abandon(st);
  std::string verified = "base RDB CRC64 and content ids, stream segments' content ids";
  if (const std::string tool = FindInPath("redis-check-aof"); !tool.empty()) {
    Status st = CheckAof(tool, dir + "/" + w.temp_name() + "/" + cfg->filename + ".manifest");
    if (!st.ok()) return abandon(st);
    verified += ", redis-check-aof";
  } else {
    warnings.push_back("redis-check-aof is not installed: the AOF was not checked by it");
  }
  auto replaced = w.Commit();
  if (!replaced.ok()) return fail(replaced.status());
  r["restored_to"] = dir + "/" + cfg->dirname;
  if (!replaced->empty()) r["replaced_aof_dir"] = dir + "/" + *replaced;
  r["size_bytes"] = rdb_size;
  r["stream"] = RedisRestoreReport(*plan, enc.commands());

  if (opt.restart_command.empty()) {
    r["verified"] = verified + "; start Redis with appendonly yes on " + dir + " to load it";
    if (!warnings.empty()) r["warnings"] = warnings;
    r["success"] = true;
    return r;
  }
  if (Status st = RunRedisRestartCommand(opt.restart_command); !st.ok()) return fail(st);
  auto c = WaitRedisLoaded(opt);
  if (!c.ok()) return fail(c.status());
  auto ao = ConfigGet(**c, "appendonly");
  if (ao.ok() && *ao != "yes") {
    return fail(InvalidArgument("Redis restarted with appendonly no: it loaded dump.rdb, not the restored AOF in " +
                                dir + "/" + cfg->dirname +
                                "; set `appendonly yes` in the configuration REDIS_RESTART_COMMAND starts it with (and "
                                "REDIS_CONF) and restart it"));
  }
  if (ao.ok()) verified += ", Redis loaded it (appendonly yes)";
  auto keyspace = RedisKeyspace(**c);
  if (!keyspace.ok()) return fail(keyspace.status());
  r["keyspace"] = *keyspace;
  r["verified"] = verified;
  if (!warnings.empty()) r["warnings"] = warnings;
  r["success"] = true;
  return r;
}

}  // namespace stb
