#include "core/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "core/encoding.h"

namespace stb {

namespace {

// Query parameters whose values are secrets: CockroachDB's cloud storage parameters and the
// signature of an Azure SAS token.
constexpr std::array<std::string_view, 7> kSecretParams = {"AWS_SECRET_ACCESS_KEY",
                                                           "AWS_SESSION_TOKEN",
                                                           "AZURE_ACCOUNT_KEY",
                                                           "AZURE_CLIENT_SECRET",
                                                           "CREDENTIALS",
                                                           "BEARER_TOKEN",
                                                           "sig"};

struct Split {
  bool ok = false;   // a scheme was found
  size_t start = 0;  // of the authority
  size_t end = 0;    // of the authority: the first '/', '?' or '#' after it, or the end
};

Split SplitUrl(const std::string& url) {
  Split s;
  size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return s;
  for (size_t i = 0; i < sep; ++i) {
    unsigned char c = static_cast<unsigned char>(url[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return s;
  }
  s.ok = true;
  s.start = sep + 3;
  s.end = std::min(url.find_first_of("/?#", s.start), url.size());
  return s;
}

}  // namespace

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

std::string UrlHost(const std::string& url) {
  Split s = SplitUrl(url);
  if (!s.ok) return url.empty() ? "" : "…";
  std::string authority = url.substr(s.start, s.end - s.start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  return url.substr(0, s.start) + OneLine(authority);
}

std::string RedactUrl(const std::string& url) {
  Split s = SplitUrl(url);
  if (!s.ok) return UrlHost(url);
  return UrlHost(url) + (s.end < url.size() ? "/…" : "");
}

namespace {

// Calls fn(kv, position of '=' or npos, whether the key is in kSecretParams) for each '&'-separated
// part of a URI's query, empty parts included, in order.
template <typename Fn>
void ForEachQueryParam(const std::string& query, Fn fn) {
  for (size_t start = 0;;) {
    size_t amp = query.find('&', start);
    std::string kv = query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = kv.find('=');
    fn(kv, eq, std::find(kSecretParams.begin(), kSecretParams.end(), kv.substr(0, eq)) != kSecretParams.end());
    if (amp == std::string::npos) return;
    start = amp + 1;
  }
}

}  // namespace

std::string RedactUri(const std::string& uri) {
  std::string out = uri;
  // user:password@host
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t host_start = scheme + 3;
    size_t path = out.find_first_of("/?", host_start);
    size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
    if (at != std::string::npos && at > host_start) {
      size_t colon = out.find(':', host_start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, kRedacted);
    }
  }
  size_t q = out.find('?');
  if (q == std::string::npos) return out;
  std::string result = out.substr(0, q + 1);
  bool first = true;
  ForEachQueryParam(out.substr(q + 1), [&](const std::string& kv, size_t eq, bool secret) {
    if (!first) result += '&';
    result += secret && eq != std::string::npos ? kv.substr(0, eq) + "=" + std::string(kRedacted) : kv;
    first = false;
  });
  return result;
}

std::vector<std::string> UriSecretValues(const std::string& uri) {
  std::vector<std::string> out;
  size_t q = uri.find('?');
  if (q == std::string::npos) return out;
  ForEachQueryParam(uri.substr(q + 1), [&](const std::string& kv, size_t eq, bool secret) {
    if (!secret || eq == std::string::npos) return;
    std::string v = kv.substr(eq + 1), decoded;
    for (size_t i = 0; i < v.size(); ++i) {
      int hi = v[i] == '%' && i + 2 < v.size() ? HexDigit(v[i + 1]) : -1;
      int lo = hi >= 0 ? HexDigit(v[i + 2]) : -1;
      if (lo >= 0) {
        decoded += static_cast<char>(hi * 16 + lo);
        i += 2;
      } else {
        decoded += v[i] == '+' ? ' ' : v[i];
      }
    }
    out.push_back(v);
    if (decoded != v) out.push_back(decoded);
  });
  return out;
}

std::string RedactSecrets(std::string text, std::vector<std::string> secrets, std::string_view mark,
                          size_t min_length) {
  std::erase_if(secrets, [&](const std::string& s) { return s.empty() || s.size() < min_length; });
  std::stable_sort(secrets.begin(), secrets.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& secret : secrets) {
    // Searching on after the mark: a secret that the mark contains cannot loop forever.
    for (size_t p = text.find(secret); p != std::string::npos; p = text.find(secret, p + mark.size())) {
      text.replace(p, secret.size(), mark);
    }
  }
  return text;
}

std::vector<std::string> UrlSecretParts(const std::string& url, size_t min_part) {
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
    if (p.size() >= min_part) parts.push_back(std::move(p));
  }
  std::erase_if(parts, [](const std::string& p) { return p.empty(); });
  std::sort(parts.begin(), parts.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return parts;
}

}  // namespace stb
