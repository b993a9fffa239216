// The drill's scratch targets as objects that remove themselves: a directory under TMPDIR, a
// PostgreSQL/CockroachDB database and a redis-server on a free loopback port.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "config/settings.h"
#include "core/status.h"

namespace stb {

// A free port on 127.0.0.1 below the kernel's ephemeral range (see scratch.cc for why).
StatusOr<int> FreeLoopbackPort();
// A redis.conf argument in double quotes, escaped so that any password or path is read back as is.
std::string RedisConfQuote(const std::string& s);

// Stops (immediate shutdown, SIGQUIT; SIGKILL after 30 s) the scratch server a failed recovery left
// running: the pid the restore started (never one read from a file the server's account writes),
// and only while that pid runs as data_dir's owner. false when none was running.
StatusOr<bool> StopScratchPostgres(const std::string& data_dir, pid_t pid);

// Each Remove/Drop/Stop runs once: the drill calls it to report the outcome; the destructor
// calls it if the drill did not get that far.
class ScratchDirectory {
 public:
  // A new directory stb-drill-XXXXXX under TMPDIR (else /tmp).
  static StatusOr<std::unique_ptr<ScratchDirectory>> Create();
  ~ScratchDirectory();
  const std::string& path() const { return path_; }
  // The error's message is the file system's ("Permission denied").
  Status Remove();

 private:
  explicit ScratchDirectory(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool removed_ = false;
};

// A database the restore creates (--target-db); only its name exists until then.
class ScratchDatabase {
 public:
  // kind: "postgresql" or "cockroachdb", as the backup's entry says.
  ScratchDatabase(const Settings& s, std::string kind, std::string name);
  ~ScratchDatabase();
  const std::string& name() const { return name_; }
  Status Drop();

 private:
  Settings settings_;
  std::string kind_, name_;
  bool dropped_ = false;
};

// A redis-server the restore starts (its restart command) to load the restored RDB, with the
// configured credentials, in <dir>/redis; never the configured server.
class ScratchRedis {
 public:
  // Picks the port and writes the configuration (0600: it may hold the password).
  static StatusOr<std::unique_ptr<ScratchRedis>> Prepare(const Settings& s, const std::string& dir);
  ~ScratchRedis();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The settings for the restore: this server, no TLS, and the command that starts it.
  Settings Apply(Settings s) const;
  Status Stop();

 private:
  ScratchRedis(std::string dir, int port) : dir_(std::move(dir)), port_(port) {}
  std::string dir_;
  int port_;
  bool stopped_ = false;
};

}  // namespace stb
