#include "components/redis/resp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/parse.h"

namespace stb {

namespace {

constexpr size_t kMaxLine = 64 << 10;  // a status line or number; anything longer is not Redis

Status Refused(const RedisEndpoint& ep, const std::string& why) {
  return Unavailable("cannot connect to Redis at " + ep.Describe() + " (check REDIS_HOST and REDIS_PORT): " + why);
}

}  // namespace

void RedisConnection::SslFree::operator()(ssl_st* s) const { SSL_free(s); }
void RedisConnection::SslFree::operator()(ssl_ctx_st* c) const { SSL_CTX_free(c); }

namespace {
std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown TLS error" : out;
}
}  // namespace

Status RedisConnection::StartTls() {
  ctx_.reset(SSL_CTX_new(TLS_client_method()));
  if (!ctx_) return Internal("TLS: " + SslErrors());
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  if (!ep_.tls_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx_.get(), ep_.tls_ca.c_str(), nullptr) != 1) {
      return InvalidArgument("REDIS_TLS_CA_CERT " + ep_.tls_ca + " cannot be loaded: " + SslErrors());
    }
  } else {
    SSL_CTX_set_default_verify_paths(ctx_.get());
  }
  if (!ep_.tls_cert.empty() || !ep_.tls_key.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx_.get(), ep_.tls_cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_.get(), ep_.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
      return InvalidArgument("the client certificate (REDIS_TLS_CERT, REDIS_TLS_KEY) cannot be loaded: " + SslErrors());
    }
  }
  ssl_.reset(SSL_new(ctx_.get()));
  SSL_set_fd(ssl_.get(), fd_.get());
  std::string name = ep_.tls_server_name.empty() ? ep_.host : ep_.tls_server_name;
  unsigned char addr[16];
  bool is_ip = inet_pton(AF_INET, name.c_str(), addr) == 1 || inet_pton(AF_INET6, name.c_str(), addr) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_.get(), name.c_str());
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
  }
  if (SSL_connect(ssl_.get()) != 1) {
    long v = SSL_get_verify_result(ssl_.get());
    std::string why = v != X509_V_OK ? X509_verify_cert_error_string(v) : SslErrors();
    return Unavailable("TLS handshake with Redis at " + ep_.Describe() + " failed: " + why +
                       " (check REDIS_TLS_CA_CERT and REDIS_TLS_SERVER_NAME)");
  }
  return Status::Ok();
}

Status FirstContactFailed(const Status& st) {
  if (st.code() != Code::kUnavailable && st.code() != Code::kCorrupt && st.code() != Code::kIo) return st;
  return Unavailable(st.message() +
                     " (check that REDIS_HOST and REDIS_PORT point at a Redis server, and REDIS_TLS for a TLS port)");
}

StatusOr<std::unique_ptr<RedisConnection>> RedisConnection::Connect(const RedisEndpoint& ep) {
  std::unique_ptr<RedisConnection> c(new RedisConnection(ep));
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  int gai = getaddrinfo(ep.host.c_str(), std::to_string(ep.port).c_str(), &hints, &res);
  if (gai != 0) return Refused(ep, std::string("cannot resolve the host name (") + gai_strerror(gai) + ")");
  std::string last = "no address";
  for (auto* ai = res; ai; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
    if (!fd.valid()) continue;
    int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      struct pollfd p = {fd.get(), POLLOUT, 0};
      rc = ::poll(&p, 1, ep.timeout_ms);
      int err = 0;
      socklen_t len = sizeof err;
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        errno = err;
        rc = err ? -1 : 0;
      }
    }
    if (rc != 0) {
      last = std::strerror(errno);
      continue;
    }
    int flags = fcntl(fd.get(), F_GETFL);
    fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    struct timeval tv = {ep.timeout_ms / 1000, (ep.timeout_ms % 1000) * 1000};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    c->fd_ = std::move(fd);
    break;
  }
  freeaddrinfo(res);
  if (!c->fd_.valid()) return Refused(ep, last);
  if (ep.tls) RETURN_IF_ERROR(c->StartTls());
  if (!ep.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!ep.username.empty()) auth.push_back(ep.username);
    auth.push_back(ep.password);
    auto r = c->Command(auth);
    if (!r.ok()) {
      // Only an error reply from Redis is a refusal; anything else means no Redis answered.
      if (r.status().code() != Code::kInvalidArgument) return FirstContactFailed(r.status());
      return PermissionDenied("Redis at " + ep.Describe() +
                              " refused the credentials (check REDIS_PASSWORD and REDIS_USERNAME)");
    }
  }
  return c;
}

