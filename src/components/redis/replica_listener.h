// The socket a live restore serves its snapshot from. It is bound to the one local address the
// target Redis reaches us by and hands out exactly one connection: the Redis we commanded, known
// by its address and by a one-time token it was given as `masterauth`; anyone else gets nothing.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "components/redis/resp.h"
#include "core/file_util.h"
#include "core/status.h"

namespace stb {

// A numeric address as getpeername/getsockname give it ("127.0.0.1", "::1"); IPv4-mapped IPv6
// addresses are written as IPv4 so that the two forms of one peer compare equal.
std::string SocketAddressText(int fd, bool peer);

class ReplicaListener {
 public:
  // Listens on `host` (a numeric address of this machine), on `port` (0: any free port).
  static StatusOr<std::unique_ptr<ReplicaListener>> Open(const std::string& host, int port);

  const std::string& host() const { return host_; }
  int port() const { return port_; }

  // Waits until `deadline` for the replica. A connection from another address than `peer_ip`, or
  // whose first commands are not PING* then AUTH [user] `token`, is closed without a byte of data.
  // On success the listener is closed (one transfer only) and the authenticated connection is
  // returned, its AUTH answered; the rest of the handshake (REPLCONF, PSYNC) is the caller's.
  // `endpoint` gives the connection its timeouts; rejected connections are counted in rejected().
  StatusOr<std::unique_ptr<RedisConnection>> AcceptReplica(const std::string& peer_ip, const std::string& token,
                                                           std::chrono::steady_clock::time_point deadline,
                                                           const RedisEndpoint& endpoint);
  // "2 connections refused (from 10.0.0.7: wrong address)": why strangers were turned away.
  std::string RejectedSummary() const;
  int rejected() const { return rejected_; }

 private:
  ReplicaListener() = default;
  // OK when the connection authenticated with the token; an error saying why not otherwise.
  Status Handshake(RedisConnection& conn, const std::string& token);

  Fd fd_;
  std::string host_;
  int port_ = 0;
  int rejected_ = 0;
  std::string last_rejection_;
};

}  // namespace stb
