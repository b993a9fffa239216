#include "pgwire_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace stb {

namespace {

constexpr uint32_t kMaxMessage = 1 << 20;  // no statement of ours comes near this
constexpr uint32_t kSslRequest = 80877103, kGssRequest = 80877104, kCancelRequest = 80877102, kProtocol3 = 196608;

// A message being built: type byte, length filled in by Finish.
class Out {
 public:
  explicit Out(char type) { buf_.push_back(type), buf_.append(4, '\0'); }
  Out& I32(uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) buf_.push_back(char((v >> s) & 0xff));
    return *this;
  }
  Out& I16(uint16_t v) {
    buf_.push_back(char(v >> 8)), buf_.push_back(char(v & 0xff));
    return *this;
  }
  Out& Str(const std::string& s) {
    buf_.append(s).push_back('\0');
    return *this;
  }
  Out& Bytes(const std::string& s) {
    buf_.append(s);
    return *this;
  }
  Out& Byte(char c) {
    buf_.push_back(c);
    return *this;
  }
  std::string Finish() {
    uint32_t n = uint32_t(buf_.size() - 1);
    for (int i = 0; i < 4; ++i) buf_[1 + i] = char((n >> (24 - 8 * i)) & 0xff);
    return buf_;
  }

 private:
  std::string buf_;
};

uint32_t Be32(const unsigned char* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

// Reads exactly n bytes, polling so a stopping server is noticed; false on EOF, error or stop.
bool ReadFull(int fd, void* dst, size_t n, const std::atomic<bool>& stopping) {
  auto* p = static_cast<char*>(dst);
  while (n > 0) {
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, 100);
    if (stopping) return false;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got, n -= size_t(got);
  }
  return true;
}

bool WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += size_t(n);
  }
  return true;
}

std::string Error(const char* severity, const std::string& sqlstate, const std::string& message) {
  return Out('E')
      .Byte('S')
      .Str(severity)
      .Byte('V')
      .Str(severity)
      .Byte('C')
      .Str(sqlstate)
      .Byte('M')
      .Str(message)
      .Byte('\0')
      .Finish();
}

std::string Ready() { return Out('Z').Byte('I').Finish(); }

// key\0value\0...\0 of a StartupMessage.
std::map<std::string, std::string> StartupParams(const std::string& body) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < body.size() && body[pos] != '\0') {
    size_t k_end = body.find('\0', pos);
    if (k_end == std::string::npos) break;
    size_t v_end = body.find('\0', k_end + 1);
    if (v_end == std::string::npos) break;
    out[body.substr(pos, k_end - pos)] = body.substr(k_end + 1, v_end - k_end - 1);
    pos = v_end + 1;
  }
  return out;
}

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == ';' || isspace(static_cast<unsigned char>(s.back())))) s.pop_back();
  size_t b = 0;
  while (b < s.size() && isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

std::string Answer(const PgWireResult& r) {
  if (!r.sqlstate.empty()) return Error("ERROR", r.sqlstate, r.message);
  std::string out;
  if (!r.columns.empty()) {
    Out t('T');
    t.I16(uint16_t(r.columns.size()));
    for (size_t i = 0; i < r.columns.size(); ++i) {
      uint32_t oid = i < r.types.size() ? r.types[i] : 25;
      t.Str(r.columns[i]).I32(0).I16(0).I32(oid).I16(uint16_t(-1)).I32(uint32_t(-1)).I16(0);
    }
    out += t.Finish();
    if (r.drop_connection) return out;
    for (const auto& row : r.rows) {
      Out d('D');
      d.I16(uint16_t(row.size()));
      for (const auto& v : row) {
        if (!v) {
          d.I32(uint32_t(-1));
        } else {
          d.I32(uint32_t(v->size())).Bytes(*v);
        }
      }
      out += d.Finish();
    }
  }
  out += Out('C').Str(r.tag.empty() ? "SELECT " + std::to_string(r.rows.size()) : r.tag).Finish();
  return out;
}

std::string B64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  out.resize(size_t(n));
  return out;
}