Status RedisConnection::Closed() const { return Unavailable("Redis at " + ep_.Describe() + " closed the connection"); }

Status RedisConnection::Fill() {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  if (in_memory_) return Closed();
  uint8_t tmp[64 << 10];
  for (;;) {
    ssize_t r;
    if (ssl_) {
      int n = SSL_read(ssl_.get(), tmp, sizeof tmp);
      if (n > 0) {
        buf_.insert(buf_.end(), tmp, tmp + n);
        return Status::Ok();
      }
      int err = SSL_get_error(ssl_.get(), n);
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno == 0)) return Closed();
      if (err != SSL_ERROR_SYSCALL) return Unavailable("TLS read from Redis at " + ep_.Describe() + ": " + SslErrors());
      r = -1;  // errno says why (a timeout is EAGAIN)
    } else {
      r = ::recv(fd_.get(), tmp, sizeof tmp, 0);
    }
    if (r > 0) {
      buf_.insert(buf_.end(), tmp, tmp + r);
      return Status::Ok();
    }
    if (r == 0) return Closed();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return Unavailable("Redis at " + ep_.Describe() + " did not answer within " +
                         std::to_string(ep_.timeout_ms / 1000) + " s");
    }
    return ErrnoStatus("reading from Redis at " + ep_.Describe(), errno);
  }
}

Status RedisConnection::Send(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return SendRaw(reinterpret_cast<const uint8_t*>(out.data()), out.size());
}

Status RedisConnection::SendRaw(const uint8_t* data, size_t n) {
  size_t done = 0;
  while (done < n) {
    if (ssl_) {
      int w = SSL_write(ssl_.get(), data + done, static_cast<int>(std::min<size_t>(n - done, 1 << 30)));
      if (w <= 0) return Unavailable("TLS write to Redis at " + ep_.Describe() + ": " + SslErrors());
      done += static_cast<size_t>(w);
      continue;
    }
    ssize_t w = ::send(fd_.get(), data + done, n - done, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing to Redis at " + ep_.Describe(), errno);
    }
    done += static_cast<size_t>(w);
  }
  return Status::Ok();
}

std::unique_ptr<RedisConnection> RedisConnection::Adopt(Fd fd, const RedisEndpoint& peer) {
  std::unique_ptr<RedisConnection> c(new RedisConnection(peer));
  c->fd_ = std::move(fd);
  c->SetTimeoutMs(peer.timeout_ms);
  return c;
}

