// Byte buffers, fixed-size ids and hex encoding shared by every module.
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace stb {

// Leaves new elements uninitialised on resize: buffers that are about to be overwritten (reads,
// decryption, compression) are not zero-filled first, which halves memory traffic and keeps
// untouched pages out of the resident set.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Bytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;

// Hex (lower case); defined in core/encoding.cc with the other encodings.
std::string ToHex(const uint8_t* data, size_t n);
inline std::string ToHex(const Bytes& b) { return ToHex(b.data(), b.size()); }
// Returns nullopt on odd length or a non-hex character.
std::optional<Bytes> FromHex(std::string_view hex);

inline std::string_view AsString(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A 32-byte identifier: blob ids (HMAC-SHA256) and object ids (SHA-256).
struct Id {
  std::array<uint8_t, 32> b{};
  std::string Hex() const { return ToHex(b.data(), b.size()); }
  static std::optional<Id> FromHex(std::string_view hex);
  bool operator==(const Id&) const = default;
  // Byte order, eight bytes at a time: ids are uniformly random, so the first word nearly always
  // decides, and the index's binary searches and sorts avoid a memcmp call per comparison.
  std::strong_ordering operator<=>(const Id& o) const noexcept {
    for (size_t i = 0; i < b.size(); i += 8) {
      uint64_t x, y;
      std::memcpy(&x, b.data() + i, 8);
      std::memcpy(&y, o.b.data() + i, 8);
      if (x != y) {
        if constexpr (std::endian::native == std::endian::little) {
          x = __builtin_bswap64(x);
          y = __builtin_bswap64(y);
        }
        return x <=> y;
      }
    }
    return std::strong_ordering::equal;
  }
};

struct IdHash {
  size_t operator()(const Id& id) const noexcept {
    size_t h;  // ids are uniformly random: the first bytes are a perfect hash
    std::memcpy(&h, id.b.data(), sizeof h);
    return h;
  }
};

inline void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint32_t GetU32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
inline void PutU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace stb