std::optional<std::string> Unb64(const std::string& in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 4096) return std::nullopt;
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  if (n < 0) return std::nullopt;
  size_t pad = in.size() - in.find_last_not_of('=') - 1;
  out.resize(size_t(n) - std::min(pad, size_t(n)));
  return out;
}

std::string Hmac(const std::string& key, const std::string& msg) {
  unsigned char out[32];
  unsigned int len = sizeof out;
  HMAC(EVP_sha256(), key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Sha256(const std::string& in) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// The value of attribute k in a SCRAM message "k=v,k=v" ("" when missing).
std::string ScramAttr(const std::string& msg, char k) {
  for (size_t pos = 0; pos < msg.size();) {
    size_t end = msg.find(',', pos);
    if (end == std::string::npos) end = msg.size();
    if (end - pos >= 2 && msg[pos] == k && msg[pos + 1] == '=') return msg.substr(pos + 2, end - pos - 2);
    pos = end + 1;
  }
  return "";
}

}  // namespace

PgWireServer::PgWireServer(PgWireOptions options, Handler handler)
    : options_(std::move(options)), handler_(std::move(handler)) {}

PgWireServer::~PgWireServer() { Stop(); }

bool PgWireServer::Start(std::string* error) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(uint16_t(options_.port));
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = "cannot listen on 127.0.0.1:" + std::to_string(options_.port) + ": " + std::strerror(errno);
    return false;
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return true;
}

void PgWireServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  std::vector<std::thread> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.swap(connections_);
  }
  for (auto& t : conns) t.join();
}

std::vector<std::string> PgWireServer::statements() const {
  std::lock_guard<std::mutex> lock(mu_);
  return statements_;
}

void PgWireServer::AcceptLoop() {
  while (!stopping_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    connections_.emplace_back([this, fd] {
      Serve(fd);
      ::close(fd);
    });
  }
}

