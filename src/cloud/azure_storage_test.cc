// Azure driver unit tests: Shared Key signing against published examples, connection strings, and
// the requests and error classes seen on the wire of a scripted local server.
#include "cloud/azure_storage.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <thread>

#include "core/encoding.h"
#include "crypto/digest.h"
#include "http_test_server.h"
#include "ranged_get_checks.h"

namespace stb {
namespace {

// A throwaway key for the scripted server; the tests check that it never appears in a message.
const std::string kKey = Base64Encode("not-a-real-azure-key-0123456789");

AzureOptions Options(const TestServer& server, const std::string& endpoint_path = "/acct") {
  AzureOptions o;
  o.container = "cont";
  o.prefix = "pre/";
  o.account = "acct";
  o.account_key = kKey;
  o.blob_endpoint = server.Url(endpoint_path);
  o.http.total_timeout_seconds = 10;
  return o;
}

std::unique_ptr<Storage> Open(const AzureOptions& o) {
  auto s = OpenAzureStorage(o);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

std::string Header(const Request& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

Bytes KeyBytes(const std::string& b64) { return *Base64Decode(b64); }

// Microsoft's documented example ("Authorize with Shared Key", Get Container Metadata).
TEST(AzureSignTest, StringToSignMatchesMicrosoftsExample) {
  HttpHeaders headers = {{"x-ms-version", "2015-02-21"}, {"x-ms-date", "Fri, 26 Jun 2015 23:39:12 GMT"}};
  HttpHeaders query = {{"restype", "container"}, {"comp", "metadata"}, {"timeout", "20"}};
  EXPECT_EQ(AzureStringToSign("GET", headers, "myaccount", "/mycontainer", query),
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Fri, 26 Jun 2015 23:39:12 GMT\nx-ms-version:2015-02-21\n"
            "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
}

// Published signatures from another implementation's test suite (pgbackrest's storageAzureAuth
// tests: key "YXpLZXk=", account "account"), which Azure accepts.
TEST(AzureSignTest, SignaturesMatchPublishedExamples) {
  Bytes key = KeyBytes("YXpLZXk=");
  HttpHeaders h1 = {{"Content-Length", "0"}, {"Date", "Sun, 21 Jun 2020 12:46:19 GMT"}, {"x-ms-version", "2021-06-08"}};
  EXPECT_EQ(AzureSharedKeyAuthorization("account", key, AzureStringToSign("GET", h1, "account", "/path", {})),
            "SharedKey account:2HRoJbu+G0rqwMjG+6gsb8WWkVo9rJNrDywsrnkmQAE=");
  HttpHeaders h2 = {{"content-length", "44"},
                    {"content-md5", "b64f49553d5c441652e95697a2c5949e"},
                    {"date", "Sun, 21 Jun 2020 12:46:19 GMT"},
                    {"X-MS-Version", "2021-06-08"}};
  EXPECT_EQ(
      AzureSharedKeyAuthorization("account", key, AzureStringToSign("GET", h2, "account", "/path/file", {{"a", "b"}})),
      "SharedKey account:nuaRe9f/J91zHEE2x734ARyHJxd6Smju1j8qPrueE6o=");
}

TEST(AzureSignTest, CanonicalHeadersAreSortedAndFolded) {
  HttpHeaders h = {{"x-ms-version", "v"}, {"X-Ms-Blob-Type", "  Block   Blob "}, {"Range", "bytes=0-1"}};
  EXPECT_EQ(AzureStringToSign("PUT", h, "a", "/c/b", {{"Comp", "x y"}}),
            "PUT\n\n\n\n\n\n\n\n\n\n\nbytes=0-1\nx-ms-blob-type:Block Blob\nx-ms-version:v\n/a/c/b\ncomp:x y");
}

// The driver signs what it sends: on a path-style endpoint the canonicalized resource carries the
// account twice (/acct/acct/cont/blob), the name is encoded, Content-Length and If-None-Match signed.
TEST(AzureStorageTest, SignsPathStyleRequestsAsSent) {
  TestServer server([](int, const Request&) { return Reply{201, ""}; });
  auto s = Open(Options(server));
  ASSERT_TRUE(s->Put("a b/c", ToBytes("hello"), PutMode::kCreateOnly).ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const Request& r = reqs[0];
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.path, "/acct/cont/pre/a%20b/c");
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(Header(r, "x-ms-version"), "2021-08-06");
  std::string expected = "PUT\n\n\n5\n\n\n\n\n\n*\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:" + Header(r, "x-ms-date") +
                         "\nx-ms-version:2021-08-06\n/acct/acct/cont/pre/a%20b/c";
  EXPECT_EQ(Header(r, "authorization"), AzureSharedKeyAuthorization("acct", KeyBytes(kKey), expected));
}

TEST(AzureStorageTest, SignsHostStyleEndpointWithoutAccountInPath) {
  TestServer server([](int, const Request&) { return Reply{200, "abc"}; });
  auto s = Open(Options(server, ""));
  ASSERT_TRUE(s->Get("x").ok());
  const Request r = server.requests().at(0);
  EXPECT_EQ(r.path, "/cont/pre/x");
  std::string expected =
      "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:" + Header(r, "x-ms-date") + "\nx-ms-version:2021-08-06\n/acct/cont/pre/x";
  EXPECT_EQ(Header(r, "authorization"), AzureSharedKeyAuthorization("acct", KeyBytes(kKey), expected));
}

TEST(AzureConnectionStringTest, ReadsEveryKey) {
  auto o = ParseAzureConnectionString("DefaultEndpointsProtocol=http;AccountName=me;AccountKey=" + kKey +
                                          ";BlobEndpoint=http://127.0.0.1:9/me;QueueEndpoint=http://127.0.0.1:10/me;",
                                      AzureOptions{.container = "c"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->account, "me");
  EXPECT_EQ(o->account_key, kKey);
  EXPECT_EQ(o->blob_endpoint, "http://127.0.0.1:9/me");
  EXPECT_EQ(o->container, "c");  // what the string does not mention is kept
  EXPECT_EQ(o->credential_setting, "AZURE_STORAGE_CONNECTION_STRING");

  o = ParseAzureConnectionString(
      "AccountName=me;SharedAccessSignature=?sv=2021&sig=abc%2B;EndpointSuffix=core.chinacloudapi.cn",
      AzureOptions{.account_key = "old"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->sas_token, "sv=2021&sig=abc%2B");
  EXPECT_EQ(o->account_key, "");  // the string's credential replaces the environment's
  EXPECT_EQ(o->blob_endpoint, "https://me.blob.core.chinacloudapi.cn");

  o = ParseAzureConnectionString("accountname=me;defaultendpointsprotocol=https", {});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->blob_endpoint, "https://me.blob.core.windows.net");
  EXPECT_EQ(o->credential_setting, "");  // no credential came from the string

  o = ParseAzureConnectionString("UseDevelopmentStorage=true", {});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->account, "devstoreaccount1");
  EXPECT_EQ(o->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
  EXPECT_TRUE(Base64Decode(o->account_key).ok());
}

TEST(AzureConnectionStringTest, ErrorsNameTheVariableAndNeverTheKey) {
  const std::string secretish = "c2VjcmV0LWtleS12YWx1ZQ";  // not base64 (length), looks like a key
  for (const std::string& cs :
       std::vector<std::string>{"AccountName=me;AccountKey=" + secretish, "AccountName=me;" + secretish,
                                "AccountName=me;Acountkey=" + secretish, "UseDevelopmentStorage=false",
                                "EndpointSuffix=core.windows.net", "DefaultEndpointsProtocol=ftp;AccountName=me"}) {
    auto o = ParseAzureConnectionString(cs, {});
    ASSERT_FALSE(o.ok()) << cs;
    EXPECT_EQ(o.status().code(), Code::kInvalidArgument);
    EXPECT_NE(o.status().message().find("AZURE_STORAGE_CONNECTION_STRING"), std::string::npos) << o.status().message();
    EXPECT_EQ(o.status().message().find(secretish), std::string::npos) << o.status().message();
  }
  auto o = ParseAzureConnectionString("AccountKey=" + secretish, {});
  EXPECT_NE(o.status().message().find("AccountKey is not base64"), std::string::npos);
}

TEST(AzureStorageTest, OpenChecksOptions) {
  AzureOptions o{.container = "c", .account = "a", .account_key = kKey};
  EXPECT_TRUE(OpenAzureStorage(o).ok());
  auto bad = o;
  bad.container = "";
  EXPECT_NE(OpenAzureStorage(bad).status().message().find("BACKUP_AZURE_CONTAINER"), std::string::npos);
  bad = o;
  bad.account_key = "%%%%";
  auto st = OpenAzureStorage(bad).status();
  EXPECT_NE(st.message().find("AZURE_STORAGE_KEY"), std::string::npos);
  EXPECT_EQ(st.message().find("%%%%"), std::string::npos);
  bad = o;
  bad.account_key = "";
  EXPECT_NE(OpenAzureStorage(bad).status().message().find("AZURE_STORAGE_SAS_TOKEN"), std::string::npos);
  bad = o;
  bad.account = "";
  EXPECT_NE(OpenAzureStorage(bad).status().message().find("BACKUP_AZURE_ACCOUNT"), std::string::npos);
  bad = o;
  bad.blob_endpoint = "ftp://x";
  EXPECT_FALSE(OpenAzureStorage(bad).ok());
  EXPECT_EQ(OpenAzureStorage(o).value()->Describe(), "azure c/");
}

TEST(AzureStorageTest, SasModeAppendsTheTokenAndSendsNoAuthorization) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{200, "data"};
    if (i == 1) return Reply{200, "<EnumerationResults><Blobs></Blobs><NextMarker/></EnumerationResults>"};
    return Reply{403, "<Error><Code>AuthenticationFailed</Code></Error>"};
  });
  AzureOptions o = Options(server);
  o.account_key = "";
  o.sas_token = "?sv=2021-08-06&sig=SECRETSIG%3D";
  auto s = Open(o);
  ASSERT_EQ(AsString(*s->Get("obj")), "data");
  ASSERT_TRUE(s->List("").ok());
  Status st = s->Put("obj", ToBytes("x"));
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].path, "/acct/cont/pre/obj?sv=2021-08-06&sig=SECRETSIG%3D");
  EXPECT_EQ(reqs[1].path, "/acct/cont?restype=container&comp=list&prefix=pre%2F&sv=2021-08-06&sig=SECRETSIG%3D");
  for (const auto& r : reqs) EXPECT_EQ(r.headers.count("authorization"), 0u);
  EXPECT_EQ(st.code(), Code::kPermission);
  EXPECT_NE(st.message().find("AZURE_STORAGE_SAS_TOKEN"), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find("SECRETSIG"), std::string::npos) << st.message();
}

TEST(AzureStorageTest, ForbiddenNamesTheVariableNotTheKey) {
  TestServer server([](int, const Request&) {
    return Reply{403, "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code></Error>"};
  });
  auto parsed =
      ParseAzureConnectionString("AccountName=acct;AccountKey=" + kKey + ";BlobEndpoint=" + server.Url("/acct"),
                                 AzureOptions{.container = "cont"});
  ASSERT_TRUE(parsed.ok());
  auto s = Open(*parsed);
  Status st = s->Put("config", ToBytes("x"));
  EXPECT_EQ(st.code(), Code::kPermission);
  EXPECT_EQ(st.message(),
            "azure cont/: put config: HTTP 403 AuthenticationFailed (check AZURE_STORAGE_CONNECTION_STRING)");
  std::string auth = Header(server.requests().at(0), "authorization");
  EXPECT_EQ(st.message().find(kKey), std::string::npos);
  EXPECT_EQ(st.message().find(auth.substr(auth.find(':') + 1)), std::string::npos);

  // A key from AZURE_STORAGE_KEY is named as such.
  auto s2 = Open(Options(server));
  EXPECT_NE(s2->Stat("x").status().message().find("(check AZURE_STORAGE_KEY)"), std::string::npos);
}

TEST(AzureStorageTest, ServerErrorsAreRetryable) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{500, "<Error><Code>InternalError</Code></Error>"};
    return Reply{503, "<Error><Code>ServerBusy</Code></Error>", "Retry-After: 7\r\n"};
  });
  auto s = Open(Options(server));
  Status a = s->Put("x", ToBytes("1"));
  EXPECT_EQ(a.code(), Code::kUnavailable);
  EXPECT_NE(a.message().find("HTTP 500 InternalError"), std::string::npos);
  auto b = s->Get("x");
  EXPECT_EQ(b.status().code(), Code::kUnavailable);
  EXPECT_EQ(b.status().retry_after(), 7);
  EXPECT_NE(b.status().message().find("ServerBusy"), std::string::npos);
}

