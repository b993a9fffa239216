#include "http/http_client.h"

#include <curl/curl.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>

#include "core/backoff.h"
#include "core/env.h"
#include "core/parse.h"
#include "core/redact.h"

namespace stb {

namespace {

void GlobalInit() {
  // curl_global_init is not thread-safe on every libcurl build; run it once before any handle.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Connection-level failures worth another try; the others (a bad URL, a certificate that does not
// verify, an unreadable CA file) will fail the same way next time.
bool Transient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

HttpFailure::Kind KindOf(CURLcode rc) {
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return HttpFailure::kTimeout;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
      return HttpFailure::kConnect;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return HttpFailure::kBadUrl;
    case CURLE_PEER_FAILED_VERIFICATION:
      return HttpFailure::kTlsVerify;
    case CURLE_SSL_CACERT_BADFILE:
      return HttpFailure::kCaFile;
    default:
      return HttpFailure::kOther;
  }
}

// Why a transfer failed, from libcurl's code and texts, with the URL's secrets cut out.
HttpFailure FailureOf(CURL* h, CURLcode rc, const char* errbuf, const std::string& url) {
  HttpFailure f;
  f.kind = KindOf(rc);
  f.retryable = Transient(rc);
  f.detail = RedactSecrets(errbuf[0] != 0 ? std::string(errbuf) : std::string(curl_easy_strerror(rc)),
                           UrlSecretParts(url), "…", 1);
  if (f.kind == HttpFailure::kConnect) {
    // libcurl's text is "Couldn't connect to server" whatever the cause: the system says which.
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno != 0) f.os_error = std::strerror(static_cast<int>(os_errno));
  }
  return f;
}

struct Transfer {
  const HttpRequest* request;
  size_t sent = 0;
  HttpResponse* response;
  CURL* handle = nullptr;
  uint64_t refused_at = 0;  // the limit a body went over, 0 = none
};

// The most body bytes the answer being received may have, 0 = no limit.
uint64_t BodyLimit(Transfer& t) {
  uint64_t limit = t.request->max_body;
  if (limit == 0) return 0;
  long status = 0;
  curl_easy_getinfo(t.handle, CURLINFO_RESPONSE_CODE, &status);
  if (status / 100 != 2) limit = std::max(limit, HttpRequest::kMaxErrorBody);
  return limit;
}

size_t ReadBody(char* buf, size_t size, size_t nitems, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t n = std::min(size * nitems, t->request->body_size - t->sent);
  if (n > 0) std::memcpy(buf, t->request->body + t->sent, n);
  t->sent += n;
  return n;
}

// libcurl resends a request whose reused connection the server had closed (Azurite drops idle
// keep-alive connections after 5 s); for a body already (partly) sent it must rewind it first.
int SeekBody(void* p, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(p);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->request->body_size) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->sent = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t n = size * nmemb;
  // Returning less than n makes libcurl abort the transfer (CURLE_WRITE_ERROR): the rest of an
  // oversized body is never read, let alone held.
  if (uint64_t limit = BodyLimit(*t);
      limit != 0 && (t->response->body.size() + n < n || t->response->body.size() + n > limit)) {
    t->refused_at = limit;
    return 0;
  }
  t->response->body.insert(t->response->body.end(), data, data + n);
  return n;
}

size_t WriteHeader(char* data, size_t size, size_t nitems, void* p) {
  auto* t = static_cast<Transfer*>(p);
  size_t n = size * nitems;
  AddHeaderLine(std::string_view(data, n), *t->response);
  return n;
}

// A timeout in whole milliseconds, at least 1: libcurl reads 0 as "no timeout" (or its 300 s
// default for connecting), so a sub-millisecond setting must not round down to it.
long Millis(double seconds) { return std::max(1L, std::lround(seconds * 1000)); }

int64_t BodySizeHint(const HttpRequest& r) { return static_cast<int64_t>(r.body_size); }

}  // namespace

void AddHeaderLine(std::string_view line, HttpResponse& response) {
  if (line.starts_with("HTTP/")) {
    response.headers.clear();  // a 100 Continue or a redirect precedes the final answer
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    response.headers.emplace_back(AsciiLower(Trim(line.substr(0, colon))), Trim(line.substr(colon + 1)));
  }
}

