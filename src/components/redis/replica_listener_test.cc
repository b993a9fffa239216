// The live-restore listener hands the data set only to the Redis we commanded: the right address
// and the one-time token; strangers are closed without data, and nobody gets in after the one.
#include "components/redis/replica_listener.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>

namespace stb {
namespace {

using namespace std::chrono;

// A client socket from `source` (a loopback address) to 127.0.0.1:port; -1 when refused.
int ConnectFrom(const char* source, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, source, &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string Command(std::initializer_list<std::string> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

// Sends the requests and reads until the listener closes (or 5 s pass).
std::string Exchange(int fd, const std::string& out) {
  EXPECT_EQ(::send(fd, out.data(), out.size(), MSG_NOSIGNAL), static_cast<ssize_t>(out.size()));
  std::string in;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return in;
}

struct Accepted {
  Status status;
  std::string first_request;  // what the accepted connection sent after AUTH
};

std::future<Accepted> AcceptInBackground(ReplicaListener& l, const std::string& peer, const std::string& token,
                                         milliseconds wait) {
  return std::async(std::launch::async, [&l, peer, token, wait] {
    RedisEndpoint ep;
    ep.timeout_ms = 5000;
    auto conn = l.AcceptReplica(peer, token, steady_clock::now() + wait, ep);
    if (!conn.ok()) return Accepted{conn.status(), ""};
    auto req = (*conn)->Read();
    return Accepted{Status::Ok(), req.ok() && !req->elems.empty() ? req->elems[0].str : "?"};
  });
}

const std::string kToken = "0123456789abcdef0123456789abcdef";

TEST(ReplicaListener, StrangerWithoutTokenGetsNothingThenReplicaIsServed) {
  auto l = ReplicaListener::Open("127.0.0.1", 0);
  ASSERT_TRUE(l.ok()) << l.status().message();
  auto done = AcceptInBackground(**l, "127.0.0.1", kToken, seconds(20));
  // A stranger asks for a full resync straight away, as an unauthenticated replica would.
  int s = ConnectFrom("127.0.0.1", (*l)->port());
  ASSERT_GE(s, 0);
  std::string got = Exchange(s, Command({"PING"}) + Command({"PSYNC", "?", "-1"}));
  EXPECT_EQ(got, "+PONG\r\n-NOAUTH Authentication required.\r\n");
  // A stranger guessing the token.
  s = ConnectFrom("127.0.0.1", (*l)->port());
  ASSERT_GE(s, 0);
  got = Exchange(s, Command({"AUTH", "default", "guess"}) + Command({"PSYNC", "?", "-1"}));
  EXPECT_EQ(got, "-WRONGPASS invalid username-password pair\r\n");
  // The replica: PING, AUTH with the token, then its handshake goes to the caller.
  int r = ConnectFrom("127.0.0.1", (*l)->port());
  ASSERT_GE(r, 0);
  std::string out = Command({"PING"}) + Command({"AUTH", kToken}) + Command({"REPLCONF", "listening-port", "1"});
  ASSERT_EQ(::send(r, out.data(), out.size(), MSG_NOSIGNAL), static_cast<ssize_t>(out.size()));
  Accepted a = done.get();
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  EXPECT_EQ(a.first_request, "REPLCONF");
  EXPECT_EQ((*l)->rejected(), 2);
  EXPECT_NE((*l)->RejectedSummary().find("wrong token"), std::string::npos) << (*l)->RejectedSummary();
  // One transfer only: the listener is gone.
  EXPECT_LT(ConnectFrom("127.0.0.1", (*l)->port()), 0);
  ::close(r);
}

TEST(ReplicaListener, ConnectionFromAnotherAddressIsRefusedEvenWithTheToken) {
  auto l = ReplicaListener::Open("127.0.0.1", 0);
  ASSERT_TRUE(l.ok()) << l.status().message();
  // The Redis being restored is "127.0.0.2"; a process on 127.0.0.1 that learnt the token is refused.
  auto done = AcceptInBackground(**l, "127.0.0.2", kToken, seconds(20));
  int s = ConnectFrom("127.0.0.1", (*l)->port());
  ASSERT_GE(s, 0);
  EXPECT_EQ(Exchange(s, Command({"AUTH", kToken}) + Command({"PSYNC", "?", "-1"})), "");
  int r = ConnectFrom("127.0.0.2", (*l)->port());
  ASSERT_GE(r, 0);
  std::string out = Command({"AUTH", kToken}) + Command({"PSYNC", "?", "-1"});
  ASSERT_EQ(::send(r, out.data(), out.size(), MSG_NOSIGNAL), static_cast<ssize_t>(out.size()));
  Accepted a = done.get();
  ASSERT_TRUE(a.status.ok()) << a.status.message();
  EXPECT_EQ(a.first_request, "PSYNC");
  EXPECT_EQ((*l)->rejected(), 1);
  EXPECT_NE((*l)->RejectedSummary().find("from 127.0.0.1"), std::string::npos) << (*l)->RejectedSummary();
  ::close(r);
}

TEST(ReplicaListener, GivesUpAtTheDeadlineNamingWhatItRefused) {
  auto l = ReplicaListener::Open("127.0.0.1", 0);
  ASSERT_TRUE(l.ok()) << l.status().message();
  auto done = AcceptInBackground(**l, "127.0.0.1", kToken, milliseconds(1500));
  int s = ConnectFrom("127.0.0.1", (*l)->port());
  ASSERT_GE(s, 0);
  Exchange(s, Command({"SYNC"}));
  Accepted a = done.get();
  EXPECT_FALSE(a.status.ok());
  EXPECT_EQ((*l)->rejected(), 1);
  EXPECT_NE((*l)->RejectedSummary().find("no token"), std::string::npos) << (*l)->RejectedSummary();
}

TEST(ReplicaListener, RefusesAHostThatIsNotAnAddress) {
  auto l = ReplicaListener::Open("redis.example", 0);
  ASSERT_FALSE(l.ok());
}

}  // namespace
}  // namespace stb