TEST(AzureStorageTest, BodyCutShortIsRetryable) {
  TestServer server([](int, const Request&) {
    Reply r{200, std::string(1000, 'x')};
    r.cut_body_at = 100;
    return r;
  });
  auto s = Open(Options(server));
  auto got = s->Get("x");
  EXPECT_EQ(got.status().code(), Code::kUnavailable) << got.status().message();
  EXPECT_NE(got.status().message().find("azure cont/pre/: get x"), std::string::npos) << got.status().message();
}

TEST(AzureStorageTest, MissingObjectAndMissingContainer) {
  TestServer server([](int i, const Request&) {
    if (i == 0) return Reply{404, "<Error><Code>BlobNotFound</Code></Error>", "x-ms-error-code: BlobNotFound\r\n"};
    if (i == 1) return Reply{404, "", "x-ms-error-code: BlobNotFound\r\n"};
    return Reply{404, "", "x-ms-error-code: ContainerNotFound\r\n"};
  });
  auto s = Open(Options(server));
  EXPECT_EQ(s->Get("x").status().code(), Code::kNotFound);
  EXPECT_TRUE(s->Remove("x").ok());
  // A missing container must not read as "no such object yet".
  auto st = s->Stat("x").status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("ContainerNotFound (create the container or check BACKUP_AZURE_CONTAINER)"),
            std::string::npos)
      << st.message();
}