std::string HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return v;
  }
  return "";
}

struct HttpClient::Pool {
  std::mutex mu;
  std::vector<CURL*> idle;
  ~Pool() {
    for (CURL* h : idle) curl_easy_cleanup(h);
  }
};

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)), pool_(std::make_unique<Pool>()) {
  GlobalInit();
}

HttpClient::~HttpClient() = default;

StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request, HttpFailure* failure) {
  CURL* h = nullptr;
  {
    std::lock_guard lk(pool_->mu);
    if (!pool_->idle.empty()) {
      h = pool_->idle.back();
      pool_->idle.pop_back();
    }
  }
  if (h == nullptr) h = curl_easy_init();
  if (h == nullptr) return Internal("curl_easy_init failed");
  curl_easy_reset(h);  // keeps the connection cache, drops the last request's options

  HttpResponse response;
  Transfer t{&request, 0, &response, h};
  struct curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) {
    std::string line = v.empty() ? k + ";" : k + ": " + v;  // "Name;" sends an empty header
    headers = curl_slist_append(headers, line.c_str());
  }
  // libcurl would otherwise send "Expect: 100-continue" and wait for the answer before a body.
  headers = curl_slist_append(headers, "Expect:");
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "spacetime-backup");
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, Millis(options_.connect_timeout_seconds));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(options_.stall_timeout_seconds)));
  if (options_.total_timeout_seconds > 0) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, Millis(options_.total_timeout_seconds));
  }
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, static_cast<void*>(&t));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, static_cast<void*>(&t));

  const std::string& m = request.method;
  if (m == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (m == "PUT" || m == "POST") {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(BodySizeHint(request)));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, &ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, static_cast<void*>(&t));
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, &SeekBody);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, static_cast<void*>(&t));
    if (m == "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (m != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_WRITE_ERROR && t.refused_at != 0) {
    // The server's fault, not the connection's: another try would get the same oversized answer.
    curl_easy_cleanup(h);
    if (failure != nullptr) *failure = HttpFailure{.kind = HttpFailure::kOther, .detail = "response body too large"};
    return IoError(request.method + " " + UrlHost(request.url) + ": response body larger than " +
                   std::to_string(t.refused_at) + " bytes (HTTP " + std::to_string(status) + "); transfer cut");
  }
  if (rc != CURLE_OK) {
    HttpFailure f = FailureOf(h, rc, errbuf, request.url);
    // A failed handle may hold a half-used connection: drop it rather than reuse it.
    curl_easy_cleanup(h);
    std::string msg = request.method + " " + UrlHost(request.url) + ": " + f.detail;
    if (failure != nullptr) *failure = std::move(f);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM) {
      return PermissionDenied(msg + " (TLS verification failed; for a private CA set BACKUP_CA_BUNDLE)");
    }
    return Unavailable(msg);
  }
  {
    std::lock_guard lk(pool_->mu);
    if (pool_->idle.size() < 32) {
      pool_->idle.push_back(h);
      h = nullptr;
    }
  }
  if (h != nullptr) curl_easy_cleanup(h);
  response.status = status;
  return response;
}

HttpOutcome SendWithRetries(HttpClient& client, const HttpRequest& request, const HttpRetryPolicy& policy,
                            const std::function<void(const HttpOutcome&, double)>& on_retry) {
  // Doubling without jitter or a ceiling: one sender's few tries, whose caller chose the first wait.
  Backoff backoff({.base_seconds = policy.backoff_seconds,
                   .max_seconds = std::numeric_limits<double>::infinity(),
                   .jitter = false,
                   .max_retry_after_seconds = policy.max_retry_after_seconds});
  Env& env = policy.env != nullptr ? *policy.env : Env::Default();
  HttpOutcome out;
  for (;;) {
    out.failure = HttpFailure{};
    out.response = client.Send(request, &out.failure);
    ++out.attempts;
    double retry_after = 0;
    if (out.response.ok()) {
      long s = out.response->status;
      out.retryable = s == 429 || s >= 500;
      if (out.retryable) retry_after = RetryAfterSeconds(*out.response);
    } else {
      out.retryable = out.failure.retryable;
    }
    if (!out.retryable || out.attempts >= policy.attempts) return out;
    double wait = backoff.Next(retry_after);
    if (on_retry) on_retry(out, wait);
    env.SleepFor(wait, NeverStop());
  }
}

