#include "components/redis/redis_component.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>

#include "components/redis/rdb.h"
#include "components/redis/rdb_source.h"
#include "components/redis/replica_listener.h"
#include "core/backoff.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/parse.h"
#include "core/stop.h"
#include "core/subprocess.h"
#include "filetree/file_backup.h"
#include "filetree/file_restore.h"
#include "redisstream/rdb_header.h"
#include "redisstream/resp_stream.h"
#include "repository/blob_stream.h"
#include "repository/repository.h"

namespace stb {

using json = nlohmann::json;

namespace {

// Splits a snapshot into header, body and trailer. The header ("REDIS0011" and its 0xFA aux
// fields: version, creation time, memory, replication offset) and the trailer (EOF opcode and
// CRC64) change with every snapshot, so each gets a blob of its own and the body between them
// deduplicates completely against the previous backup of an unchanged data set.
class HeaderSplitter {
 public:
  explicit HeaderSplitter(RdbSource& src) : src_(src) {}
  Status ReadHeader(Bytes& header) {
    RETURN_IF_ERROR(Take(9, header));
    for (;;) {
      ASSIGN_OR_RETURN(uint8_t op, Byte(header));
      if (op != 0xFA) {  // the first opcode of the body: give it back
        header.pop_back();
        pushback_ = op;
        has_pushback_ = true;
        return Status::Ok();
      }
      const RdbNextByte next = [&] { return Byte(header); };
      RETURN_IF_ERROR(ReadRdbString(next, nullptr));  // the field's name
      RETURN_IF_ERROR(ReadRdbString(next, nullptr));  // its value
    }
  }
  // The body: everything after the header except the last kTrailer bytes.
  StatusOr<size_t> Read(uint8_t* out, size_t n) {
    for (;;) {
      if (held_.size() > kTrailer) {
        size_t k = std::min(n, held_.size() - kTrailer);
        std::memcpy(out, held_.data(), k);
        held_.erase(held_.begin(), held_.begin() + static_cast<ptrdiff_t>(k));
        return k;
      }
      if (eof_) return size_t{0};
      if (has_pushback_) {
        held_.push_back(pushback_);
        has_pushback_ = false;
        continue;
      }
      uint8_t tmp[64 << 10];
      ASSIGN_OR_RETURN(size_t got, src_.Read(tmp, sizeof tmp));
      if (got == 0) eof_ = true;
      held_.insert(held_.end(), tmp, tmp + got);
    }
  }
  // After the body is read: the EOF opcode and the CRC64.
  const Bytes& trailer() const { return held_; }

 private:
  StatusOr<uint8_t> Byte(Bytes& header) {
    uint8_t b;
    ASSIGN_OR_RETURN(size_t k, src_.Read(&b, 1));
    if (k == 0) return Corrupt("RDB snapshot ends inside its header");
    header.push_back(b);
    return b;
  }
  Status Take(size_t n, Bytes& header) {
    for (size_t i = 0; i < n; ++i) RETURN_IF_ERROR(Byte(header).status());
    return Status::Ok();
  }

