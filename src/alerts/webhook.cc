#include "alerts/webhook.h"

#include <time.h>

#include <cctype>
#include <cstdio>

#include "core/file_util.h"
#include "core/log.h"
#include "core/redact.h"
#include "http/http_client.h"

namespace stb {

namespace {

using nlohmann::json;

constexpr const char* kSetting = "BACKUP_ALERT_WEBHOOK";
constexpr size_t kMaxTextError = 500;         // of the error inside Slack's text; the "error" field keeps it all
constexpr size_t kMaxAnswerKept = 4096;       // of the server's answer, read for the error message
constexpr size_t kMaxAnswerShown = 200;       // of that, in the error message
constexpr double kMaxRetryAfterSeconds = 30;  // a Retry-After beyond this would hold up the backup

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

// Text from libcurl or from the server, fit for a log line: no URL secrets, one line, short.
std::string Scrub(const std::string& text, const std::vector<std::string>& secrets, size_t max_len) {
  return Truncate(OneLine(RedactSecrets(text, secrets, "…", 1)), max_len);
}

std::string FormatSeconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

// Why one try failed, in the operator's terms: the setting to check, never the URL.
std::string Explain(const WebhookOptions& o, const HttpOutcome& out, const std::vector<std::string>& secrets) {
  if (!out.response.ok()) {
    const HttpFailure& f = out.failure;
    std::string detail = Scrub(f.detail.empty() ? out.response.status().message() : f.detail, secrets, 300);
    switch (f.kind) {
      case HttpFailure::kTimeout:
        return "no answer within " + FormatSeconds(o.timeout_seconds) + " (" + detail + ")";
      case HttpFailure::kConnect:
        return detail + (f.os_error.empty() ? "" : ": " + f.os_error) + " (check the host in " + kSetting +
               " and the network)";
      case HttpFailure::kBadUrl:
        return std::string("not a valid http(s) URL (check ") + kSetting + ")";
      case HttpFailure::kTlsVerify:
        return "the server's TLS certificate did not verify: " + detail +
               (o.ca_file.empty() ? std::string(" (is it signed by a CA of the system store?)")
                                  : " (is it signed by a CA in " + o.ca_file + "?)");
      case HttpFailure::kCaFile:
        return (o.ca_file.empty() ? std::string("cannot use the system CA store")
                                  : "cannot use the CA file '" + o.ca_file + "'") +
               ": " + detail;
      default:
        return detail;
    }
  }
  const HttpResponse& r = *out.response;
  std::string what = "the server answered HTTP " + std::to_string(r.status);
  if (r.status >= 300 && r.status < 400) {
    // The target of the redirect is not shown: it may hold a token too.
    return what + ", a redirect, which is not followed (set " + kSetting + " to the final URL)";
  }
  std::string answer(AsString(r.body).substr(0, kMaxAnswerKept));
  std::string shown = Scrub(answer, secrets, kMaxAnswerShown);
  if (!shown.empty()) what += ": " + shown;
  if (r.status == 401 || r.status == 403 || r.status == 404 || r.status == 410) {
    what += std::string(" (check ") + kSetting + ": the URL may be wrong, revoked or expired)";
  }
  return what;
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
  HttpOptions http;
  http.ca_file = o.ca_file;
  http.connect_timeout_seconds = o.timeout_seconds;
  http.total_timeout_seconds = o.timeout_seconds;
  HttpClient client(http);
  HttpRequest req;
  req.method = "POST";
  req.url = o.url;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = reinterpret_cast<const uint8_t*>(body.data());
  req.body_size = body.size();
  const std::vector<std::string> secrets = UrlSecretParts(o.url);
  HttpRetryPolicy retry{o.attempts, o.backoff_seconds, kMaxRetryAfterSeconds};
  HttpOutcome out = SendWithRetries(client, req, retry, [&](const HttpOutcome& failed, double wait) {
    LogInfo(AlertName(alert) + " to " + where + ": attempt " + std::to_string(failed.attempts) + " of " +
            std::to_string(o.attempts) + " failed: " + Explain(o, failed, secrets) + "; retrying in " +
            FormatSeconds(wait));
  });
  if (out.response.ok() && out.response->status >= 200 && out.response->status < 300) return Status::Ok();
  std::string tries =
      out.retryable ? " after " + std::to_string(out.attempts) + (out.attempts == 1 ? " attempt" : " attempts") : "";
  return Unavailable(AlertName(alert) + " not sent to " + where + tries + ": " + Explain(o, out, secrets));
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

}  // namespace stb