Status RangeOverrun(const std::string& what, uint64_t asked, uint64_t got) {
  return IoError(what + ": the server answered a range of " + std::to_string(asked) + " bytes with " +
                 std::to_string(got) + "; not read");
}

double RetryAfterSeconds(const HttpResponse& r) {
  std::string v = r.Header("retry-after");
  if (v.empty()) return 0;
  // A server may send any number of digits: beyond an hour is read as an hour, and the retry
  // wrapper caps the wait further (max_delay_seconds).
  if (std::optional<uint64_t> n = ParseUintCapped(v, 3600)) return static_cast<double>(*n);
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return 0;
  double delta = std::difftime(when, Env::Default().Now());
  return delta > 0 ? delta : 0;
}

Status HttpError(const HttpResponse& r, const std::string& what, const std::string& credential_setting) {
  // The service's own error code (S3/Azure <Code>, GCS JSON "message") tells the operator most.
  std::string_view body(reinterpret_cast<const char*>(r.body.data()), std::min<size_t>(r.body.size(), 4096));
  std::string code = XmlValue(body, "Code");
  if (code.empty()) {
    size_t k = body.find("\"message\"");
    if (k != std::string_view::npos) {
      size_t q1 = body.find('"', body.find(':', k) + 1);
      size_t q2 = q1 == std::string_view::npos ? q1 : body.find('"', q1 + 1);
      if (q2 != std::string_view::npos) code = std::string(body.substr(q1 + 1, std::min<size_t>(q2 - q1 - 1, 200)));
    }
  }
  if (code.empty()) code = r.Header("x-ms-error-code");
  std::string msg = what + ": HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code);
  long s = r.status;
  if (s == 404) return NotFound(msg);
  if (s == 408 || s == 429 || s >= 500) {
    Status st = Unavailable(msg);
    return st.WithRetryAfter(RetryAfterSeconds(r));
  }
  if (s == 401 || s == 403) return PermissionDenied(msg + " (check " + credential_setting + ")");
  if (s == 409 || s == 412) return AlreadyExists(msg);
  return IoError(msg);
}

namespace {

// "#65" or "#x41" (the text between '&' and ';'): a Unicode scalar value, nullopt for anything
// else, which then stays in the text as it came.
std::optional<uint32_t> CharRef(std::string_view ent) {
  if (!ent.starts_with('#')) return std::nullopt;
  bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
  std::string_view digits = ent.substr(hex ? 2 : 1);
  uint32_t cp = 0;
  if (digits.empty() || digits.size() > 8) return std::nullopt;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::string XmlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out += s[i];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos) {
      out += s[i];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    if (ent == "amp") {
      out += '&';
    } else if (ent == "lt") {
      out += '<';
    } else if (ent == "gt") {
      out += '>';
    } else if (ent == "quot") {
      out += '"';
    } else if (ent == "apos") {
      out += '\'';
    } else if (std::optional<uint32_t> cp = CharRef(ent)) {
      AppendUtf8(out, *cp);
    } else {
      out += s.substr(i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

}  // namespace

std::vector<std::string_view> XmlBlocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string open = "<" + std::string(tag) + ">";
  std::string empty = "<" + std::string(tag) + "/>";
  std::string close = "</" + std::string(tag) + ">";
  size_t pos = 0;
  while (true) {
    size_t a = xml.find(open, pos);
    size_t e = xml.find(empty, pos);
    if (e != std::string_view::npos && (a == std::string_view::npos || e < a)) {
      out.push_back(xml.substr(e, 0));
      pos = e + empty.size();
      continue;
    }
    if (a == std::string_view::npos) break;
    size_t b = xml.find(close, a + open.size());
    if (b == std::string_view::npos) break;
    out.push_back(xml.substr(a + open.size(), b - a - open.size()));
    pos = b + close.size();
  }
  return out;
}

std::string XmlValue(std::string_view xml, std::string_view tag) {
  auto blocks = XmlBlocks(xml, tag);
  return blocks.empty() ? "" : XmlDecode(blocks.front());
}

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string FoldSpaces(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace stb
