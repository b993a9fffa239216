// Checked number parsing: every function here accepts exactly its grammar or returns an error.
#include "core/parse.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <system_error>

namespace stb {

namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status NotANumber(std::string_view text, std::string_view what, const std::string& range) {
  return InvalidArgument(std::string(what) + ": '" + QuoteForError(text) + "' is not " + range);
}

}  // namespace

std::string QuoteForError(std::string_view text) {
  constexpr size_t kMax = 40;
  std::string out;
  for (char c : text.substr(0, kMax)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f ? '?' : c;
  }
  if (text.size() > kMax) out += "...";
  return out;
}

StatusOr<uint64_t> ParseUint(std::string_view text, uint64_t max, std::string_view what) {
  uint64_t v = 0;
  if (AllDigits(text)) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size() && v <= max) return v;
  }
  return NotANumber(text, what, "a whole number from 0 to " + std::to_string(max));
}

StatusOr<uint64_t> ParseHex(std::string_view text, size_t max_digits, std::string_view what) {
  max_digits = std::min<size_t>(max_digits, 16);
  uint64_t v = 0;
  bool shaped = !text.empty() && text.size() <= max_digits;
  for (size_t i = 0; shaped && i < text.size(); ++i) {
    char c = text[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) shaped = false;
    v = v << 4 | static_cast<uint64_t>(d < 0 ? 0 : d);
  }
  if (shaped) return v;
  return NotANumber(text, what, "1 to " + std::to_string(max_digits) + " hexadecimal digits");
}

StatusOr<int64_t> ParseInt(std::string_view text, int64_t lo, int64_t hi, std::string_view what) {
  std::string_view digits = text.starts_with('-') ? text.substr(1) : text;
  int64_t v = 0;
  if (AllDigits(digits)) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc() && end == text.data() + text.size() && v >= lo && v <= hi) return v;
  }
  return NotANumber(text, what, "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi));
}

std::optional<uint64_t> ParseUintCapped(std::string_view text, uint64_t cap) {
  if (!AllDigits(text)) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > cap / 10) return cap;  // checked before each step, so v * 10 never overflows
    v *= 10;
    if (d > cap - v) return cap;
    v += d;
  }
  return v;
}

StatusOr<double> ParseDecimal(std::string_view text, double lo, double hi, std::string_view what) {
  std::string_view body = text.starts_with('-') ? text.substr(1) : text;
  size_t dot = body.find('.');
  std::string_view whole = body.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1);
  bool shaped = (AllDigits(whole) || (whole.empty() && !frac.empty())) &&
                (dot == std::string_view::npos || AllDigits(frac)) && body.size() <= 64;
  if (shaped) {
    double v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, std::chars_format::fixed);
    if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(v) && v >= lo && v <= hi) return v;
  }
  char range[64];
  std::snprintf(range, sizeof range, "a number from %g to %g", lo, hi);
  return NotANumber(text, what, range);
}

StatusOr<uint64_t> JsonUint(const nlohmann::json& v, uint64_t max, std::string_view what) {
  if (v.is_number_unsigned() && v.get<uint64_t>() <= max) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0 && static_cast<uint64_t>(v.get<int64_t>()) <= max) {
    return static_cast<uint64_t>(v.get<int64_t>());
  }
  return InvalidArgument(std::string(what) + " must be a whole number from 0 to " + std::to_string(max));
}

StatusOr<int64_t> JsonInt(const nlohmann::json& v, int64_t lo, int64_t hi, std::string_view what) {
  if (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() >= lo && v.get<int64_t>() <= hi) {
    return v.get<int64_t>();
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
      static_cast<int64_t>(v.get<uint64_t>()) >= lo && static_cast<int64_t>(v.get<uint64_t>()) <= hi) {
    return static_cast<int64_t>(v.get<uint64_t>());
  }
  return InvalidArgument(std::string(what) + " must be a whole number from " + std::to_string(lo) + " to " +
                         std::to_string(hi));
}

}  // namespace stb