TEST(AzureStorageTest, RangedGetAndTheEndOfTheObject) {
  TestServer server([](int, const Request& r) {
    std::string range = r.headers.count("x-ms-range") ? r.headers.at("x-ms-range") : "";
    if (range == "bytes=2-4") return Reply{206, "234"};
    if (range == "bytes=7-") return Reply{206, "789"};
    // Azure's answer to a range that starts at or after the end of a 10-byte blob.
    return Reply{416, "<Error><Code>InvalidRange</Code></Error>", "Content-Range: bytes */10\r\n"};
  });
  auto s = Open(Options(server));
  EXPECT_EQ(AsString(*s->Get("o", 2, 3)), "234");
  EXPECT_EQ(AsString(*s->Get("o", 7)), "789");
  auto at_end = s->Get("o", 10, 5);
  ASSERT_TRUE(at_end.ok()) << at_end.status().message();
  EXPECT_TRUE(at_end->empty());
  EXPECT_FALSE(s->Get("o", 11, 1).ok());
  auto reqs = server.requests();
  EXPECT_EQ(Header(reqs[0], "x-ms-range"), "bytes=2-4");
  EXPECT_EQ(Header(reqs[2], "x-ms-range"), "bytes=10-14");
}

TEST(AzureStorageTest, LargeObjectGoesUpAsBlocksInOrder) {
  TestServer server([](int, const Request&) { return Reply{201, ""}; });
  AzureOptions o = Options(server);
  o.single_put_limit = 4;
  o.block_size = 4;
  auto s = Open(o);
  ASSERT_TRUE(s->Put("big", ToBytes("0123456789"), PutMode::kCreateOnly).ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 4u);
  std::vector<std::string> ids;
  std::string joined;
  for (int i = 0; i < 3; ++i) {
    const std::string& p = reqs[i].path;
    ASSERT_EQ(p.rfind("/acct/cont/pre/big?comp=block&blockid=", 0), 0u) << p;
    EXPECT_EQ(reqs[i].headers.count("if-none-match"), 0u);  // only the commit is conditional
    std::string id = p.substr(p.find("blockid=") + 8);
    // Decode the percent-encoding of base64's '+', '/', '='.
    std::string dec;
    for (size_t k = 0; k < id.size(); ++k) {
      if (id[k] == '%') {
        dec += static_cast<char>(std::stoi(id.substr(k + 1, 2), nullptr, 16));
        k += 2;
      } else {
        dec += id[k];
      }
    }
    ids.push_back(dec);
    joined += reqs[i].body;
  }
  EXPECT_EQ(joined, "0123456789");
  EXPECT_EQ(ids[0].size(), ids[2].size());
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(reqs[3].path, "/acct/cont/pre/big?comp=blocklist");
  EXPECT_EQ(Header(reqs[3], "if-none-match"), "*");
  EXPECT_EQ(reqs[3].body, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>" + ids[0] +
                              "</Latest><Latest>" + ids[1] + "</Latest><Latest>" + ids[2] + "</Latest></BlockList>");
}

