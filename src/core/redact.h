// The one way to hide secrets in what the program shows (logs, reports, errors, alerts): URLs
// reduced to their host, secret URI parameters and passwords replaced, known secret values cut
// out of any text. Callers get the secret values from where they are declared (a location's
// secrets(), an endpoint's password), never by guessing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stb {

// What a secret is replaced with in URIs and texts, unless a caller asks for another mark.
inline constexpr std::string_view kRedacted = "redacted";

// Control characters (a multi-line error's newlines, a host name's) as single spaces, trailing ones
// dropped: text that stays one log line.
std::string OneLine(const std::string& s);

// "scheme://host[:port]": the URL without user info, path, query or fragment, any of which may
// hold a token; "…" when there is no scheme to tell the host by, "" for "".
std::string UrlHost(const std::string& url);
// UrlHost, plus "/…" when something followed the host
// (https://hooks.slack.com/services/T000/B000/XXXX -> https://hooks.slack.com/…).
std::string RedactUrl(const std::string& url);

// The URI with the password of user:password@ and the values of secret query parameters (those
// CockroachDB and SAS tokens use: AWS_SECRET_ACCESS_KEY, AZURE_ACCOUNT_KEY, CREDENTIALS, sig, …)
// replaced by kRedacted; everything else, the host and path included, kept.
std::string RedactUri(const std::string& uri);
// The values of those secret query parameters, as written and (when different) percent-decoded:
// for RedactSecrets over text a server wrote after it was sent the URI.
std::vector<std::string> UriSecretValues(const std::string& uri);

// Every occurrence of each secret in text replaced by mark, longest secret first so that a secret
// inside another goes with it. Secrets shorter than min_length are left alone: too short to tell
// from ordinary text (none of ours are).
std::string RedactSecrets(std::string text, std::vector<std::string> secrets, std::string_view mark = kRedacted,
                          size_t min_length = 4);

// The parts of a URL that may carry a token, for RedactSecrets over text a server or libcurl
// wrote about it: the whole URL, the user info, everything after the host, and the path and query
// parts at least min_part long (as they are, and as JSON may quote them, "\/services\/…"). Short
// parts are left out: "/x" is no secret, and cutting it would mangle host names.
std::vector<std::string> UrlSecretParts(const std::string& url, size_t min_part = 12);

}  // namespace stb
