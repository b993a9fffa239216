// BackupRedis against a scripted master on 127.0.0.1: what the snapshot's redis entry records of
// the server's answer to PSYNC.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "components/redis/rdb.h"
#include "components/redis/redis_component.h"
#include "repository/repository.h"
#include "storage/storage.h"

namespace stb {
namespace {

// "REDIS0011", one aux field, db 0 with key "a" = "b", EOF and the CRC64.
std::string ValidRdb() {
  const uint8_t bytes[] = {'R',  'E', 'D',  'I', 'S', '0', '0', '1', '1',            // magic and version
                           0xfa, 9,   'r',  'e', 'd', 'i', 's', '-', 'v', 'e', 'r',  // aux redis-ver
                           6,    '7', '.',  '0', '.', '9', '9',                      //   "7.0.99"
                           0xfe, 0,   0xfb, 1,   0,                                  // db 0, sizes 1 and 0
                           0,    1,   'a',  1,   'b',                                // string "a" = "b"
                           0xff};                                                    // EOF
  std::string rdb(reinterpret_cast<const char*>(bytes), sizeof bytes);
  uint64_t crc = Crc64(0, bytes, sizeof bytes);
  for (int i = 0; i < 8; ++i) rdb.push_back(static_cast<char>(crc >> (8 * i)));
  return rdb;
}

// Serves INFO, REPLCONF and the replication handshake; `psync_answer` is its line to PSYNC (an
// error makes the client fall back to SYNC).
class ScriptedMaster {
 public:
  explicit ScriptedMaster(std::string psync_answer) : answer_(std::move(psync_answer)) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    EXPECT_EQ(::listen(listen_, 4), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedMaster() {
    ::shutdown(listen_, SHUT_RDWR);
    thread_.join();
    ::close(listen_);
  }
  int port() const { return port_; }

 private:
  void Serve() {
    for (;;) {
      int fd = ::accept(listen_, nullptr, nullptr);
      if (fd < 0) return;
      auto c = RedisConnection::Adopt(Fd(fd), RedisEndpoint{});
      for (;;) {
        auto cmd = c->Read();
        if (!cmd.ok() || cmd->elems.empty()) break;
        std::string name = cmd->elems[0].str, reply = "+OK\r\n";
        if (name == "INFO") {
          std::string text = cmd->elems.size() > 1 && cmd->elems[1].str == "keyspace"
                                 ? "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"
                                 : "# Server\r\nredis_version:7.0.99\r\n";
          reply = "$" + std::to_string(text.size()) + "\r\n" + text + "\r\n";
        } else if (name == "PSYNC") {
          reply = answer_ + "\r\n";
          if (answer_[0] == '+') reply += Payload();
        } else if (name == "SYNC") {
          reply = Payload();
        }
        if (!c->SendRaw(reinterpret_cast<const uint8_t*>(reply.data()), reply.size()).ok()) break;
      }
    }
  }
  static std::string Payload() {
    std::string rdb = ValidRdb();
    return "\n$" + std::to_string(rdb.size()) + "\r\n" + rdb;
  }

  std::string answer_;
  int listen_ = -1;
  int port_ = 0;
  std::thread thread_;
};

RedisBackupResult Backup(const std::string& psync_answer) {
  ScriptedMaster master(psync_answer);
  std::shared_ptr<Storage> storage = NewMemStorage();
  KeySource k;
  k.secret = Bytes(32, 7);
  EXPECT_TRUE(Repository::Init(*storage, k).ok());
  auto repo = std::move(Repository::Open(storage, k).value());
  BlobSaver saver(*repo, 1);
  RedisOptions opt;
  opt.endpoint.host = "127.0.0.1";
  opt.endpoint.port = master.port();
  opt.endpoint.timeout_ms = 5000;
  Progress progress;
  RedisBackupResult res = BackupRedis(*repo, saver, opt, progress);
  EXPECT_TRUE(saver.Finish().ok());
  return res;
}

const std::string kId = "591d2b67626d3d07f0a9c6534de839de439d0aac";

TEST(RedisBackup, RecordsFullResyncIdAndOffset) {
  RedisBackupResult res = Backup("+FULLRESYNC " + kId + " 123456789012");
  ASSERT_TRUE(res.success) << res.report.dump();
  EXPECT_EQ(res.entry["repl_id"], kId);
  EXPECT_EQ(res.entry["repl_offset"], 123456789012u);
  EXPECT_EQ(res.entry["redis_version"], "7.0.99");
  EXPECT_EQ(res.report["repl_id"], kId);
  EXPECT_EQ(res.report["repl_offset"], 123456789012u);
  EXPECT_EQ(res.entry["size_bytes"], ValidRdb().size());
}

TEST(RedisBackup, SyncFallbackRecordsNoReplicationId) {
  RedisBackupResult res = Backup("-ERR unknown command 'PSYNC'");
  ASSERT_TRUE(res.success) << res.report.dump();
  EXPECT_FALSE(res.entry.contains("repl_id"));
  EXPECT_FALSE(res.entry.contains("repl_offset"));
  EXPECT_FALSE(res.report.contains("repl_id"));
  EXPECT_EQ(res.entry["size_bytes"], ValidRdb().size());
}

TEST(RedisBackup, UnreadableFullResyncLineWarnsAndRecordsNothing) {
  RedisBackupResult res = Backup("+FULLRESYNC " + kId.substr(1) + " 1");
  ASSERT_TRUE(res.success) << res.report.dump();
  EXPECT_FALSE(res.entry.contains("repl_id"));
  EXPECT_FALSE(res.entry.contains("repl_offset"));
  ASSERT_TRUE(res.report.contains("warnings")) << res.report.dump();
  EXPECT_NE(res.report["warnings"][0].get<std::string>().find("repl_id and repl_offset not recorded"),
            std::string::npos);
}

}  // namespace
}  // namespace stb
