#include "redisstream/redis_link.h"

namespace stb {

StatusOr<std::unique_ptr<ReplicaLink>> RedisReplicaLink::Connect(const RedisEndpoint& ep) {
  auto c = RedisConnection::Connect(ep);
  if (!c.ok()) return FirstContactFailed(c.status());
  return std::unique_ptr<ReplicaLink>(new RedisReplicaLink(std::move(*c)));
}

StatusOr<RedisServerInfo> RedisReplicaLink::Info() {
  std::string text;
  for (const char* section : {"server", "cluster", "replication"}) {
    auto v = conn_->Command({"INFO", section});
    if (!v.ok()) {
      if (v.status().message().find("NOPERM") != std::string::npos) {
        return PermissionDenied("INFO refused: the Redis user needs +info +psync +replconf +ping (REDIS_USERNAME)");
      }
      return v.status();
    }
    if (v->type != RespValue::Type::kBulk) return Corrupt("INFO " + std::string(section) + ": not a bulk reply");
    text += v->str;
  }
  return ParseRedisServerInfo(text);
}

StatusOr<PsyncReply> RedisReplicaLink::Psync(const std::string& replid, uint64_t offset) {
  // No REPLCONF listening-port: the master lists us with port 0, so Sentinel can never promote us.
  Status rc = conn_->Command({"REPLCONF", "capa", "eof", "capa", "psync2"}).status();
  if (!rc.ok()) return PermissionDenied("REPLCONF refused: the Redis user needs +replconf +psync (REDIS_USERNAME)");
  RETURN_IF_ERROR(
      conn_->Send({"PSYNC", replid.empty() ? "?" : replid, replid.empty() ? "-1" : std::to_string(offset)}));
  ASSIGN_OR_RETURN(std::string line, conn_->ReadLine());
  const size_t first = line.find_first_not_of('\n');  // keep-alives before the answer
  ASSIGN_OR_RETURN(PsyncReply r, ParsePsyncReply(first == std::string::npos ? "" : line.substr(first)));
  if (r.kind == PsyncReply::Kind::kFullResync) {
    rdb_ = std::make_unique<RdbSource>(*conn_);
    RETURN_IF_ERROR(rdb_->Start());
  }
  return r;
}

StatusOr<size_t> RedisReplicaLink::ReadRdb(uint8_t* buf, size_t n) {
  if (!rdb_) return Internal("ReadRdb without a full resync");
  return rdb_->Read(buf, n);
}

StatusOr<size_t> RedisReplicaLink::Receive(uint8_t* buf, size_t n, int timeout_ms) {
  return conn_->ReadSomeWithin(buf, n, timeout_ms);
}

Status RedisReplicaLink::SendAck(uint64_t offset) { return conn_->Send({"REPLCONF", "ACK", std::to_string(offset)}); }

}  // namespace stb
