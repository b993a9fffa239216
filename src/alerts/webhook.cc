#include "alerts/webhook.h"

#include <curl/curl.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include "core/file_util.h"
#include "core/log.h"

namespace stb {

namespace {

using nlohmann::json;

constexpr const char* kSetting = "BACKUP_ALERT_WEBHOOK";
constexpr size_t kMaxTextError = 500;         // of the error inside Slack's text; the "error" field keeps it all
constexpr size_t kMaxAnswerKept = 4096;       // of the server's answer, read for the error message
constexpr size_t kMaxAnswerShown = 200;       // of that, in the error message
constexpr double kMaxRetryAfterSeconds = 30;  // a Retry-After beyond this would hold up the backup
constexpr size_t kMinSecretPart = 12;         // path and query parts this long are treated as tokens

// "alert backup_failed", for messages.
std::string AlertName(const Alert& a) { return a.event.empty() ? "alert" : "alert " + a.event; }

// The emoji that starts Slack's text, so that a failure stands out in a channel.
std::string Emoji(const Alert& a) {
  if (a.severity == "critical") return ":red_circle:";
  if (a.severity == "warning") return ":warning:";
  if (a.severity == "info") return a.event == "backup_succeeded" ? ":white_check_mark:" : ":information_source:";
  return ":bell:";
}

// Cuts at most n bytes without splitting a UTF-8 sequence.
std::string Truncate(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "…";
}

// Control characters (newlines of a multi-line error, say) as single spaces: one line.
std::string OneLine(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool ctl = static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    if (!ctl) {
      out += c;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Slack reads <...> in text as links or mentions ("<!channel>") and & as an entity: an error
// message quoting such characters must not turn into markup.
std::string EscapeMrkdwn(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string DefaultText(const Alert& a, const std::string& host) {
  std::string id = a.backup_id.empty() ? "" : " " + a.backup_id;
  std::string on = " on " + (host.empty() ? std::string("unknown host") : host);
  std::string text;
  if (a.event == "backup_failed") {
    text = "backup" + id + " failed" + on;
  } else if (a.event == "backup_succeeded") {
    text = "backup" + id + " succeeded" + on;
  } else if (a.event == "drill_failed") {
    text = "restore drill" + (id.empty() ? "" : " of backup" + id) + " failed" + on;
  } else if (a.event == "location_behind") {
    text = "a backup location is behind" + on;
  } else if (a.event == "rpo_exceeded") {
    text = "no successful backup within the recovery point objective" + on;
  } else {
    text = (a.event.empty() ? std::string("alert") : a.event) + on;
  }
  if (!a.error.empty()) text += ": " + Truncate(OneLine(a.error), kMaxTextError);
  return text;
}

std::string NowIso8601Utc() {
  time_t now = time(nullptr);
  struct tm tm {};
  gmtime_r(&now, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool StartsWithNoCase(const std::string& s, const std::string& prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// The parts of the URL that may carry a token: the user info, everything after the host, and the
// long path and query parts on their own (a server may echo "Cannot POST /services/..." or just the
// token, JSON-escaped perhaps). Short parts are left alone: "/x" is no secret, and scrubbing it would
// mangle host names in the same message. Longest first, so that a part inside another goes with it.
std::vector<std::string> SecretParts(const std::string& url) {
  std::vector<std::string> parts{url};
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = std::min(url.find_first_of("/?#", start), url.size());
  size_t at = url.rfind('@', end);
  if (at != std::string::npos && at >= start) parts.push_back(url.substr(start, at - start));  // a password
  std::string rest = url.substr(end);
  std::string escaped;  // as a JSON string may quote it: "\/services\/..."
  for (char c : rest) escaped += c == '/' ? std::string("\\/") : std::string(1, c);
  std::vector<std::string> long_parts{rest, rest.empty() ? "" : rest.substr(1), escaped};
  for (size_t i = 0; i < rest.size();) {
    size_t j = std::min(rest.find_first_of("/?&=#", i), rest.size());
    long_parts.push_back(rest.substr(i, j - i));
    i = j + 1;
  }
  for (auto& p : long_parts) {
    if (p.size() >= kMinSecretPart) parts.push_back(std::move(p));
  }
  std::erase_if(parts, [](const std::string& p) { return p.empty(); });
  std::sort(parts.begin(), parts.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return parts;
}

// Text from libcurl or from the server, fit for a log line: no URL secrets, one line, short.
std::string Scrub(const std::string& text, const std::vector<std::string>& secrets, size_t max_len) {
  std::string s = text;
  for (const auto& secret : secrets) {
    for (size_t p = s.find(secret); p != std::string::npos; p = s.find(secret, p + 3)) s.replace(p, secret.size(), "…");
  }
  return Truncate(OneLine(s), max_len);
}

// curl_global_init must run before the first handle and is not thread-safe on every libcurl build,
// hence once per process. It is never undone: curl_global_cleanup would race with other threads,
// and OpenSSL, which libcurl initialises here, may be in use elsewhere in the process.
CURLcode InitCurl() {
  static std::once_flag once;
  static CURLcode rc = CURLE_OK;
  std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return rc;
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

struct Attempt {
  bool sent = false;
  bool retry = false;
  std::string what;        // why it failed, scrubbed
  double retry_after = 0;  // seconds, from a 429 or 503 answer
};

size_t KeepAnswer(char* data, size_t size, size_t n, void* user) {
  auto* answer = static_cast<std::string*>(user);
  size_t len = size * n;
  answer->append(data, std::min(len, kMaxAnswerKept - std::min(kMaxAnswerKept, answer->size())));
  return len;  // the rest is read and dropped, so that the transfer completes
}

// curl_easy_setopt is variadic: the value must have the type the option expects (long, not int).
template <typename T>
void SetOpt(CURL* h, CURLoption opt, T value, CURLcode& rc) {
  if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, value);
}

std::string FormatSeconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

Attempt PostOnce(const WebhookOptions& o, const std::string& body, const std::vector<std::string>& secrets) {
  Attempt a;
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle) {
    a.what = "libcurl could not create a handle";
    return a;
  }
  CURL* h = handle.get();
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, curl_slist_free_all);
  // "Expect:" drops the "Expect: 100-continue" libcurl sends with larger bodies, which costs a round
  // trip, or a second, against servers that ignore it.
  for (const char* line : {"Content-Type: application/json", "Expect:"}) {
    curl_slist* grown = curl_slist_append(headers.get(), line);
    if (grown == nullptr) {
      a.what = "libcurl could not allocate the request headers";
      return a;
    }
    headers.release();
    headers.reset(grown);
  }
  auto timeout_ms = static_cast<long>(std::max(1.0, std::round(o.timeout_seconds * 1000)));
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string answer;
  CURLcode rc = CURLE_OK;
  SetOpt(h, CURLOPT_URL, o.url.c_str(), rc);
  SetOpt(h, CURLOPT_PROTOCOLS_STR, "http,https", rc);
  SetOpt(h, CURLOPT_FOLLOWLOCATION, 0L, rc);  // a redirect could carry the token to another host
  SetOpt(h, CURLOPT_HTTPHEADER, headers.get(), rc);
  SetOpt(h, CURLOPT_USERAGENT, "spacetime-backup", rc);
  SetOpt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()), rc);
  SetOpt(h, CURLOPT_POSTFIELDS, body.data(), rc);
  SetOpt(h, CURLOPT_TIMEOUT_MS, timeout_ms, rc);
  SetOpt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms, rc);
  // Timeouts without SIGALRM: signals are not thread-safe, and the process has other threads.
  SetOpt(h, CURLOPT_NOSIGNAL, 1L, rc);
  SetOpt(h, CURLOPT_SSL_VERIFYPEER, 1L, rc);
  SetOpt(h, CURLOPT_SSL_VERIFYHOST, 2L, rc);
  SetOpt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2), rc);
  if (!o.ca_file.empty()) SetOpt(h, CURLOPT_CAINFO, o.ca_file.c_str(), rc);
  SetOpt(h, CURLOPT_ERRORBUFFER, errbuf, rc);
  SetOpt(h, CURLOPT_WRITEFUNCTION, &KeepAnswer, rc);
  SetOpt(h, CURLOPT_WRITEDATA, static_cast<void*>(&answer), rc);
  if (rc != CURLE_OK) {
    a.what = std::string("libcurl rejected an option: ") + curl_easy_strerror(rc);
    return a;
  }

  rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    std::string detail = Scrub(errbuf[0] ? errbuf : curl_easy_strerror(rc), secrets, 300);
    a.retry = Transient(rc);
    switch (rc) {
      case CURLE_OPERATION_TIMEDOUT:
        a.what = "no answer within " + FormatSeconds(o.timeout_seconds) + " (" + detail + ")";
        break;
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST: {
        // libcurl's text is "Couldn't connect to server" whatever the cause: add the system's.
        long os_errno = 0;
        curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno != 0) detail += std::string(": ") + strerror(static_cast<int>(os_errno));
        a.what = detail + " (check the host in " + kSetting + " and the network)";
        break;
      }
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        a.what = std::string("not a valid http(s) URL (check ") + kSetting + ")";
        break;
      case CURLE_PEER_FAILED_VERIFICATION:
        a.what = "the server's TLS certificate did not verify: " + detail +
                 (o.ca_file.empty() ? std::string(" (is it signed by a CA of the system store?)")
                                    : " (is it signed by a CA in " + o.ca_file + "?)");
        break;
      case CURLE_SSL_CACERT_BADFILE:
        a.what = (o.ca_file.empty() ? std::string("cannot use the system CA store")
                                    : "cannot use the CA file '" + o.ca_file + "'") +
                 ": " + detail;
        break;
      default:
        a.what = detail;
    }
    return a;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300) {
    a.sent = true;
    return a;
  }
  a.what = "the server answered HTTP " + std::to_string(status);
  std::string shown = Scrub(answer, secrets, kMaxAnswerShown);
  if (status >= 300 && status < 400) {
    // The target of the redirect is not shown: it may hold a token too.
    a.what += std::string(", a redirect, which is not followed (set ") + kSetting + " to the final URL)";
    return a;
  }
  if (!shown.empty()) a.what += ": " + shown;
  if (status == 429 || status >= 500) {
    a.retry = true;
    curl_off_t after = 0;
    if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0) {
      a.retry_after = static_cast<double>(after);
    }
  } else if (status == 401 || status == 403 || status == 404 || status == 410) {
    a.what += std::string(" (check ") + kSetting + ": the URL may be wrong, revoked or expired)";
  }
  return a;
}

