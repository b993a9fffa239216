// A scripted PostgreSQL wire-protocol (v3) server on 127.0.0.1 for client tests: a handler maps
// each simple-Query statement to rows or an error; it logs every statement it received.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace stb {

// What one statement answers: rows under columns, or an error (sqlstate non-empty).
struct PgWireResult {
  std::vector<std::string> columns;
  std::vector<uint32_t> types;  // type oids per column; missing = text (25)
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::string tag;  // CommandComplete; "" = "SELECT <rows>"
  std::string sqlstate, message;
  bool drop_connection = false;  // close the socket after the row description (a server dying mid-result)
};

struct PgWireSession {
  std::string user, database;
};

struct PgWireOptions {
  int port = 0;          // 0 = a free one
  std::string password;  // "" = trust; else password authentication, as scram says
  bool scram = true;     // SCRAM-SHA-256 (CockroachDB's default since v22.2); false = cleartext
  std::map<std::string, std::string> parameters;  // ParameterStatus sent after authentication
};

class PgWireServer {
 public:
  using Handler = std::function<PgWireResult(const PgWireSession&, const std::string& sql)>;
  PgWireServer(PgWireOptions options, Handler handler);
  ~PgWireServer();
  PgWireServer(const PgWireServer&) = delete;
  PgWireServer& operator=(const PgWireServer&) = delete;

  // Binds and starts accepting; the error names what failed.
  bool Start(std::string* error);
  void Stop();
  int port() const { return port_; }
  std::vector<std::string> statements() const;
  int scram_logins() const { return scram_logins_; }  // completed SCRAM-SHA-256 exchanges
  // Called with every statement received (the stand-in tool writes them to a file).
  std::function<void(const std::string&)> on_statement;

 private:
  void AcceptLoop();
  void Serve(int fd);

  PgWireOptions options_;
  Handler handler_;
  int listen_fd_ = -1, port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> scram_logins_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<std::string> statements_;
};

}  // namespace stb
