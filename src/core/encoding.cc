#include "core/encoding.h"

#include <openssl/evp.h>

#include <cctype>

namespace stb {

namespace {

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

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
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexVal(hex[2 * i]), lo = HexVal(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
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
