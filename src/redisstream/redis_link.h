// The capture's ReplicaLink over a real server: RedisConnection (TLS and ACL as the redis
// component connects) speaking INFO, REPLCONF, PSYNC, the base RDB and the stream.
#pragma once

#include <memory>

#include "components/redis/rdb_source.h"
#include "components/redis/resp.h"
#include "redisstream/capture.h"

namespace stb {

class RedisReplicaLink : public ReplicaLink {
 public:
  static StatusOr<std::unique_ptr<ReplicaLink>> Connect(const RedisEndpoint& ep);

  StatusOr<RedisServerInfo> Info() override;
  StatusOr<PsyncReply> Psync(const std::string& replid, uint64_t offset) override;
  StatusOr<size_t> ReadRdb(uint8_t* buf, size_t n) override;
  StatusOr<size_t> Receive(uint8_t* buf, size_t n, int timeout_ms) override;
  Status SendAck(uint64_t offset) override;

 private:
  explicit RedisReplicaLink(std::unique_ptr<RedisConnection> c) : conn_(std::move(c)) {}
  std::unique_ptr<RedisConnection> conn_;
  std::unique_ptr<RdbSource> rdb_;
};

}  // namespace stb