TEST(AzureStorageTest, CreateOnlyConflictIsAlreadyExists) {
  TestServer server([](int, const Request&) { return Reply{409, "<Error><Code>BlobAlreadyExists</Code></Error>"}; });
  auto s = Open(Options(server));
  EXPECT_EQ(s->Put("ids/x", ToBytes("1"), PutMode::kCreateOnly).code(), Code::kAlreadyExists);
  EXPECT_EQ(Header(server.requests().at(0), "if-none-match"), "*");
}

TEST(AzureStorageTest, ListFollowsNextMarker) {
  TestServer server([](int i, const Request&) {
    if (i == 0) {
      return Reply{200,
                   "<?xml version=\"1.0\"?><EnumerationResults><Prefix>pre/data/</Prefix><Blobs>"
                   "<Blob><Name>pre/data/a</Name><Properties><Content-Length>3</Content-Length></Properties></Blob>"
                   "<Blob><Name>pre/data/b&amp;c</Name><Properties><Content-Length>40</Content-Length></Properties>"
                   "</Blob></Blobs><NextMarker>2!abc=/x</NextMarker></EnumerationResults>"};
    }
    return Reply{200,
                 "<?xml version=\"1.0\"?><EnumerationResults><Marker>2!abc=/x</Marker><Blobs>"
                 "<Blob><Name>pre/data/d</Name><Properties><Content-Length>0</Content-Length></Properties></Blob>"
                 "</Blobs><NextMarker/></EnumerationResults>"};
  });
  auto s = Open(Options(server));
  auto l = s->List("data/");
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].name, "data/a");
  EXPECT_EQ((*l)[0].size, 3u);
  EXPECT_EQ((*l)[1].name, "data/b&c");
  EXPECT_EQ((*l)[1].size, 40u);
  EXPECT_EQ((*l)[2].name, "data/d");
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].path, "/acct/cont?restype=container&comp=list&prefix=pre%2Fdata%2F");
  EXPECT_EQ(reqs[1].path, "/acct/cont?restype=container&comp=list&prefix=pre%2Fdata%2F&marker=2%21abc%3D%2Fx");
}

