#include "http/http_client.h"

#include <gtest/gtest.h>

#include <chrono>

#include "http_test_server.h"

namespace stb {
namespace {

HttpResponse Answer(long status, std::string body = "", HttpHeaders headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body.assign(body.begin(), body.end());
  r.headers = std::move(headers);
  return r;
}

TEST(HttpError, ClassifiesStatuses) {
  EXPECT_EQ(HttpError(Answer(404), "get x", "VAR").code(), Code::kNotFound);
  EXPECT_EQ(HttpError(Answer(500), "get x", "VAR").code(), Code::kUnavailable);
  EXPECT_EQ(HttpError(Answer(503), "get x", "VAR").code(), Code::kUnavailable);
  EXPECT_EQ(HttpError(Answer(429), "get x", "VAR").code(), Code::kUnavailable);
  EXPECT_EQ(HttpError(Answer(408), "get x", "VAR").code(), Code::kUnavailable);
  EXPECT_EQ(HttpError(Answer(412), "put x", "VAR").code(), Code::kAlreadyExists);
  EXPECT_EQ(HttpError(Answer(400), "put x", "VAR").code(), Code::kIo);
  Status denied = HttpError(Answer(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>"), "put x", "AWS_SECRET");
  EXPECT_EQ(denied.code(), Code::kPermission);
  EXPECT_EQ(denied.message(), "put x: HTTP 403 SignatureDoesNotMatch (check AWS_SECRET)");
}

TEST(HttpError, ReadsTheServiceErrorCode) {
  EXPECT_EQ(HttpError(Answer(404, R"({"error":{"code":404,"message":"No such object: b/o"}})"), "get o", "V").message(),
            "get o: HTTP 404 No such object: b/o");
  EXPECT_EQ(HttpError(Answer(404, "", {{"x-ms-error-code", "BlobNotFound"}}), "get o", "V").message(),
            "get o: HTTP 404 BlobNotFound");
}

TEST(HttpError, CarriesRetryAfter) {
  EXPECT_EQ(HttpError(Answer(503, "", {{"retry-after", "7"}}), "get", "V").retry_after(), 7);
  EXPECT_EQ(HttpError(Answer(503), "get", "V").retry_after(), 0);
  // An HTTP date in the past means "now".
  EXPECT_EQ(RetryAfterSeconds(Answer(503, "", {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}})), 0);
  EXPECT_GT(RetryAfterSeconds(Answer(503, "", {{"retry-after", "Wed, 21 Oct 2099 07:28:00 GMT"}})), 1e6);
}

// 400 digits used to throw std::out_of_range from std::stod and abort the process (exit 134).
TEST(HttpError, HugeRetryAfterIsTheCap) {
  EXPECT_EQ(RetryAfterSeconds(Answer(503, "", {{"retry-after", std::string(400, '9')}})), 3600);
  EXPECT_EQ(RetryAfterSeconds(Answer(503, "", {{"retry-after", "18446744073709551616"}})), 3600);
  EXPECT_EQ(RetryAfterSeconds(Answer(503, "", {{"retry-after", "-5"}})), 0);
  EXPECT_EQ(HttpError(Answer(503, "", {{"retry-after", std::string(400, '1')}}), "get", "V").retry_after(), 3600);
}

TEST(Encoding, Xml) {
  std::string xml =
      "<R><Contents><Key>a&amp;b</Key><Size>3</Size></Contents><Contents><Key>c</Key></Contents>"
      "<NextContinuationToken>t&#43;1</NextContinuationToken><Empty/></R>";
  auto blocks = XmlBlocks(xml, "Contents");
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(XmlValue(blocks[0], "Key"), "a&b");
  EXPECT_EQ(XmlValue(blocks[1], "Size"), "");
  EXPECT_EQ(XmlValue(xml, "NextContinuationToken"), "t+1");
  EXPECT_EQ(XmlBlocks(xml, "Empty").size(), 1u);
}

TEST(Encoding, XmlCharacterReferencesAreChecked) {
  EXPECT_EQ(XmlValue("<K>&#x1F600;&#233;</K>", "K"), "\xF0\x9F\x98\x80\xC3\xA9");
  // Out of Unicode's range, empty or overlong: kept as text rather than turned into garbage.
  EXPECT_EQ(XmlValue("<K>&#99999999999999999999;</K>", "K"), "&#99999999999999999999;");
  EXPECT_EQ(XmlValue("<K>a&#;b&#x;</K>", "K"), "a&#;b&#x;");
  EXPECT_EQ(XmlValue("<K>&#xD800;</K>", "K"), "&#xD800;");
}

TEST(HttpClient, SendsBodyAndReadsAnswer) {
  TestServer server([](int, const Request& r) {
    return Reply{201, "got " + r.method + " " + r.path + " " + r.body, "X-Test: yes\r\n"};
  });
  HttpClient client(HttpOptions{});
  std::string body = "payload";
  HttpRequest req;
  req.method = "PUT";
  req.url = server.Url("/bucket/key?x=1");
  req.headers = {{"x-custom", "v"}};
  req.body = reinterpret_cast<const uint8_t*>(body.data());
  req.body_size = body.size();
  auto r = client.Send(req);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(std::string(r->body.begin(), r->body.end()), "got PUT /bucket/key?x=1 payload");
  EXPECT_EQ(r->Header("x-test"), "yes");
  EXPECT_EQ(server.requests()[0].headers.at("x-custom"), "v");
  EXPECT_EQ(server.requests()[0].headers.count("expect"), 0u);
}

TEST(HttpClient, BodyCutShortIsRetryableAndHidesTheQuery) {
  TestServer server([](int) {
    Reply r{200, std::string(100000, 'x')};
    r.cut_body_at = 1000;
    return r;
  });
  HttpClient client(HttpOptions{});
  HttpRequest req;
  req.url = server.Url("/o?sig=SECRETSIGNATURE");
  auto r = client.Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message().find("SECRETSIGNATURE"), std::string::npos) << r.status().message();
}

TEST(HttpClient, HungServerTimesOutAsRetryable) {
  TestServer server([](int) { return Reply{.hang = true}; });
  HttpOptions o;
  o.stall_timeout_seconds = 1;
  HttpClient client(o);
  HttpRequest req;
  req.url = server.Url("/o");
  auto r = client.Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

TEST(HttpClient, RefusedConnectionIsRetryable) {
  int port;
  {
    TestServer gone([](int) { return Reply{}; });
    port = gone.port();
  }
  HttpClient client(HttpOptions{});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/o";
  auto r = client.Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
}

// A timeout under a millisecond used to reach libcurl as 0, which it reads as "none": the request
// then waited for the stall timeout instead.
TEST(HttpClient, SubMillisecondTimeoutIsStillATimeout) {
  TestServer server([](int) { return Reply{.hang = true}; });
  HttpOptions o;
  o.stall_timeout_seconds = 30;
  o.total_timeout_seconds = 0.0001;
  HttpClient client(o);
  HttpRequest req;
  req.url = server.Url("/o");
  HttpFailure failure;
  auto start = std::chrono::steady_clock::now();
  auto r = client.Send(req, &failure);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 10);
  EXPECT_EQ(failure.kind, HttpFailure::kTimeout);
  EXPECT_TRUE(failure.retryable);
}

TEST(HttpClient, FailureSaysWhyWithoutTheUrlsSecrets) {
  int port;
  {
    TestServer gone([](int) { return Reply{}; });
    port = gone.port();
  }
  HttpClient client(HttpOptions{});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/hook/SECRETTOKEN0123456789";
  HttpFailure failure;
  ASSERT_FALSE(client.Send(req, &failure).ok());
  EXPECT_EQ(failure.kind, HttpFailure::kConnect);
  EXPECT_TRUE(failure.retryable);
  EXPECT_FALSE(failure.os_error.empty());
  EXPECT_EQ(failure.detail.find("SECRETTOKEN"), std::string::npos) << failure.detail;

  req.url = "ftp://127.0.0.1/x";
  ASSERT_FALSE(client.Send(req, &failure).ok());
  EXPECT_EQ(failure.kind, HttpFailure::kBadUrl);
  EXPECT_FALSE(failure.retryable);
}

TEST(SendWithRetries, RetriesServerErrorsOnly) {
  TestServer server([](int i) { return i < 2 ? Reply{503, "busy"} : Reply{200, "ok"}; });
  HttpClient client(HttpOptions{});
  HttpRequest req;
  req.url = server.Url("/o");
  int retries = 0;
  HttpOutcome out = SendWithRetries(client, req, {3, 0.01, 30}, [&](const HttpOutcome&, double) { ++retries; });
  ASSERT_TRUE(out.response.ok());
  EXPECT_EQ(out.response->status, 200);
  EXPECT_EQ(out.attempts, 3);
  EXPECT_EQ(retries, 2);
  EXPECT_EQ(server.count(), 3u);

  TestServer refuses([](int) { return Reply{400, "bad"}; });
  req.url = refuses.Url("/o");
  out = SendWithRetries(client, req, {3, 0.01, 30});
  EXPECT_EQ(out.response->status, 400);
  EXPECT_EQ(out.attempts, 1);
  EXPECT_FALSE(out.retryable);

  TestServer down([](int) { return Reply{500}; });
  req.url = down.Url("/o");
  out = SendWithRetries(client, req, {2, 0.01, 30});
  EXPECT_EQ(out.response->status, 500);
  EXPECT_EQ(out.attempts, 2);
  EXPECT_TRUE(out.retryable);
}

// A server that ignores a Range and sends a whole large object must not fill memory: the transfer
// is cut once the body passes max_body, and that is not a connection failure worth retrying.
TEST(HttpClient, BodyOverMaxBodyIsCutOff) {
  TestServer server([](int i) {
    if (i == 1) return Reply{404, std::string(5000, 'e')};  // an error document may exceed max_body
    return Reply{200, std::string(16 << 20, 'x')};
  });
  HttpClient client(HttpOptions{});
  HttpRequest req;
  req.url = server.Url("/o?sig=SECRETSIGNATURE");
  req.max_body = 1000;
  HttpFailure failure;
  auto r = client.Send(req, &failure);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kIo);
  EXPECT_NE(r.status().message().find("response body larger than 1000 bytes"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("SECRETSIGNATURE"), std::string::npos);
  EXPECT_FALSE(failure.retryable);
  auto e = client.Send(req);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->status, 404);
  EXPECT_EQ(e->body.size(), 5000u);
  req.max_body = 16 << 20;  // exactly the size: taken whole
  auto whole = client.Send(req);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(whole->body.size(), 16u << 20);
}

}  // namespace
}  // namespace stb