void RedisConnection::SetTimeoutMs(int ms) {
  ep_.timeout_ms = ms;
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::unique_ptr<RedisConnection> RedisConnection::FromBytes(Bytes data, const RedisEndpoint& peer) {
  std::unique_ptr<RedisConnection> c(new RedisConnection(peer));
  c->buf_ = std::move(data);
  c->in_memory_ = true;
  return c;
}

StatusOr<std::string> RedisConnection::ReadLine() {
  for (;;) {
    for (size_t i = pos_; i + 1 < buf_.size(); ++i) {
      if (buf_[i] == '\r' && buf_[i + 1] == '\n') {
        std::string line(buf_.begin() + static_cast<ptrdiff_t>(pos_), buf_.begin() + static_cast<ptrdiff_t>(i));
        pos_ = i + 2;
        return line;
      }
    }
    if (buf_.size() - pos_ > kMaxLine) {
      return Corrupt(ep_.Describe() + " does not answer in the Redis protocol");
    }
    RETURN_IF_ERROR(Fill());
  }
}

StatusOr<size_t> RedisConnection::ReadSome(uint8_t* out, size_t n) {
  if (pos_ == buf_.size()) {
    Status st = Fill();
    if (!st.ok()) return st;
  }
  size_t k = std::min(n, buf_.size() - pos_);
  std::memcpy(out, buf_.data() + pos_, k);
  pos_ += k;
  return k;
}

StatusOr<size_t> RedisConnection::ReadSomeWithin(uint8_t* out, size_t n, int wait_ms) {
  if (pos_ == buf_.size() && !in_memory_ && !(ssl_ && SSL_pending(ssl_.get()) > 0)) {
    struct pollfd p = {fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno != EINTR) return ErrnoStatus("waiting for Redis at " + ep_.Describe(), errno);
    if (r <= 0) return size_t{0};
  }
  return ReadSome(out, n);
}

StatusOr<RespValue> RedisConnection::Read() {
  int64_t elements = 0;
  return ReadValue(0, elements);
}

StatusOr<RespValue> RedisConnection::ReadValue(int depth, int64_t& elements) {
  ASSIGN_OR_RETURN(std::string line, ReadLine());
  RespValue v;
  auto not_redis = [&] { return Corrupt(ep_.Describe() + " does not answer in the Redis protocol"); };
  if (line.empty()) return not_redis();
  auto number = [&](int64_t& n, int64_t lo, int64_t hi) {
    auto parsed = ParseInt(std::string_view(line).substr(1), lo, hi);
    if (parsed.ok()) n = *parsed;
    return parsed.ok();
  };
  switch (line[0]) {
    case '+':
      v.type = RespValue::Type::kSimple;
      v.str = line.substr(1);
      return v;
    case '-':
      v.type = RespValue::Type::kError;
      v.str = line.substr(1);
      return v;
    case ':':
      v.type = RespValue::Type::kInteger;
      if (!number(v.integer, INT64_MIN, INT64_MAX)) return not_redis();
      return v;
    case '$': {
      int64_t n;
      if (!number(n, -1, kMaxBulk)) return not_redis();
      if (n == -1) return v;
      v.type = RespValue::Type::kBulk;
      // Grown as the bytes arrive: a length alone never makes us allocate hundreds of MiB.
      size_t want = static_cast<size_t>(n) + 2;
      v.str.reserve(std::min<size_t>(want, 1 << 20));
      while (v.str.size() < want) {
        if (pos_ == buf_.size()) RETURN_IF_ERROR(Fill());
        size_t k = std::min(want - v.str.size(), buf_.size() - pos_);
        v.str.append(reinterpret_cast<const char*>(buf_.data() + pos_), k);
        pos_ += k;
      }
      if (v.str[static_cast<size_t>(n)] != '\r' || v.str[static_cast<size_t>(n) + 1] != '\n') return not_redis();
      v.str.resize(static_cast<size_t>(n));
      return v;
    }
    case '*': {
      int64_t n;
      if (!number(n, -1, kMaxElements)) return not_redis();
      if (n == -1) return v;
      // Bounded so that a hostile or broken server cannot exhaust the stack or the memory.
      if (depth >= kMaxDepth) {
        return Corrupt(ep_.Describe() + " sent a reply nested deeper than " + std::to_string(kMaxDepth) +
                       " levels: not a Redis server");
      }
      elements += n;
      if (elements > kMaxElements) {
        return Corrupt(ep_.Describe() + " sent a reply of more than " + std::to_string(kMaxElements) +
                       " elements: not a Redis server");
      }
      v.type = RespValue::Type::kArray;
      for (int64_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(RespValue e, ReadValue(depth + 1, elements));
        v.elems.push_back(std::move(e));
      }
      return v;
    }
    default:
      return not_redis();
  }
}

StatusOr<RespValue> RedisConnection::Command(const std::vector<std::string>& args) {
  RETURN_IF_ERROR(Send(args));
  ASSIGN_OR_RETURN(RespValue v, Read());
  // The command name only: arguments may hold a password.
  if (v.type == RespValue::Type::kError) return InvalidArgument("Redis " + args[0] + " failed: " + v.str);
  return v;
}

std::vector<std::pair<std::string, std::string>> ParseInfo(const std::string& info) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start < info.size()) {
    size_t end = info.find('\n', start);
    if (end == std::string::npos) end = info.size();
    std::string line = info.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (!line.empty() && line[0] != '#' && colon != std::string::npos)
      out.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    start = end + 1;
  }
  return out;
}

}  // namespace stb
