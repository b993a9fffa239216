#include "alerts/webhook.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "core/file_util.h"
#include "core/log.h"
#include "http_test_server.h"

namespace stb {
namespace {

using nlohmann::json;

// The token part of a Slack-like URL: no error or log line may contain it.
constexpr const char* kSecretPath = "/services/T000/B000/XXXXSECRETTOKEN0123456789";
constexpr const char* kToken = "XXXXSECRETTOKEN0123456789";

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

TestServer::Script Always(int status, std::string body = "") {
  return [status, body](int) { return Reply{status, body}; };
}

TestServer::Script Sequence(std::vector<int> statuses) {
  return [statuses](int i) { return Reply{statuses[std::min<size_t>(static_cast<size_t>(i), statuses.size() - 1)]}; };
}

Alert FailedBackup() {
  Alert a;
  a.event = "backup_failed";
  a.severity = "critical";
  a.backup_id = "20240103_142530";
  a.components = {"database", "files"};
  a.error = "database: connection refused (check DB_HOST)";
  a.details = {{"duration_seconds", 12.5}, {"location", "local"}};
  return a;
}

WebhookOptions Fast(const std::string& url) {
  WebhookOptions o;
  o.url = url;
  o.timeout_seconds = 5;
  o.attempts = 3;
  o.backoff_seconds = 0.05;
  return o;
}

void ExpectNoSecret(const std::string& text) {
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
  EXPECT_EQ(text.find("/services"), std::string::npos) << text;
  EXPECT_EQ(text.find("T000"), std::string::npos) << text;
}

class WebhookTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A proxy from the environment would take the requests away from the local server.
    for (const char* v : {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
      unsetenv(v);
    }
    // The TLS server writes with OpenSSL, which may hit a socket libcurl already closed.
    signal(SIGPIPE, SIG_IGN);
  }
};

TEST_F(WebhookTest, PayloadArrivesAsJsonPost) {
  TestServer server(Always(200, "ok"));
  ASSERT_TRUE(SendAlert(Fast(server.Url(kSecretPath)), FailedBackup()).ok());

  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  Request r = reqs[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, kSecretPath);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(r.headers.count("expect"), 0u);
  EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
  json p = json::parse(r.body);
  EXPECT_EQ(p["text"], ":red_circle: spacetime-backup: backup 20240103_142530 failed on " + Hostname() +
                           ": database: connection refused (check DB_HOST)");
  EXPECT_EQ(p["event"], "backup_failed");
  EXPECT_EQ(p["severity"], "critical");
  EXPECT_EQ(p["backup_id"], "20240103_142530");
  EXPECT_EQ(p["components"], json::array({"database", "files"}));
  EXPECT_EQ(p["error"], "database: connection refused (check DB_HOST)");
  EXPECT_EQ(p["hostname"], Hostname());
  EXPECT_TRUE(std::regex_match(p["time"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")))
      << p["time"];
  EXPECT_EQ(p["details"]["duration_seconds"], 12.5);
  EXPECT_EQ(p["details"]["location"], "local");
}

TEST_F(WebhookTest, PayloadLeavesOutEmptyFieldsButKeepsText) {
  Alert a;
  a.event = "rpo_exceeded";
  a.severity = "warning";
  a.details = json::object();
  json p = AlertPayload(a, "db1");
  EXPECT_EQ(p["text"], ":warning: spacetime-backup: no successful backup within the recovery point objective on db1");
  for (const char* absent : {"backup_id", "components", "error", "details"}) EXPECT_FALSE(p.contains(absent)) << absent;
  EXPECT_EQ(p["event"], "rpo_exceeded");
  EXPECT_EQ(p["hostname"], "db1");
  EXPECT_TRUE(p.contains("time"));

  json empty = AlertPayload(Alert{}, "");
  EXPECT_EQ(empty["text"], ":bell: spacetime-backup: alert on unknown host");
  EXPECT_FALSE(empty.contains("hostname"));
  EXPECT_FALSE(empty.contains("event"));
}

TEST_F(WebhookTest, PayloadTextForEachEvent) {
  Alert ok;
  ok.event = "backup_succeeded";
  ok.severity = "info";
  ok.backup_id = "20240103_142530";
  EXPECT_EQ(AlertPayload(ok, "h")["text"],
            ":white_check_mark: spacetime-backup: backup 20240103_142530 succeeded on h");
  Alert drill = ok;
  drill.event = "drill_failed";
  drill.severity = "critical";
  drill.error = "row counts differ";
  EXPECT_EQ(AlertPayload(drill, "h")["text"],
            ":red_circle: spacetime-backup: restore drill of backup 20240103_142530 failed on h: row counts differ");
  Alert behind;
  behind.event = "location_behind";
  behind.severity = "warning";
  behind.text = "location s3 is 3 backups behind";  // the caller's own line wins
  EXPECT_EQ(AlertPayload(behind, "h")["text"], ":warning: spacetime-backup: location s3 is 3 backups behind");
}

TEST_F(WebhookTest, PayloadTextIsOneLineWithoutSlackMarkup) {
  Alert a = FailedBackup();
  a.error = "pg_dump: error: <!channel> & co\nsecond line\n";
  json p = AlertPayload(a, "h");
  std::string text = p["text"];
  EXPECT_NE(text.find("pg_dump: error: &lt;!channel&gt; &amp; co second line"), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(p["error"], a.error);  // the structured field is left as it was

  a.error = std::string(5000, 'e');
  EXPECT_LT(AlertPayload(a, "h")["text"].get<std::string>().size(), 1000u);
}

TEST_F(WebhookTest, ErrorThatIsNotUtf8IsStillSent) {
  TestServer server(Always(200));
  Alert a = FailedBackup();
  a.error = "cannot open /data/\xff\xfe.bin";
  ASSERT_TRUE(SendAlert(Fast(server.Url(kSecretPath)), a).ok());
  ASSERT_EQ(server.count(), 1u);
  json p = json::parse(server.requests()[0].body);  // throws if the body is not valid JSON
  EXPECT_EQ(p["error"].get<std::string>().rfind("cannot open /data/", 0), 0u);
}

TEST_F(WebhookTest, ServerErrorsAreRetriedWithDoublingBackoff) {
  TestServer server(Sequence({500, 500, 200}));
  WebhookOptions o = Fast(server.Url(kSecretPath));
  auto start = std::chrono::steady_clock::now();
  Status st = SendAlert(o, FailedBackup());
  double elapsed = Seconds(start);
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(server.count(), 3u);
  EXPECT_GE(elapsed, 0.05 + 0.1);  // slept 0.05 s, then 0.1 s
  for (const auto& r : server.requests()) EXPECT_EQ(r.body, server.requests()[0].body);
}

TEST_F(WebhookTest, TooManyRequestsIsRetriedAfterRetryAfter) {
  TestServer server([](int i) { return i == 0 ? Reply{429, "rate_limited", "Retry-After: 1\r\n"} : Reply{200}; });
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(SendAlert(Fast(server.Url(kSecretPath)), FailedBackup()).ok());
  EXPECT_GE(Seconds(start), 1.0);  // the server's 1 s, not the 0.05 s backoff
  EXPECT_EQ(server.count(), 2u);
}

TEST_F(WebhookTest, PersistentServerErrorFailsAfterAllAttempts) {
  TestServer server(Always(503, "upstream down"));
  WebhookOptions o = Fast(server.Url(kSecretPath));
  o.attempts = 4;
  Status st = SendAlert(o, FailedBackup());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(server.count(), 4u);
  EXPECT_NE(st.message().find("BACKUP_ALERT_WEBHOOK"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("http://127.0.0.1:" + std::to_string(server.port()) + "/…"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("HTTP 503"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("upstream down"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("after 4 attempts"), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

TEST_F(WebhookTest, ClientErrorIsNotRetried) {
  TestServer server(Always(400, "invalid_payload"));
  Status st = SendAlert(Fast(server.Url(kSecretPath)), FailedBackup());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(server.count(), 1u);
  EXPECT_NE(st.message().find("HTTP 400: invalid_payload"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("BACKUP_ALERT_WEBHOOK"), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

TEST_F(WebhookTest, AnswerThatEchoesTheUrlIsScrubbed) {
  // Express answers "Cannot POST /path"; others quote the token alone, or JSON-escaped.
  TestServer server([](int i) {
    if (i == 0) return Reply{404, std::string("Cannot POST ") + kSecretPath};
    if (i == 1) return Reply{403, std::string("{\"error\":\"bad token ") + kToken + "\"}"};
    return Reply{410, R"({"path":"\/services\/T000\/B000\/XXXXSECRETTOKEN0123456789"})"};
  });
  for (int i = 0; i < 3; ++i) {
    Status st = SendAlert(Fast(server.Url(kSecretPath)), FailedBackup());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("the URL may be wrong, revoked or expired"), std::string::npos) << st.message();
    ExpectNoSecret(st.message());
  }
  EXPECT_EQ(server.count(), 3u);
}

TEST_F(WebhookTest, RedirectIsNotFollowed) {
  TestServer elsewhere(Always(200));
  std::string target = elsewhere.Url(kSecretPath);
  TestServer server([target](int) { return Reply{302, "", "Location: " + target + "\r\n"}; });
  Status st = SendAlert(Fast(server.Url(kSecretPath)), FailedBackup());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(server.count(), 1u);
  EXPECT_EQ(elsewhere.count(), 0u);
  EXPECT_NE(st.message().find("HTTP 302"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(std::to_string(elsewhere.port())), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

TEST_F(WebhookTest, ServerThatNeverAnswersTimesOut) {
  TestServer server([](int) { return Reply{.hang = true}; });
  WebhookOptions o;
  o.url = server.Url(kSecretPath);
  o.timeout_seconds = 0.5;
  o.attempts = 2;
  o.backoff_seconds = 0.05;
  auto start = std::chrono::steady_clock::now();
  Status st = SendAlert(o, FailedBackup());
  double elapsed = Seconds(start);
  ASSERT_FALSE(st.ok());
  // Two attempts of 0.5 s each and the pause between them; the upper bound is what the timeout
  // promises (generous for a loaded machine), not a speed target.
  EXPECT_GE(elapsed, 2 * 0.5);
  EXPECT_LT(elapsed, 3.0);
  EXPECT_EQ(server.count(), 2u);
  EXPECT_NE(st.message().find("no answer within 0.5 s"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("after 2 attempts"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("BACKUP_ALERT_WEBHOOK"), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

TEST_F(WebhookTest, ConnectionRefusedIsRetriedThenReported) {
  // A bound socket that does not listen: connecting to its port is refused, and no other test
  // can take the port meanwhile.
  Fd reserved(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(reserved.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(reserved.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + kSecretPath;

  WebhookOptions o = Fast(url);
  o.attempts = 2;
  Status st = SendAlert(o, FailedBackup());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("BACKUP_ALERT_WEBHOOK"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("after 2 attempts"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("refused"), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

TEST_F(WebhookTest, EmptyUrlMeansAlertsAreOff) {
  TestServer server(Always(200));
  WebhookOptions o;  // url ""
  o.attempts = 0;    // not even checked: nothing is sent
  EXPECT_TRUE(SendAlert(o, FailedBackup()).ok());
  NotifyBestEffort(o, FailedBackup());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server.count(), 0u);
}

TEST_F(WebhookTest, BadOptionsAreRejectedBeforeSending) {
  TestServer server(Always(200));
  std::vector<WebhookOptions> bad(5, Fast(server.Url(kSecretPath)));
  bad[0].attempts = 0;
  bad[1].timeout_seconds = 0;
  bad[2].timeout_seconds = std::nan("");
  bad[3].backoff_seconds = -1;
  bad[4].url = std::string("ftp://127.0.0.1:") + std::to_string(server.port()) + kSecretPath;
  for (const auto& o : bad) {
    Status st = SendAlert(o, FailedBackup());
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_NE(st.message().find("BACKUP_ALERT_WEBHOOK"), std::string::npos) << st.message();
    ExpectNoSecret(st.message());
  }
  Status st = SendAlert(Fast(kToken), FailedBackup());  // a token pasted without its URL
  ASSERT_FALSE(st.ok());
  ExpectNoSecret(st.message());
  EXPECT_EQ(server.count(), 0u);
}

TEST_F(WebhookTest, ConcurrentSendersShareOneInitialisation) {
  TestServer server(Always(200));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] { ok += SendAlert(Fast(server.Url(kSecretPath)), FailedBackup()).ok() ? 1 : 0; });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(server.count(), 4u);
}

// InitLog registers a named logger, so once per process however often the tests run
// (--gtest_repeat); each test reads what it appended.
const std::string& TestLogPath() {
  static const std::string path = InitLog(::testing::TempDir() + "/alerts_log_" + RandomHex(6), "test.log");
  return path;
}

std::string ReadFrom(const std::string& path, std::streamoff offset) {
  std::ifstream in(path);
  in.seekg(offset);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Best effort: a failure is logged (redacted) and the caller carries on.
TEST_F(WebhookTest, NotifyBestEffortLogsFailureWithoutSecret) {
  const std::string& path = TestLogPath();
  ASSERT_NE(path, "");
  auto before = static_cast<std::streamoff>(std::filesystem::file_size(path));
  TestServer server(Always(500, std::string("oops ") + kSecretPath));
  WebhookOptions o = Fast(server.Url(kSecretPath));
  o.attempts = 2;
  NotifyBestEffort(o, FailedBackup());
  EXPECT_EQ(server.count(), 2u);
  std::string log = ReadFrom(path, before);
  EXPECT_NE(log.find("attempt 1 of 2 failed"), std::string::npos) << log;
  EXPECT_NE(log.find("warning"), std::string::npos) << log;
  EXPECT_NE(log.find("alert backup_failed not sent to BACKUP_ALERT_WEBHOOK"), std::string::npos) << log;
  ExpectNoSecret(log);
}

// HTTPS against a self-signed certificate made here: valid for 127.0.0.1 only.
class TlsTest : public WebhookTest {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/alerts_tls_" + RandomHex(6);
    ASSERT_TRUE(std::filesystem::create_directories(dir_));
    ca_file_ = dir_ + "/cert.pem";
    key_ = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    ASSERT_NE(key_, nullptr);
    cert_ = X509_new();
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 86400);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("stb test"), -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert_, cert_, nullptr, nullptr, 0);
    for (auto [nid, value] :
         {std::pair{NID_basic_constraints, "critical,CA:TRUE"}, std::pair{NID_subject_alt_name, "IP:127.0.0.1"}}) {
      X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
      ASSERT_NE(ext, nullptr);
      X509_add_ext(cert_, ext, -1);
      X509_EXTENSION_free(ext);
    }
    ASSERT_GT(X509_sign(cert_, key_, EVP_sha256()), 0);
    FILE* f = fopen(ca_file_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_X509(f, cert_);
    fclose(f);
    ctx_ = SSL_CTX_new(TLS_server_method());
    ASSERT_EQ(SSL_CTX_use_certificate(ctx_, cert_), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx_, key_), 1);
  }
  void TearDown() override {
    SSL_CTX_free(ctx_);
    X509_free(cert_);
    EVP_PKEY_free(key_);
    std::filesystem::remove_all(dir_);
  }

  std::string dir_, ca_file_;
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  SSL_CTX* ctx_ = nullptr;
};

TEST_F(TlsTest, TrustedByTheCaFile) {
  TestServer server(Always(200), ctx_);
  WebhookOptions o = Fast(server.Url(kSecretPath));
  o.ca_file = ca_file_;
  Status st = SendAlert(o, FailedBackup());
  EXPECT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(server.count(), 1u);
  EXPECT_EQ(json::parse(server.requests()[0].body)["event"], "backup_failed");
}

TEST_F(TlsTest, UnknownCertificateIsRefusedWithoutRetry) {
  TestServer server(Always(200), ctx_);
  WebhookOptions o = Fast(server.Url(kSecretPath));  // the system store, which does not hold the test's certificate
  o.backoff_seconds = 2;                             // a retry would show in the elapsed time
  auto start = std::chrono::steady_clock::now();
  Status st = SendAlert(o, FailedBackup());
  ASSERT_FALSE(st.ok());
  EXPECT_LT(Seconds(start), 1.5);
  EXPECT_EQ(server.count(), 0u);
  EXPECT_NE(st.message().find("certificate"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("attempts"), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

TEST_F(TlsTest, CertificateForAnotherHostIsRefused) {
  TestServer server(Always(200), ctx_);
  WebhookOptions o = Fast(server.Url(kSecretPath, "localhost"));  // the certificate names 127.0.0.1 only
  o.ca_file = ca_file_;
  Status st = SendAlert(o, FailedBackup());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(server.count(), 0u);
  EXPECT_NE(st.message().find("localhost"), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

TEST_F(TlsTest, MissingCaFileIsReported) {
  TestServer server(Always(200), ctx_);
  WebhookOptions o = Fast(server.Url(kSecretPath));
  o.ca_file = dir_ + "/missing.pem";
  Status st = SendAlert(o, FailedBackup());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(server.count(), 0u);
  EXPECT_NE(st.message().find("missing.pem"), std::string::npos) << st.message();
  ExpectNoSecret(st.message());
}

}  // namespace
}  // namespace stb
