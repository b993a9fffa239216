// Status and StatusOr: how expected failures travel between modules (no exception crosses a
// module boundary). A message says what failed, where, and which setting to check.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace stb {

enum class Code {
  kOk,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kCorrupt,
  kPermission,
  kUnavailable,
  kIo,
  kInternal
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return {}; }
  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // Prefixes context ("reading data/ab/abcd: ") while keeping the code.
  Status Context(const std::string& what) const {
    if (ok()) return *this;
    Status s(code_, what + ": " + message_);
    s.retry_after_ = retry_after_;
    return s;
  }
  // For kUnavailable: how long the server asked us to wait (HTTP Retry-After), 0 = no hint.
  double retry_after() const { return retry_after_; }
  Status WithRetryAfter(double seconds) const {
    Status s = *this;
    s.retry_after_ = seconds;
    return s;
  }
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
  double retry_after_ = 0;
};

inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status Corrupt(std::string m) { return {Code::kCorrupt, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermission, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status IoError(std::string m) { return {Code::kIo, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
// An errno-based I/O failure: "<what>: <strerror>".
Status ErrnoStatus(const std::string& what, int err);

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Status status) : v_(std::move(status)) {}  // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace stb

#define STB_CONCAT_INNER(a, b) a##b
#define STB_CONCAT(a, b) STB_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)   \
  do {                          \
    ::stb::Status _st = (expr); \
    if (!_st.ok()) return _st;  \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(STB_CONCAT(_sor_, __LINE__), lhs, expr)
