#include "components/redis/replica_listener.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace stb {

namespace {

// How long a connection may take to authenticate before it is dropped: a stranger that connects
// and says nothing must not hold the listener until the real replica gives up.
constexpr int kHandshakeMs = 5000;
// PINGs allowed before AUTH (Redis sends one).
constexpr int kMaxPreAuthCommands = 4;

std::string AddressText(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (a.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a)->sin_addr, buf, sizeof buf);
    return buf;
  }
  if (a.ss_family != AF_INET6) return "";
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&a);
  if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
    inet_ntop(AF_INET, &a6->sin6_addr.s6_addr[12], buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, &a6->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

std::string Upper(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

Status SendText(RedisConnection& conn, const std::string& s) {
  return conn.SendRaw(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string SocketAddressText(int fd, bool peer) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len)
                : ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return rc == 0 ? AddressText(a) : "";
}

StatusOr<std::unique_ptr<ReplicaListener>> ReplicaListener::Open(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port_text = std::to_string(port);
  if (::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res) != 0 || res == nullptr) {
    return InvalidArgument("cannot listen on '" + host + "': not a numeric address");
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(res, ::freeaddrinfo);
  std::unique_ptr<ReplicaListener> l(new ReplicaListener());
  l->fd_ = Fd(::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!l->fd_.valid()) return ErrnoStatus("creating the live-restore listener", errno);
  int one = 1;
  (void)::setsockopt(l->fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  std::string where = host + ":" + port_text;
  if (::bind(l->fd_.get(), res->ai_addr, res->ai_addrlen) != 0) {
    return ErrnoStatus("listening for the replica on " + where + " (REDIS_LIVE_RESTORE_PORT)", errno);
  }
  if (::listen(l->fd_.get(), 4) != 0) return ErrnoStatus("listening for the replica on " + where, errno);
  l->host_ = host;
  l->port_ = port;
  if (port == 0) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(l->fd_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return ErrnoStatus("getsockname of the live-restore listener", errno);
    }
    l->port_ = ntohs(a.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&a)->sin_port
                                            : reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  }
  return l;
}

Status ReplicaListener::Handshake(RedisConnection& conn, const std::string& token) {
  for (int i = 0; i <= kMaxPreAuthCommands; ++i) {
    ASSIGN_OR_RETURN(RespValue cmd, conn.Read());
    if (cmd.type != RespValue::Type::kArray || cmd.elems.empty()) return Corrupt("not a Redis command");
    for (const auto& e : cmd.elems) {
      if (e.type != RespValue::Type::kBulk) return Corrupt("not a Redis command");
    }
    std::string name = Upper(cmd.elems[0].str);
    if (name == "PING") {
      RETURN_IF_ERROR(SendText(conn, "+PONG\r\n"));
      continue;
    }
    if (name == "AUTH" && (cmd.elems.size() == 2 || cmd.elems.size() == 3)) {
      if (SameSecret(cmd.elems.back().str, token)) return SendText(conn, "+OK\r\n");
      (void)SendText(conn, "-WRONGPASS invalid username-password pair\r\n");
      return PermissionDenied("wrong token");
    }
    (void)SendText(conn, "-NOAUTH Authentication required.\r\n");
    return PermissionDenied("no token");
  }
  return PermissionDenied("no token");
}

StatusOr<std::unique_ptr<RedisConnection>> ReplicaListener::AcceptReplica(
    const std::string& peer_ip, const std::string& token, std::chrono::steady_clock::time_point deadline,
    const RedisEndpoint& endpoint) {
  using namespace std::chrono;
  for (;;) {
    auto left = duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    if (left <= 0) return Unavailable("no authenticated replica connected");
    pollfd p = {fd_.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (rc < 0 && errno != EINTR) return ErrnoStatus("waiting for the replica", errno);
    if (rc <= 0) continue;
    Fd cfd(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!cfd.valid()) continue;  // the peer gave up between poll and accept
    std::string from = SocketAddressText(cfd.get(), true);
    if (from != peer_ip) {
      ++rejected_;
      last_rejection_ = "from " + from + ": not the address of the Redis being restored (" + peer_ip + ")";
      continue;
    }
    RedisEndpoint ep = endpoint;
    ep.timeout_ms =
        static_cast<int>(std::min<int64_t>({int64_t{ep.timeout_ms}, kHandshakeMs, std::max<int64_t>(left, 1)}));
    auto conn = RedisConnection::Adopt(std::move(cfd), ep);
    Status st = Handshake(*conn, token);
    if (!st.ok()) {
      ++rejected_;
      last_rejection_ = "from " + from + ": " + st.message();
      continue;
    }
    fd_ = Fd();  // one transfer only: nobody else can connect from here on
    conn->SetTimeoutMs(endpoint.timeout_ms);
    return conn;
  }
}

std::string ReplicaListener::RejectedSummary() const {
  if (rejected_ == 0) return "";
  return std::to_string(rejected_) + " connection" + (rejected_ == 1 ? "" : "s") + " refused (last " + last_rejection_ +
         ")";
}

}  // namespace stb