Status CheckOptions(const WebhookOptions& o, const std::string& where) {
  if (!StartsWithNoCase(o.url, "https://") && !StartsWithNoCase(o.url, "http://")) {
    return InvalidArgument(where + " must start with https:// (or http://)");
  }
  // Written so that NaN fails too.
  if (!(o.timeout_seconds > 0 && o.timeout_seconds <= 86400)) {
    return InvalidArgument(where + ": the timeout must be between 0 and 86400 s, not " +
                           std::to_string(o.timeout_seconds));
  }
  if (o.attempts < 1)
    return InvalidArgument(where + ": attempts must be at least 1, not " + std::to_string(o.attempts));
  if (!(o.backoff_seconds >= 0 && o.backoff_seconds <= 3600)) {
    return InvalidArgument(where + ": the backoff must be between 0 and 3600 s, not " +
                           std::to_string(o.backoff_seconds));
  }
  return Status::Ok();
}

Status Send(const WebhookOptions& o, const Alert& alert) {
  const std::string where = std::string(kSetting) + " (" + RedactUrl(o.url) + ")";
  RETURN_IF_ERROR(CheckOptions(o, where));
  // Error texts often quote file names or server output that are not UTF-8, which dump() would
  // otherwise throw on.
  std::string body = AlertPayload(alert, Hostname()).dump(-1, ' ', false, json::error_handler_t::replace);
  if (CURLcode rc = InitCurl(); rc != CURLE_OK) {
    return Internal(AlertName(alert) + " not sent to " + where +
                    ": libcurl failed to initialise: " + curl_easy_strerror(rc));
  }
  const std::vector<std::string> secrets = SecretParts(o.url);
  double delay = o.backoff_seconds;
  for (int attempt = 1;; ++attempt) {
    Attempt a = PostOnce(o, body, secrets);
    if (a.sent) return Status::Ok();
    if (!a.retry || attempt >= o.attempts) {
      std::string tries =
          a.retry ? " after " + std::to_string(attempt) + (attempt == 1 ? " attempt" : " attempts") : "";
      return Unavailable(AlertName(alert) + " not sent to " + where + tries + ": " + a.what);
    }
    double wait = std::max(delay, std::min(a.retry_after, kMaxRetryAfterSeconds));
    LogInfo(AlertName(alert) + " to " + where + ": attempt " + std::to_string(attempt) + " of " +
            std::to_string(o.attempts) + " failed: " + a.what + "; retrying in " + FormatSeconds(wait));
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    delay *= 2;
  }
}

}  // namespace