void PgWireServer::Serve(int fd) {
  // Startup: length-prefixed packets without a type byte until a protocol 3.0 StartupMessage.
  std::map<std::string, std::string> params;
  for (;;) {
    unsigned char hdr[8];
    if (!ReadFull(fd, hdr, 8, stopping_)) return;
    uint32_t len = Be32(hdr), code = Be32(hdr + 4);
    if (len < 8 || len > 10000) return void(WriteAll(fd, Error("FATAL", "08P01", "invalid startup packet length")));
    std::string body(len - 8, '\0');
    if (!body.empty() && !ReadFull(fd, body.data(), body.size(), stopping_)) return;
    if (code == kSslRequest || code == kGssRequest) {
      if (!WriteAll(fd, "N")) return;
      continue;
    }
    if (code == kCancelRequest) return;
    if (code != kProtocol3) return void(WriteAll(fd, Error("FATAL", "08P01", "unsupported frontend protocol")));
    params = StartupParams(body);
    break;
  }
  PgWireSession session{params["user"], params.count("database") ? params["database"] : params["user"]};

  // Reads one typed message; false on EOF, a length out of bounds, or stop.
  auto read_message = [&](char& type, std::string& body) {
    unsigned char hdr[5];
    if (!ReadFull(fd, hdr, 5, stopping_)) return false;
    type = char(hdr[0]);
    uint32_t len = Be32(hdr + 1);
    if (len < 4 || len > kMaxMessage) {
      WriteAll(fd, Error("FATAL", "08P01", "invalid message length"));
      return false;
    }
    body.assign(len - 4, '\0');
    return body.empty() || ReadFull(fd, body.data(), body.size(), stopping_);
  };

  char type = 0;
  std::string body;
  auto refuse = [&] {
    WriteAll(fd, Error("FATAL", "28P01", "password authentication failed for user " + session.user));
  };
  if (!options_.password.empty() && !options_.scram) {
    if (!WriteAll(fd, Out('R').I32(3).Finish())) return;
    if (!read_message(type, body)) return;
    std::string given = body.substr(0, body.find('\0'));
    if (type != 'p' || given != options_.password) return refuse();
  } else if (!options_.password.empty()) {
    // RFC 5802/7677 as PostgreSQL frames it: SASL, SASLContinue, SASLFinal.
    if (!WriteAll(fd, Out('R').I32(10).Str("SCRAM-SHA-256").Byte('\0').Finish())) return;
    if (!read_message(type, body) || type != 'p') return;
    size_t mech_end = body.find('\0');
    if (mech_end == std::string::npos || body.substr(0, mech_end) != "SCRAM-SHA-256" || body.size() < mech_end + 5) {
      return refuse();
    }
    std::string client_first = body.substr(mech_end + 5);
    size_t gs2 = client_first.find(',', client_first.find(',') + 1);
    if (gs2 == std::string::npos) return refuse();
    std::string client_first_bare = client_first.substr(gs2 + 1);
    std::string cnonce = ScramAttr(client_first_bare, 'r');
    unsigned char rnd[18], salt_bytes[16];
    RAND_bytes(rnd, sizeof rnd);
    RAND_bytes(salt_bytes, sizeof salt_bytes);
    std::string salt(reinterpret_cast<char*>(salt_bytes), sizeof salt_bytes);
    std::string nonce = cnonce + B64(std::string(reinterpret_cast<char*>(rnd), sizeof rnd));
    std::string server_first = "r=" + nonce + ",s=" + B64(salt) + ",i=4096";
    if (cnonce.empty() || !WriteAll(fd, Out('R').I32(11).Bytes(server_first).Finish())) return refuse();
    if (!read_message(type, body) || type != 'p') return;
    size_t proof_at = body.rfind(",p=");
    auto proof = proof_at == std::string::npos ? std::nullopt : Unb64(body.substr(proof_at + 3));
    if (!proof || proof->size() != 32 || ScramAttr(body, 'r') != nonce) return refuse();
    unsigned char salted[32];
    PKCS5_PBKDF2_HMAC(options_.password.data(), int(options_.password.size()), salt_bytes, sizeof salt_bytes, 4096,
                      EVP_sha256(), sizeof salted, salted);
    std::string salted_pw(reinterpret_cast<char*>(salted), sizeof salted);
    std::string auth_message = client_first_bare + "," + server_first + "," + body.substr(0, proof_at);
    std::string stored_key = Sha256(Hmac(salted_pw, "Client Key"));
    std::string signature = Hmac(stored_key, auth_message), client_key(32, '\0');
    for (size_t i = 0; i < 32; ++i) client_key[i] = char((*proof)[i] ^ signature[i]);
    if (Sha256(client_key) != stored_key) return refuse();
    std::string server_sig = Hmac(Hmac(salted_pw, "Server Key"), auth_message);
    if (!WriteAll(fd, Out('R').I32(12).Bytes("v=" + B64(server_sig)).Finish())) return;
    ++scram_logins_;
  }
  std::string hello = Out('R').I32(0).Finish();
  for (const auto& [k, v] : options_.parameters) hello += Out('S').Str(k).Str(v).Finish();
  hello += Out('K').I32(uint32_t(::getpid())).I32(uint32_t(fd)).Finish();
  hello += Ready();
  if (!WriteAll(fd, hello)) return;

  bool extended_error = false;  // after an error in extended mode, everything up to Sync is skipped
  while (read_message(type, body)) {
    switch (type) {
      case 'Q': {
        std::string sql = Trimmed(body.substr(0, body.find('\0')));
        {
          std::lock_guard<std::mutex> lock(mu_);
          statements_.push_back(sql);
        }
        if (on_statement) on_statement(sql);
        if (sql.empty()) {
          if (!WriteAll(fd, Out('I').Finish() + Ready())) return;
          break;
        }
        PgWireResult r = handler_(session, sql);
        if (r.drop_connection) return void(WriteAll(fd, Answer(r)));
        if (!WriteAll(fd, Answer(r) + Ready())) return;
        break;
      }
      case 'X':
        return;
      case 'S':
        extended_error = false;
        if (!WriteAll(fd, Ready())) return;
        break;
      case 'P':
      case 'B':
      case 'D':
      case 'E':
      case 'C':
      case 'H':
      case 'F':
        if (!extended_error && !WriteAll(fd, Error("ERROR", "0A000", "only the simple query protocol is served"))) {
          return;
        }
        extended_error = true;
        break;
      default:
        WriteAll(fd, Error("FATAL", "08P01", std::string("invalid frontend message type ") + type));
        return;
    }
  }
}

}  // namespace stb
