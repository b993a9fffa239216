// Checked numbers from outside bytes (HTTP headers, XML, JSON, RESP, INFO, TOML, environment):
// the one place decimal text becomes a number, with no exception, overflow or silent truncation.
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace stb {

// Decimal digits only (no sign, space or '+'), at most `max`. The error is InvalidArgument
// "<what>: '<text>' is not a whole number from 0 to <max>", the text cut to 40 characters.
StatusOr<uint64_t> ParseUint(std::string_view text, uint64_t max = std::numeric_limits<uint64_t>::max(),
                             std::string_view what = "number");

// Hexadecimal digits only (either case), 1 to max_digits of them (at most 16). The error names `what`.
StatusOr<uint64_t> ParseHex(std::string_view text, size_t max_digits, std::string_view what = "number");

// An optional '-' then decimal digits, within [lo, hi].
StatusOr<int64_t> ParseInt(std::string_view text, int64_t lo, int64_t hi, std::string_view what = "number");

// Decimal digits, a value above `cap` (however many digits) read as `cap`: for hints such as
// Retry-After where a huge number means "as long as you allow". nullopt if not all digits.
std::optional<uint64_t> ParseUintCapped(std::string_view text, uint64_t cap);

// An optional '-', digits and at most one '.' ("12", "0.5"); no exponent, inf or nan; within [lo, hi].
StatusOr<double> ParseDecimal(std::string_view text, double lo, double hi, std::string_view what = "number");

// A JSON value that must be a whole number in [0, max] (or [lo, hi]): a float, a string, a
// negative or too large number is an error naming `what`, never a wrapped or undefined cast.
StatusOr<uint64_t> JsonUint(const nlohmann::json& v, uint64_t max, std::string_view what);
StatusOr<int64_t> JsonInt(const nlohmann::json& v, int64_t lo, int64_t hi, std::string_view what);

// The text as it may appear in an error message: at most 40 characters, control bytes as '?'.
std::string QuoteForError(std::string_view text);

}  // namespace stb
