#include "core/encoding.h"

#include <openssl/evp.h>

#include <array>
#include <cctype>

namespace stb {

namespace {

constexpr auto kHexValue = [] {
  std::array<int8_t, 256> t{};
  t.fill(-1);
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<int8_t>(c);
  for (int c = 0; c < 6; ++c) t['a' + c] = t['A' + c] = static_cast<int8_t>(10 + c);
  return t;
}();

// Decodes 2n hex digits into n bytes through the table, without a branch a digit (index loading
// decodes one id a blob); false if any is not a hex digit.
bool DecodeHex(std::string_view hex, uint8_t* out) {
  int bad = 0;
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    int hi = kHexValue[static_cast<uint8_t>(hex[2 * i])], lo = kHexValue[static_cast<uint8_t>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<uint8_t>((hi & 15) << 4 | (lo & 15));
  }
  return bad >= 0;
}

}  // namespace

int HexDigit(char c) { return kHexValue[static_cast<uint8_t>(c)]; }

std::string ToHex(const uint8_t* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 15];
  }
  return s;
}

std::optional<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2) return std::nullopt;
  Bytes out(hex.size() / 2);
  if (!DecodeHex(hex, out.data())) return std::nullopt;
  return out;
}

std::optional<Id> Id::FromHex(std::string_view hex) {
  Id id;
  if (hex.size() != 2 * id.b.size() || !DecodeHex(hex, id.b.data())) return std::nullopt;
  return id;
}

std::string Base64Encode(const uint8_t* data, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');  // EVP_EncodeBlock writes a NUL after the text
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

StatusOr<Bytes> Base64Decode(std::string_view s) {
  std::string in;
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) in += c;
  }
  if (in.size() % 4 != 0) return InvalidArgument("not base64 (length)");
  // EVP_DecodeBlock lets some malformed input through ("a===", '=' in the middle): at most two
  // '=', and only at the end.
  size_t body = in.find_last_not_of('=') + 1;
  if (in.size() - body > 2) return InvalidArgument("not base64 (padding)");
  for (size_t i = 0; i < body; ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (!std::isalnum(c) && c != '+' && c != '/') return InvalidArgument("not base64");
  }
  Bytes out(in.size() / 4 * 3);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (len < 0) return InvalidArgument("not base64");
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(len) - pad);
  return out;
}

std::string Base64UrlEncode(const uint8_t* data, size_t n) {
  std::string s = Base64Encode(data, n);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

StatusOr<Bytes> Base64UrlDecode(std::string_view s) {
  std::string std_alphabet(s);
  for (char& c : std_alphabet) {
    if (c == '+' || c == '/') return InvalidArgument("not base64url");
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std_alphabet.size() % 4 == 1) return InvalidArgument("not base64url (length)");
  while (std_alphabet.size() % 4 != 0) std_alphabet += '=';
  return Base64Decode(std_alphabet);
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3 / 2);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace stb
