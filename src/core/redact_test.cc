#include "core/redact.h"

#include <gtest/gtest.h>

namespace stb {
namespace {

TEST(RedactUrl, KeepsSchemeAndHostOnly) {
  EXPECT_EQ(RedactUrl("https://hooks.slack.com/services/T000/B000/XXXX"), "https://hooks.slack.com/…");
  EXPECT_EQ(RedactUrl("https://user:pass@example.com:8443/hook?token=abc#x"), "https://example.com:8443/…");
  EXPECT_EQ(RedactUrl("https://example.com?token=abc"), "https://example.com/…");
  EXPECT_EQ(RedactUrl("http://[::1]:8080/x"), "http://[::1]:8080/…");
  EXPECT_EQ(RedactUrl("https://example.com"), "https://example.com");
  EXPECT_EQ(RedactUrl(""), "");
  // Without a scheme, host and token cannot be told apart.
  EXPECT_EQ(RedactUrl("hooks.slack.com/services/T000/B000/XXXX"), "…");
  EXPECT_EQ(RedactUrl("XXXXSECRET"), "…");
  EXPECT_EQ(RedactUrl("a/b://c/d"), "…");
}

TEST(OneLine, ControlCharactersBecomeOneSpace) {
  EXPECT_EQ(OneLine("a\nb\r\n\tc\n"), "a b c");
  EXPECT_EQ(OneLine("\n\nx"), "x");
  EXPECT_EQ(OneLine("del\x7f"), "del");
}

TEST(UrlHost, DropsUserInfoPathAndQuery) {
  EXPECT_EQ(UrlHost("https://user:pass@example.com:8443/hook?token=abc#x"), "https://example.com:8443");
  EXPECT_EQ(UrlHost("https://acct.blob.core.windows.net/c/o?sv=1&sig=SECRET"), "https://acct.blob.core.windows.net");
  EXPECT_EQ(UrlHost("http://127.0.0.1:10000"), "http://127.0.0.1:10000");
  EXPECT_EQ(UrlHost("no-scheme/token"), "…");
}

TEST(UriSecretValues, SecretParametersAsWrittenAndDecoded) {
  EXPECT_EQ(UriSecretValues("s3://b/p?AWS_ACCESS_KEY_ID=id&AWS_SECRET_ACCESS_KEY=ab%2Fc%2Bd&AUTH=specified"),
            (std::vector<std::string>{"ab%2Fc%2Bd", "ab/c+d"}));
  EXPECT_EQ(UriSecretValues("azure-blob://c?AZURE_ACCOUNT_KEY=plain&x=%zz"), (std::vector<std::string>{"plain"}));
  EXPECT_EQ(UriSecretValues("gs://b/p?CREDENTIALS=a+b%2"), (std::vector<std::string>{"a+b%2", "a b%2"}));
  EXPECT_TRUE(UriSecretValues("s3://b/p").empty());
}

TEST(RedactUri, ReplacesPasswordAndSecretParameters) {
  EXPECT_EQ(RedactUri("s3://u:pa55@bucket/p?AWS_SECRET_ACCESS_KEY=s3cr3t&AWS_REGION=eu-west-1"),
            "s3://u:redacted@bucket/p?AWS_SECRET_ACCESS_KEY=redacted&AWS_REGION=eu-west-1");
  EXPECT_EQ(RedactUri("azure-blob://c/p?AZURE_ACCOUNT_NAME=a&AZURE_ACCOUNT_KEY=k%2B"),
            "azure-blob://c/p?AZURE_ACCOUNT_NAME=a&AZURE_ACCOUNT_KEY=redacted");
  EXPECT_EQ(RedactUri("gs://b/p?AUTH=specified&CREDENTIALS=e30"), "gs://b/p?AUTH=specified&CREDENTIALS=redacted");
  EXPECT_EQ(RedactUri("https://a.blob.core.windows.net/c?sv=2021&sig=abc%3D&se=x"),
            "https://a.blob.core.windows.net/c?sv=2021&sig=redacted&se=x");
  EXPECT_EQ(RedactUri("nodelocal://1/spacetime-backup/database"), "nodelocal://1/spacetime-backup/database");
  EXPECT_EQ(RedactUri("postgres://user@host/db"), "postgres://user@host/db");  // no password to hide
}

TEST(RedactSecrets, RemovesEverySecret) {
  EXPECT_EQ(RedactSecrets("uri s3://b?K=abcd1234&x and abcd1234 again, pass hunter22", {"abcd1234", "hunter22", ""}),
            "uri s3://b?K=redacted&x and redacted again, pass redacted");
}

TEST(RedactSecrets, LongestFirstShortOnesKeptAndNoLoop) {
  // "abcd" inside "abcd1234" must not leave "1234" behind.
  EXPECT_EQ(RedactSecrets("key abcd1234", {"abcd", "abcd1234"}), "key redacted");
  EXPECT_EQ(RedactSecrets("pin 123", {"123"}), "pin 123");  // below the default minimum length
  EXPECT_EQ(RedactSecrets("pin 123", {"123"}, "…", 1), "pin …");
  // A secret that the mark itself contains is replaced once, not forever.
  EXPECT_EQ(RedactSecrets("a dact b", {"dact"}), "a redacted b");
}

TEST(UrlSecretParts, CoversWhatAServerMayEcho) {
  const std::string url = "https://user:pw@hooks.example.com/services/T000/B000/XXXXSECRETTOKEN0123456789?x=1";
  std::string echoed =
      "Cannot POST /services/T000/B000/XXXXSECRETTOKEN0123456789?x=1, token "
      "XXXXSECRETTOKEN0123456789, json \\/services\\/T000\\/B000\\/XXXXSECRETTOKEN0123456789?x=1, "
      "from " +
      url;
  std::string shown = RedactSecrets(echoed, UrlSecretParts(url), "…", 1);
  EXPECT_EQ(shown.find("XXXXSECRETTOKEN"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("user:pw"), std::string::npos) << shown;
  // Short parts are not secrets: the host name stays readable.
  EXPECT_EQ(RedactSecrets("connecting to hooks.example.com", UrlSecretParts(url), "…", 1),
            "connecting to hooks.example.com");
}

}  // namespace
}  // namespace stb
