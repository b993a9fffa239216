// Reads one tar archive of a base backup as it arrives (libarchive over a callback that yields
// the archive's CopyData payloads) and turns its members into safe, typed entries: only plain
// files, directories and symlinks under safe relative paths; anything else is an error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/status.h"

struct archive;

namespace stb {

struct TarMember {
  enum class Type { kFile, kDir, kSymlink };
  std::string path;  // relative, no trailing '/'
  Type type = Type::kFile;
  uint32_t mode = 0;  // permission bits (07777)
  uint32_t uid = 0, gid = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  std::string link;  // symlink target
};

// Yields the archive's next block of bytes (valid until the next call); empty at its end.
using TarBlockSource = std::function<StatusOr<std::span<const uint8_t>>()>;

class TarStreamReader {
 public:
  explicit TarStreamReader(TarBlockSource src);
  ~TarStreamReader();
  TarStreamReader(const TarStreamReader&) = delete;
  TarStreamReader& operator=(const TarStreamReader&) = delete;

  // The next member, nullopt at the end of the archive (the source is then drained to its end).
  StatusOr<std::optional<TarMember>> Next();
  // Content of the current member; 0 at its end.
  StatusOr<size_t> Read(uint8_t* buf, size_t n);

 private:
  static long Callback(struct archive* a, void* self, const void** buf);  // la_ssize_t
  Status Error(const std::string& context);
  TarBlockSource src_;
  struct archive* a_ = nullptr;
  Status src_error_;
  bool opened_ = false, ended_ = false;
};

}  // namespace stb