json AlertPayload(const Alert& a, const std::string& hostname) {
  std::string line = a.text.empty() ? DefaultText(a, hostname) : OneLine(a.text);
  json p = json::object();
  p["text"] = Emoji(a) + " spacetime-backup: " + EscapeMrkdwn(line);
  if (!a.event.empty()) p["event"] = a.event;
  if (!a.severity.empty()) p["severity"] = a.severity;
  if (!a.backup_id.empty()) p["backup_id"] = a.backup_id;
  if (!a.components.empty()) p["components"] = a.components;
  if (!a.error.empty()) p["error"] = a.error;
  if (!hostname.empty()) p["hostname"] = hostname;
  p["time"] = NowIso8601Utc();
  if (!a.details.is_null() && !((a.details.is_object() || a.details.is_array()) && a.details.empty())) {
    p["details"] = a.details;
  }
  return p;
}

Status SendAlert(const WebhookOptions& options, const Alert& alert) {
  if (options.url.empty()) return Status::Ok();  // alerts are off
  try {
    return Send(options, alert);
  } catch (const std::exception& e) {  // std::bad_alloc, in practice: no exception leaves a module
    return Internal(AlertName(alert) + " not sent to " + std::string(kSetting) + " (" + RedactUrl(options.url) +
                    "): " + e.what());
  }
}

void NotifyBestEffort(const WebhookOptions& options, const Alert& alert) noexcept {
  try {
    Status st = SendAlert(options, alert);
    if (!st.ok()) {
      LogWarn(st.message());
    } else if (!options.url.empty()) {
      LogInfo(AlertName(alert) + " sent to " + kSetting + " (" + RedactUrl(options.url) + ")");
    }
  } catch (...) {  // the log itself failed; the caller goes on regardless
  }
}

std::string RedactUrl(const std::string& url) {
  // Without a scheme there is no telling host from token: show nothing.
  size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return url.empty() ? "" : "…";
  for (size_t i = 0; i < sep; ++i) {
    unsigned char c = static_cast<unsigned char>(url[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return "…";
  }
  size_t start = sep + 3;
  size_t end = std::min(url.find_first_of("/?#", start), url.size());
  std::string authority = url.substr(start, end - start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, start) + OneLine(authority) + (end < url.size() ? "/…" : "");
}

}  // namespace stb
