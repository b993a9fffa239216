// A scripted HTTP/1.1 (or HTTPS) server on 127.0.0.1 for client tests: it answers each request as
// its script says (status, headers, a body cut short, no answer at all) and records what it got.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/file_util.h"

namespace stb {

struct Request {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // names in lower case
};

struct Reply {
  int status = 200;
  std::string body;
  std::string extra_headers;               // "Name: value\r\n" lines
  bool hang = false;                       // read the request, never answer, wait for the client to give up
  size_t cut_body_at = std::string::npos;  // send Content-Length of the whole body, then only this much, then close
};

// A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 and an ephemeral port, answering as its
// script says (by request number, from 0); with a TLS context, it speaks HTTPS.
class TestServer {
 public:
  using Script = std::function<Reply(int)>;
  // A script that sees the request too (method, path, headers, body).
  using RequestScript = std::function<Reply(int, const Request&)>;

  explicit TestServer(Script script, SSL_CTX* tls = nullptr)
      : TestServer(RequestScript([script](int i, const Request&) { return script(i); }), tls) {}
  explicit TestServer(RequestScript script, SSL_CTX* tls = nullptr) : script_(std::move(script)), tls_(tls) {
    listen_ = Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    EXPECT_TRUE(listen_.valid());
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(listen_.get(), 16), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
  }

  int port() const { return port_; }
  std::string Url(const std::string& path = "/", const std::string& host = "127.0.0.1") const {
    return std::string(tls_ ? "https" : "http") + "://" + host + ":" + std::to_string(port_) + path;
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  size_t count() const { return requests().size(); }

 private:
  void Run() {
    while (!stop_) {
      pollfd p{listen_.get(), POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      Fd conn(accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) continue;
      if (tls_ == nullptr) {
        Serve(conn.get(), nullptr);
        continue;
      }
      // OpenSSL reads the blocking socket itself: bound each read so that the thread always ends.
      timeval tv{2, 0};
      setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(tls_);
      SSL_set_fd(ssl, conn.get());
      if (SSL_accept(ssl) == 1) Serve(conn.get(), ssl);
      SSL_free(ssl);
    }
  }

  // Bytes read, 0 at the end of the stream, < 0 on error or when the server stops.
  ssize_t Read(int fd, SSL* ssl, char* buf, size_t n) {
    if (ssl) return SSL_read(ssl, buf, static_cast<int>(n));
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      int r = poll(&p, 1, 20);
      if (r > 0) return recv(fd, buf, n, 0);
      if (r < 0 && errno != EINTR) return -1;
    }
    return -1;
  }

  void Write(int fd, SSL* ssl, const std::string& data) {
    if (ssl) {
      SSL_write(ssl, data.data(), static_cast<int>(data.size()));
      return;
    }
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  void Serve(int fd, SSL* ssl) {
    std::string data;
    char buf[4096];
    size_t end;
    while ((end = data.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = Read(fd, ssl, buf, sizeof buf);
      if (n <= 0) return;
      data.append(buf, static_cast<size_t>(n));
    }
    Request req;
    std::istringstream head(data.substr(0, end));
    std::string line;
    std::getline(head, line);
    std::istringstream(line) >> req.method >> req.path;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = line.find_first_not_of(' ', colon + 1);
      req.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    size_t length = req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    req.body = data.substr(end + 4);
    while (req.body.size() < length) {
      ssize_t n = Read(fd, ssl, buf, sizeof buf);
      if (n <= 0) return;
      req.body.append(buf, static_cast<size_t>(n));
    }
    int index;
    {
      std::lock_guard<std::mutex> lock(mu_);
      index = static_cast<int>(requests_.size());
      requests_.push_back(req);
    }
    Reply reply = script_(index, req);
    if (reply.hang) {
      while (Read(fd, ssl, buf, sizeof buf) > 0) {
      }
      return;
    }
    std::string body = reply.body.substr(0, std::min(reply.cut_body_at, reply.body.size()));
    bool no_body = req.method == "HEAD";
    Write(fd, ssl,
          "HTTP/1.1 " + std::to_string(reply.status) +
              " Scripted\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(reply.body.size()) +
              "\r\nConnection: close\r\n" + reply.extra_headers + "\r\n" + (no_body ? std::string() : body));
    if (ssl) SSL_shutdown(ssl);
  }

  RequestScript script_;
  SSL_CTX* tls_;
  Fd listen_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<Request> requests_;
  std::thread thread_;
};

}  // namespace stb
