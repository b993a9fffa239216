// A minimal Redis client: one TCP connection speaking RESP2, with timeouts. Error messages name
// the endpoint and the setting to check (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD), never a secret.
#pragma once

#include <memory>

struct ssl_st;
struct ssl_ctx_st;
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/file_util.h"
#include "core/status.h"

namespace stb {

struct RedisEndpoint {
  std::string host = "localhost";
  int port = 6379;
  std::string username;  // REDIS_USERNAME (ACL); empty: the default user
  std::string password;  // REDIS_PASSWORD; never printed
  int timeout_ms = 30000;
  // REDIS_TLS: TLS with the server's certificate verified against tls_ca (REDIS_TLS_CA_CERT) or
  // the system store, for tls_server_name (REDIS_TLS_SERVER_NAME, default host); a client
  // certificate for servers that ask for one (REDIS_TLS_CERT, REDIS_TLS_KEY).
  bool tls = false;
  std::string tls_ca, tls_cert, tls_key, tls_server_name;
  std::string Describe() const { return host + ":" + std::to_string(port); }
};

struct RespValue {
  enum class Type { kSimple, kError, kInteger, kBulk, kNil, kArray } type = Type::kNil;
  std::string str;  // simple, error, bulk
  int64_t integer = 0;
  std::vector<RespValue> elems;
};

class RedisConnection {
 public:
  // Connects and authenticates (AUTH [username] password) when a password is set.
  static StatusOr<std::unique_ptr<RedisConnection>> Connect(const RedisEndpoint& ep);

  // Sends one command and reads its reply; a Redis error reply becomes a Status.
  StatusOr<RespValue> Command(const std::vector<std::string>& args);
  Status Send(const std::vector<std::string>& args);
  StatusOr<RespValue> Read();
  // A raw line without its CRLF (replication replies) / raw bytes, buffered data first.
  StatusOr<std::string> ReadLine();
  StatusOr<size_t> ReadSome(uint8_t* buf, size_t n);
  // As ReadSome, but 0 when nothing arrives within wait_ms (a replication stream's quiet time).
  StatusOr<size_t> ReadSomeWithin(uint8_t* buf, size_t n, int wait_ms);
  const RedisEndpoint& endpoint() const { return ep_; }
  int fd() const { return fd_.get(); }
  // Sends bytes as they are (serving a replica).
  Status SendRaw(const uint8_t* data, size_t n);
  // Wraps an accepted socket (the replica connecting to us during a live restore).
  static std::unique_ptr<RedisConnection> Adopt(Fd fd, const RedisEndpoint& peer);
  // Changes the read and write timeouts of an open connection.
  void SetTimeoutMs(int ms);
  // Reads from `data` as if a server had sent it and then closed the connection; sends go
  // nowhere. For unit tests and fuzzing of the protocol parser.
  static std::unique_ptr<RedisConnection> FromBytes(Bytes data, const RedisEndpoint& peer = {});

  // Bounds on one reply: nesting depth (Redis' own replies nest a few levels), elements in all
  // its arrays together, and one bulk string (Redis' proto-max-bulk-len default).
  static constexpr int kMaxDepth = 32;
  static constexpr int64_t kMaxElements = 1ll << 24;
  static constexpr int64_t kMaxBulk = 512ll << 20;

 private:
  explicit RedisConnection(const RedisEndpoint& ep) : ep_(ep) {}
  Status Fill();
  StatusOr<RespValue> ReadValue(int depth, int64_t& elements);
  Status Closed() const;

  Status StartTls();

  struct SslFree {
    void operator()(ssl_st* s) const;
    void operator()(ssl_ctx_st* c) const;
  };
  RedisEndpoint ep_;
  Fd fd_;
  std::unique_ptr<ssl_ctx_st, SslFree> ctx_;
  std::unique_ptr<ssl_st, SslFree> ssl_;  // declared after fd_: freed before the socket closes
  Bytes buf_;
  size_t pos_ = 0;
  bool in_memory_ = false;  // FromBytes: no socket behind buf_
};

// Adds the REDIS_HOST/REDIS_PORT hint to a failure of the first exchange with a server.
Status FirstContactFailed(const Status& st);

// Parses INFO output into "field" -> "value" (sections flattened).
std::vector<std::pair<std::string, std::string>> ParseInfo(const std::string& info);

}  // namespace stb
