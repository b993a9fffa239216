// The scripted PostgreSQL-wire server against libpq and our PgConnection: SCRAM-SHA-256 and cleartext
// logins, rows, an error with its SQLSTATE, a wrong password, an empty query, the extended protocol
// refused, a dropped connection, bad lengths.
#include "pgwire_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "components/database/pg_client.h"

namespace stb {
namespace {

PgWireResult Handler(const PgWireSession& s, const std::string& sql) {
  PgWireResult r;
  if (sql == "SELECT version()") {
    r.columns = {"version"};
    r.rows = {{"CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu)"}};
  } else if (sql == "SELECT current_database(), NULL") {
    r.columns = {"db", "nothing"};
    r.rows = {{s.database, std::nullopt}};
  } else if (sql == "DROP") {
    r.columns = {"x"};
    r.drop_connection = true;
  } else {
    r.sqlstate = "XXUUU";
    r.message = "failed to run backup: AccessDenied";
  }
  return r;
}

class PgWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgWireOptions opt;
    opt.password = "s3cret pw";
    opt.parameters = {{"server_version", "13.0.0"}, {"crdb_version", "CockroachDB CCL v23.1.11"}};
    server_ = std::make_unique<PgWireServer>(opt, Handler);
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
    ep_ = {"127.0.0.1", server_->port(), "game", "root", "s3cret pw", "prefer"};
  }
  std::unique_ptr<PgWireServer> server_;
  DbEndpoint ep_;
};

TEST_F(PgWireTest, QueryRowsNullsAndParameters) {
  auto c = PgConnection::Connect(ep_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ((*c)->server_version(), 130000);
  EXPECT_STREQ(PQparameterStatus((*c)->raw(), "crdb_version"), "CockroachDB CCL v23.1.11");
  auto v = (*c)->QueryValue("SELECT version()");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu)");
  auto rows = (*c)->Query("SELECT current_database(), NULL;");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "game");
  EXPECT_FALSE((*rows)[0][1].has_value());
  EXPECT_EQ(server_->statements(), (std::vector<std::string>{"SELECT version()", "SELECT current_database(), NULL"}));
}

TEST_F(PgWireTest, ErrorCarriesSqlstateAndTheConnectionStaysUsable) {
  auto c = PgConnection::Connect(ep_);
  ASSERT_TRUE(c.ok());
  PGresult* res = PQexec((*c)->raw(), "BACKUP");
  EXPECT_EQ(PQresultStatus(res), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(res, PG_DIAG_SQLSTATE), "XXUUU");
  EXPECT_STREQ(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), "failed to run backup: AccessDenied");
  PQclear(res);
  auto st = (*c)->Exec("BACKUP");
  EXPECT_NE(st.message().find("failed to run backup: AccessDenied"), std::string::npos) << st.message();
  EXPECT_TRUE((*c)->QueryValue("SELECT version()").ok());
  res = PQexec((*c)->raw(), "  ;");
  EXPECT_EQ(PQresultStatus(res), PGRES_EMPTY_QUERY);
  PQclear(res);
}

TEST_F(PgWireTest, WrongPasswordIsOneLineNamingDbPassword) {
  ep_.password = "wrong";
  auto c = PgConnection::Connect(ep_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("check DB_PASSWORD"), std::string::npos) << c.status().message();
  EXPECT_EQ(c.status().message().find("wrong"), std::string::npos);
  PGconn* raw = PQconnectdb(("host=127.0.0.1 port=" + std::to_string(server_->port()) +
                             " user=root password=wrong dbname=game sslmode=disable")
                                .c_str());
  EXPECT_NE(std::string(PQerrorMessage(raw)).find("password authentication failed for user root"), std::string::npos);
  PQfinish(raw);
}

TEST_F(PgWireTest, ScramIsWhatTheClientAnswered) {
  auto c = PgConnection::Connect(ep_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  // libpq only completes SCRAM when the server's signature proves it knew the password.
  EXPECT_EQ(PQconnectionUsedPassword((*c)->raw()), 1);
  EXPECT_EQ(server_->scram_logins(), 1);
}

TEST(PgWireCleartext, RightAndWrongPassword) {
  PgWireOptions opt;
  opt.password = "plain pw";
  opt.scram = false;
  PgWireServer server(opt, Handler);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  DbEndpoint ep{"127.0.0.1", server.port(), "game", "root", "plain pw", "disable"};
  EXPECT_TRUE(PgConnection::Connect(ep).ok());
  EXPECT_EQ(server.scram_logins(), 0);
  ep.password = "wrong";
  auto c = PgConnection::Connect(ep);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("check DB_PASSWORD"), std::string::npos) << c.status().message();
}

TEST_F(PgWireTest, ExtendedProtocolRefusedWith0A000) {
  auto c = PgConnection::Connect(ep_);
  ASSERT_TRUE(c.ok());
  PGresult* res = PQexecParams((*c)->raw(), "SELECT version()", 0, nullptr, nullptr, nullptr, nullptr, 0);
  EXPECT_STREQ(PQresultErrorField(res, PG_DIAG_SQLSTATE), "0A000");
  PQclear(res);
  EXPECT_TRUE((*c)->QueryValue("SELECT version()").ok());
}

TEST_F(PgWireTest, ConnectionDroppedMidResult) {
  auto c = PgConnection::Connect(ep_);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->Query("DROP");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("connection was lost"), std::string::npos) << r.status().message();
}

TEST(PgWireBadInput, GarbageAndHugeLengthsDoNotCrash) {
  PgWireServer server({}, Handler);
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  // A startup packet claiming 2 GiB, then one that is too short: the server answers or closes.
  for (std::string pkt : {std::string("\x7f\xff\xff\xff\x00\x03\x00\x00", 8), std::string("\x00\x00\x00\x02", 4)}) {
    PGconn* raw =
        PQconnectdb(("host=127.0.0.1 sslmode=disable dbname=x user=x port=" + std::to_string(server.port())).c_str());
    ASSERT_EQ(PQstatus(raw), CONNECTION_OK);
    PQfinish(raw);
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(server.port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::send(fd, pkt.data(), pkt.size(), MSG_NOSIGNAL), ssize_t(pkt.size()));
    ::shutdown(fd, SHUT_WR);
    char buf[256];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
    ::close(fd);
  }
  // Still serving.
  PGconn* raw =
      PQconnectdb(("host=127.0.0.1 sslmode=disable dbname=x user=x port=" + std::to_string(server.port())).c_str());
  EXPECT_EQ(PQstatus(raw), CONNECTION_OK);
  PQfinish(raw);
}

}  // namespace
}  // namespace stb