  static constexpr size_t kTrailer = 9;
  RdbSource& src_;
  uint8_t pushback_ = 0;
  bool has_pushback_ = false;
  Bytes held_;
  bool eof_ = false;
};

// DEBUG DIGEST of the whole data set, or "" where the server does not allow DEBUG.
std::string Digest(RedisConnection& c) {
  auto d = c.Command({"DEBUG", "DIGEST"});
  return d.ok() && d->type != RespValue::Type::kError ? d->str : "";
}

StatusOr<std::string> InfoField(RedisConnection& c, const std::string& section, const std::string& field) {
  ASSIGN_OR_RETURN(RespValue v, c.Command({"INFO", section}));
  for (const auto& [k, val] : ParseInfo(v.str)) {
    if (k == field) return val;
  }
  return NotFound("INFO " + section + " has no " + field);
}

// Where the snapshot stands in the server's replication history: +FULLRESYNC's id and offset.
// Empty when the server answered otherwise (SYNC fallback): then nothing is recorded.
struct ReplPosition {
  std::string replid;
  uint64_t offset = 0;
  std::string warning;  // a +FULLRESYNC line that could not be read
};

// Requests a full resynchronisation as a new replica would (SYNC for Redis < 2.8) and stores
// the snapshot: its header as one blob, the rest in content-defined chunks.
Status Transfer(Repository& repo, BlobSaver& saver, RedisConnection& c, RdbValidator& validator, std::vector<Id>& blobs,
                ReplPosition& position, Progress& progress) {
  // Ask for a full resynchronisation, as a new replica would; fall back to SYNC (Redis < 2.8).
  Status rc = c.Command({"REPLCONF", "capa", "eof", "capa", "psync2"}).status();
  if (!rc.ok() && rc.message().find("NOPERM") != std::string::npos) {
    return PermissionDenied(
        "the Redis user may not replicate (needs REPLCONF and PSYNC or SYNC): check REDIS_USERNAME");
  }
  RETURN_IF_ERROR(rc);
  RETURN_IF_ERROR(c.Send({"PSYNC", "?", "-1"}));
  ASSIGN_OR_RETURN(std::string line, c.ReadLine());
  while (!line.empty() && line[0] == '\n') line.erase(0, 1);
  if (line.rfind("+FULLRESYNC", 0) == 0) {
    auto reply = ParsePsyncReply(line);
    if (reply.ok()) {
      position.replid = reply->replid;
      position.offset = reply->offset;
    } else {  // the snapshot still follows; only its place in the stream is unknown
      position.warning = reply.status().message() + ": repl_id and repl_offset not recorded";
    }
  } else {
    if (line.rfind("-", 0) == 0 && line.find("NOPERM") != std::string::npos) {
      return PermissionDenied(
          "the Redis user may not replicate (needs the PSYNC/SYNC permission): check REDIS_USERNAME");
    }
    RETURN_IF_ERROR(c.Send({"SYNC"}));
  }
  RdbSource source(c);
  RETURN_IF_ERROR(source.Start());
  HeaderSplitter splitter(source);
  Bytes header;
  RETURN_IF_ERROR(splitter.ReadHeader(header));
  validator.Update(header.data(), header.size());
  ASSIGN_OR_RETURN(Id hid, saver.Save(BlobType::kData, header.data(), header.size()));
  blobs.push_back(hid);
  ChunkStream stream(
      repo.chunker(),
      [&](uint8_t* buf, size_t n) -> StatusOr<size_t> {
        ASSIGN_OR_RETURN(size_t k, splitter.Read(buf, n));
        validator.Update(buf, k);
        progress.bytes_done += k;
        return k;
      },
      uint64_t{1} << 40);
  for (;;) {
    std::span<const uint8_t> chunk;
    RETURN_IF_ERROR(stream.Next(chunk));
    if (chunk.empty()) break;
    ASSIGN_OR_RETURN(Id id, saver.Save(BlobType::kData, chunk.data(), chunk.size()));
    blobs.push_back(id);
  }
  const Bytes& trailer = splitter.trailer();
  validator.Update(trailer.data(), trailer.size());
  ASSIGN_OR_RETURN(Id tid, saver.Save(BlobType::kData, trailer.data(), trailer.size()));
  blobs.push_back(tid);
  return validator.Finish().Context("snapshot from Redis at " + c.endpoint().Describe());
}

}  // namespace

StatusOr<json> ParseKeyspace(const std::string& info) {
  json out = json::object();
  for (const auto& [db, val] : ParseInfo(info)) {
    // "keys=123,expires=4,avg_ttl=0"
    size_t eq = val.find("keys=");
    if (db.rfind("db", 0) != 0 || eq == std::string::npos) continue;
    std::string_view keys = std::string_view(val).substr(eq + 5);
    keys = keys.substr(0, keys.find(','));
    // A bound far above any real server keeps the sum over databases from overflowing.
    auto n = ParseUint(keys, 1ull << 48, "INFO keyspace " + db + " keys");
    if (!n.ok()) return Corrupt("Redis answered an unreadable INFO keyspace: " + n.status().message());
    out[db] = static_cast<int64_t>(*n);
  }
  return out;
}

StatusOr<json> RedisKeyspace(RedisConnection& conn) {
  ASSIGN_OR_RETURN(RespValue v, conn.Command({"INFO", "keyspace"}));
  auto keyspace = ParseKeyspace(v.str);
  if (!keyspace.ok()) return keyspace.status().Context(conn.endpoint().Describe());
  return keyspace;
}

RedisBackupResult BackupRedis(Repository& repo, BlobSaver& saver, const RedisOptions& opt, Progress& progress) {
  const double t0 = Env::Default().MonotonicSeconds();
  RedisBackupResult res;
  res.report = {{"type", "redis"}, {"files", json::array({"dump.rdb"})}};
  auto fail = [&](const Status& st) {
    res.report["success"] = false;
    res.report["error"] = st.message();
    return res;
  };
  auto conn = RedisConnection::Connect(opt.endpoint);
  if (!conn.ok()) return fail(conn.status());
  RedisConnection& c = **conn;
  auto version = InfoField(c, "server", "redis_version");
  if (!version.ok()) return fail(FirstContactFailed(version.status()));
  auto keyspace = RedisKeyspace(c);
  if (!keyspace.ok()) return fail(keyspace.status());
  std::string digest = opt.digest ? Digest(c) : "";

  std::vector<Id> blobs;
  RdbValidator validator;
  ReplPosition position;
  Status st = Transfer(repo, saver, c, validator, blobs, position, progress);
  if (!st.ok()) {
    if (st.code() == Code::kUnavailable) {
      st =
          Unavailable("the snapshot transfer from Redis at " + opt.endpoint.Describe() + " broke off: " + st.message());
    }
    return fail(st);
  }
  conn->reset();  // drop the replica link: Redis forgets a replica that disconnects

  // The counts (and digest) describe the snapshot only if the data did not change meanwhile.
  bool exact = false;
  if (auto after = RedisConnection::Connect(opt.endpoint); after.ok()) {
    auto keyspace2 = RedisKeyspace(**after);
    exact = keyspace2.ok() && *keyspace2 == *keyspace && (!opt.digest || Digest(**after) == digest);
  }

  int64_t keys = 0;
  for (const auto& [db, n] : keyspace->items()) keys += n.get<int64_t>();
  json ids = json::array();
  for (const auto& id : blobs) ids.push_back(id.Hex());
  res.entry = {{"kind", "redis"},
               {"blobs", ids},
               {"size_bytes", validator.size()},
               {"keyspace", *keyspace},
               {"keyspace_exact", exact},
               {"redis_version", *version},
               {"source", opt.endpoint.Describe()}};
  if (!position.replid.empty()) {  // a stream capture of this id can replay from this snapshot on
    res.entry["repl_id"] = position.replid;
    res.entry["repl_offset"] = position.offset;
    res.report["repl_id"] = position.replid;
    res.report["repl_offset"] = position.offset;
  }
  json warnings = json::array();
  if (!position.warning.empty()) warnings.push_back(position.warning);
  // AOF files, when the data directory is local (Redis 7: appendonlydir with its manifest). They
  // are copied as Redis appends to them; Redis loads a truncated last command (aof-load-truncated).
  if (std::string aof = opt.data_dir + "/appendonlydir";
      !opt.data_dir.empty() && ::access(aof.c_str(), R_OK | X_OK) == 0) {
    FileBackupOptions fo;
    fo.roots = {{"appendonlydir", aof}};
    FileBackupResult fr = BackupFiles(repo, saver, "redis", fo, progress);
    if (!fr.success) return fail(Internal("AOF files in " + aof + " (REDIS_DATA_DIR): " + fr.FirstError()));
    res.entry["aof"] = fr.entry;
    res.report["files"].push_back("appendonlydir/");
    res.report["aof_files"] = fr.report["file_count"];
  } else if (!opt.data_dir.empty()) {
    warnings.push_back("no readable appendonlydir in REDIS_DATA_DIR " + opt.data_dir +
                       ": only the RDB snapshot was backed up");
  }
  if (!warnings.empty()) res.report["warnings"] = warnings;
  res.report["size_bytes"] = validator.size();
  res.report["keys"] = keys;
  res.report["keyspace"] = *keyspace;
  res.report["redis_version"] = *version;
  res.report["keyspace_exact"] = exact;
  if (exact && !digest.empty()) res.entry["digest"] = digest;
  res.report["duration_seconds"] = Env::Default().MonotonicSeconds() - t0;
  res.report["success"] = true;
  res.success = true;
  return res;
}

Status RunRedisRestartCommand(const std::string& command) {
  // Its output goes to stderr: stdout carries the JSON report.
  ASSIGN_OR_RETURN(auto proc, Subprocess::Start({{"/bin/sh", "-c", command}, {}, false, false}));
  int rc = proc->Wait();
  if (rc != 0) {
    return Internal("REDIS_RESTART_COMMAND failed (exit status " + std::to_string(rc) + "): " + proc->FirstErrorLine());
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<RedisConnection>> WaitRedisLoaded(const RedisOptions& opt) {
  Env& env = Env::Default();
  const double deadline = env.MonotonicSeconds() + opt.load_timeout_seconds;
  Backoff poll({.base_seconds = 0.2, .max_seconds = 0.2, .min_seconds = 0.2});
  Status last;
  while (env.MonotonicSeconds() < deadline) {
    auto c = RedisConnection::Connect(opt.endpoint);
    if (c.ok()) {
      auto loading = InfoField(**c, "persistence", "loading");
      if (loading.ok() && *loading == "0") return c;
      last = loading.ok() ? Unavailable("still loading") : loading.status();
    } else {
      last = c.status();
      if (last.code() == Code::kPermission) return last;
    }
    if (!env.SleepFor(poll.Next(), ProcessStopToken())) {
      return Unavailable("stopped while waiting for Redis to finish loading: " + last.message());
    }
  }
  return Unavailable("Redis did not finish loading within " + std::to_string(opt.load_timeout_seconds) +
                     " s: " + last.message());
}

// Compares the restored server with what the backup recorded: keys per database, and DEBUG
// DIGEST where both sides allow it. Counts taken while the source changed are not compared.
json VerifyLoaded(RedisConnection& c, const json& entry, json r) {
  auto keyspace = RedisKeyspace(c);
  if (!keyspace.ok()) {
    r["success"] = false;
    r["error"] = keyspace.status().message();
    return r;
  }
  r["keyspace"] = *keyspace;
  std::string verified = "RDB checksum and blob ids";
  if (entry.value("keyspace_exact", false)) {
    if (*keyspace != entry.value("keyspace", json::object())) {
      r["success"] = false;
      r["error"] = "Redis loaded the snapshot, but its keys per database " + keyspace->dump() +
                   " differ from the backup's " + entry.value("keyspace", json::object()).dump();
      return r;
    }
    verified += ", keys per database";
    if (std::string want = entry.value("digest", ""); !want.empty()) {
      std::string got = Digest(c);
      if (!got.empty() && got != want) {
        r["success"] = false;
        r["error"] = "Redis loaded the snapshot, but its DEBUG DIGEST " + got + " differs from the backup's " + want;
        return r;
      }
      if (!got.empty()) verified += ", DEBUG DIGEST";
    }
  } else {
    verified += " (key counts not compared: the source changed during the backup)";
  }
  r["verified"] = verified;
  r["success"] = true;
  return r;
}

json RestoreRedis(Repository& repo, const json& entry, const std::string& target_dir, const RedisOptions& opt) {
  json r = {{"files", json::array({"dump.rdb"})}};
  auto fail = [&](const Status& st) {
    r["success"] = false;
    r["error"] = st.message();
    return r;
  };
  std::string dir = target_dir;
  if (dir.empty()) {  // the server's own data directory, as it reports it
    auto c = RedisConnection::Connect(opt.endpoint);
    auto reply = c.ok() ? (*c)->Command({"CONFIG", "GET", "dir"}) : StatusOr<RespValue>(c.status());
    if (!reply.ok() || reply->elems.size() != 2) {
      return fail(InvalidArgument(
          "no directory to restore dump.rdb into: pass --target or set REDIS_DATA_DIR (asking Redis for "
          "its dir failed: " +
          (reply.ok() ? std::string("no answer") : reply.status().message()) + ")"));
    }
    dir = reply->elems[1].str;
  }
  const std::string& target = dir;
  Status st = MakeDirs(target, 0750);
  if (!st.ok()) return fail(st);
  std::string path = target + "/dump.rdb", tmp = target + "/.dump.rdb.stb-" + RandomHex(4);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!fd.valid()) return fail(ErrnoStatus("creating " + tmp, errno));
  RdbValidator validator;
  auto ids = EntryBlobIds(entry, "blobs");
  st = ids.ok() ? StreamBlobs(repo, std::move(*ids),  // read ahead in parallel, each verified against its id
                              [&](const Bytes& data) {
                                RETURN_IF_ERROR(WriteFull(fd.get(), data.data(), data.size(), tmp));
                                validator.Update(data.data(), data.size());
                                return Status::Ok();
                              })
                : ids.status().Context("redis entry of the snapshot");
  if (st.ok()) st = validator.Finish();
  if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus("fsync " + tmp, errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoStatus("renaming into " + path, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return fail(st);
  }
  r["restored_to"] = path;
  r["size_bytes"] = validator.size();
  if (entry.contains("aof")) {
    auto tree = LoadTree(repo, entry["aof"]);
    if (!tree.ok()) return fail(tree.status());
    FileRestoreOptions fo;
    fo.destinations["appendonlydir"] = target + "/appendonlydir";
    Progress p;
    FileRestoreResult fr = RestoreFiles(repo, *tree, fo, p);
    if (!fr.success) return fail(Internal("AOF files: " + fr.report.value("error", std::string("failed"))));
    r["files"].push_back("appendonlydir/");
    r["aof_files"] = fr.report["files"];
  }
  if (opt.restart_command.empty()) {
    r["success"] = true;
    r["verified"] = "file: blob ids and the RDB checksum; restart Redis on " + target + " to load it";
    return r;
  }
  st = RunRedisRestartCommand(opt.restart_command);
  if (!st.ok()) return fail(st);
  auto c = WaitRedisLoaded(opt);
  if (!c.ok()) return fail(c.status());
  return VerifyLoaded(**c, entry, r);
}

namespace {

// Answers the replica's handshake and sends the snapshot as a full resynchronisation.
Status ServeSnapshot(Repository& repo, const json& entry, RedisConnection& replica) {
  for (;;) {
    ASSIGN_OR_RETURN(RespValue cmd, replica.Read());
    if (cmd.type != RespValue::Type::kArray || cmd.elems.empty()) return Corrupt("unexpected request from the replica");
    std::string name = cmd.elems[0].str;
    for (auto& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::string reply = name == "PING" ? "+PONG\r\n" : "+OK\r\n";
    if (name == "PSYNC" || name == "SYNC") {
      reply = name == "PSYNC" ? "+FULLRESYNC " + ToHex(RandomBytes(20)) + " 0\r\n" : "";
      reply += "$" + std::to_string(entry.at("size_bytes").get<uint64_t>()) + "\r\n";
      RETURN_IF_ERROR(replica.SendRaw(reinterpret_cast<const uint8_t*>(reply.data()), reply.size()));
      ASSIGN_OR_RETURN(std::vector<Id> ids, EntryBlobIds(entry, "blobs"));
      return StreamBlobs(repo, std::move(ids),
                         [&](const Bytes& data) { return replica.SendRaw(data.data(), data.size()); });
    }
    RETURN_IF_ERROR(replica.SendRaw(reinterpret_cast<const uint8_t*>(reply.data()), reply.size()));
  }
}

StatusOr<bool> LinkUpAndLoaded(RedisConnection& c) {
  ASSIGN_OR_RETURN(std::string link, InfoField(c, "replication", "master_link_status"));
  ASSIGN_OR_RETURN(std::string loading, InfoField(c, "persistence", "loading"));
  return link == "up" && loading == "0";
}

}  // namespace

json RestoreRedisLive(Repository& repo, const json& entry, const RedisOptions& opt) {
  json r = {{"mode", "live"}, {"restored_to", opt.endpoint.Describe()}};
  auto fail = [&](const Status& st) {
    r["success"] = false;
    r["error"] = st.message();
    return r;
  };
  auto conn = RedisConnection::Connect(opt.endpoint);
  if (!conn.ok()) return fail(conn.status());
  RedisConnection& c = **conn;
  // The target connects back from its own address to ours, as this connection shows them.
  const std::string peer_ip = SocketAddressText(c.fd(), true);
  const std::string local_ip = SocketAddressText(c.fd(), false);
  if (peer_ip.empty() || local_ip.empty()) return fail(Internal("cannot tell the addresses of the Redis connection"));
  // A one-time token, given to the target as the password it presents to its master: only the
  // Redis we command knows it, so nobody else who reaches the listener is served the data set.
  auto saved = c.Command({"CONFIG", "GET", "masterauth"});
  if (!saved.ok() || saved->type != RespValue::Type::kArray || saved->elems.size() != 2) {
    return fail(PermissionDenied("live restore needs CONFIG GET/SET on Redis at " + opt.endpoint.Describe() +
                                 " (it gives the server a one-time token for the transfer); check REDIS_USERNAME"));
  }
  const std::string old_masterauth = saved->elems[1].str;
  const std::string token = ToHex(RandomBytes(24));
  auto st = c.Command({"CONFIG", "SET", "masterauth", token}).status();
  if (!st.ok()) return fail(st.Context("giving Redis at " + opt.endpoint.Describe() + " the transfer token"));
  bool replicating = false;
  // Whatever happens next, the target leaves as it came: no master, its own masterauth.
  struct Restore {
    RedisConnection& c;
    const std::string& old;
    bool& replicating;
    ~Restore() {
      if (replicating) (void)c.Command({"REPLICAOF", "NO", "ONE"});
      (void)c.Command({"CONFIG", "SET", "masterauth", old});
    }
  } restore_target{c, old_masterauth, replicating};

  auto listener = ReplicaListener::Open(local_ip, opt.live_port);
  if (!listener.ok()) return fail(listener.status());
  const std::string where = (*listener)->host() + ":" + std::to_string((*listener)->port());
  st = c.Command({"REPLICAOF", (*listener)->host(), std::to_string((*listener)->port())}).status();
  if (!st.ok()) return fail(st);
  replicating = true;
  auto accepted = (*listener)->AcceptReplica(
      peer_ip, token, std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.endpoint.timeout_ms),
      opt.endpoint);
  if (!accepted.ok()) {
    std::string why = (*listener)->RejectedSummary();
    return fail(Unavailable("Redis at " + opt.endpoint.Describe() + " did not connect back to " + where +
                            " for the live restore" + (why.empty() ? "" : "; " + why)));
  }
  if ((*listener)->rejected() > 0) r["refused_connections"] = (*listener)->rejected();
  auto& replica = *accepted;
  st = ServeSnapshot(repo, entry, *replica);
  if (!st.ok()) return fail(st.Context("serving the snapshot to Redis at " + opt.endpoint.Describe()));
  Env& env = Env::Default();
  const double deadline = env.MonotonicSeconds() + opt.load_timeout_seconds;
  Backoff poll({.base_seconds = 0.1, .max_seconds = 0.1, .min_seconds = 0.1});
  for (;;) {
    auto done = LinkUpAndLoaded(c);
    if (done.ok() && *done) break;
    if (env.MonotonicSeconds() > deadline) {
      return fail(Unavailable("Redis at " + opt.endpoint.Describe() + " did not load the snapshot within " +
                              std::to_string(opt.load_timeout_seconds) + " s"));
    }
    if (!env.SleepFor(poll.Next(), ProcessStopToken())) {
      return fail(Unavailable("stopped while Redis at " + opt.endpoint.Describe() + " loaded the snapshot"));
    }
  }
  st = c.Command({"REPLICAOF", "NO", "ONE"}).status();
  if (!st.ok()) return fail(st);
  replicating = false;
  r["size_bytes"] = entry.value("size_bytes", uint64_t{0});
  return VerifyLoaded(c, entry, r);
}

}  // namespace stb