TEST(AzureStorageTest, RejectsBadNames) {
  TestServer server([](int, const Request&) { return Reply{201, ""}; });
  auto s = Open(Options(server));
  EXPECT_EQ(s->Put("../x", ToBytes("1")).code(), Code::kInvalidArgument);
  EXPECT_EQ(s->Get("/x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(server.count(), 0u);
}

// A keep-alive server that, like Azurite after 5 idle seconds, drops a reused connection: it
// answers the first request, reads the second on the same connection and closes without a word,
// then serves a fresh connection. The client must resend (the body too) on a new connection.
TEST(AzureStorageTest, ReusedConnectionClosedByTheServerIsRetriedTransparently) {
  Fd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(listener.get(), 4), 0);
  timeval tv{5, 0};  // bounds accept and recv, so that a client that never comes back fails the test
  setsockopt(listener.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::vector<std::string> bodies;
  // Reads one request (headers and Content-Length body) from fd; "" if the peer closed.
  auto read_request = [](int fd) {
    std::string data;
    char buf[4096];
    while (true) {
      size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t cl = data.find("Content-Length: ");
        size_t want = cl == std::string::npos || cl > end ? 0 : std::stoul(data.substr(cl + 16));
        if (data.size() >= end + 4 + want) return data.substr(end + 4, want);
      }
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return std::string("\x01closed");
      data.append(buf, static_cast<size_t>(n));
    }
  };
  const std::string ok = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n";
  std::thread server([&] {
    Fd first(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    setsockopt(first.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    bodies.push_back(read_request(first.get()));
    send(first.get(), ok.data(), ok.size(), MSG_NOSIGNAL);
    bodies.push_back(read_request(first.get()));  // then dropped unanswered
    first = Fd();
    Fd second(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!second.valid()) return;
    setsockopt(second.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    bodies.push_back(read_request(second.get()));
    send(second.get(), ok.data(), ok.size(), MSG_NOSIGNAL);
  });
  AzureOptions o;
  o.container = "cont";
  o.account = "acct";
  o.account_key = kKey;
  o.blob_endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/acct";
  o.http.total_timeout_seconds = 10;
  auto s = Open(o);
  EXPECT_TRUE(s->Put("a", ToBytes("first")).ok());
  Status st = s->Put("b", ToBytes("second"));
  server.join();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(bodies, (std::vector<std::string>{"first", "second", "second"}));
}

TEST(AzureStorageTest, RangedGetRefusesOversizedAnswers) {
  TestServer server(OversizedRangeReply);
  auto s = Open(Options(server));
  ExpectRangedGetRefusesOversizedAnswers(*s);
}

}  // namespace
}  // namespace stb
