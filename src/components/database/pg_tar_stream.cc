#include "components/database/pg_tar_stream.h"

#include <archive.h>
#include <archive_entry.h>

#include "repository/tree.h"

namespace stb {

TarStreamReader::TarStreamReader(TarBlockSource src) : src_(std::move(src)) {
  a_ = archive_read_new();
  archive_read_support_format_tar(a_);
}

TarStreamReader::~TarStreamReader() {
  if (a_) archive_read_free(a_);
}

long TarStreamReader::Callback(struct archive* a, void* self_ptr, const void** buf) {
  auto* self = static_cast<TarStreamReader*>(self_ptr);
  auto block = self->src_();
  if (!block.ok()) {
    self->src_error_ = block.status();
    archive_set_error(a, EIO, "%s", "the base backup stream failed");
    return -1;
  }
  *buf = block->data();
  return static_cast<long>(block->size());
}

Status TarStreamReader::Error(const std::string& context) {
  if (!src_error_.ok()) return src_error_;
  const char* why = archive_error_string(a_);
  return Corrupt("base backup tar " + context + ": " + (why ? why : "unreadable"));
}

StatusOr<std::optional<TarMember>> TarStreamReader::Next() {
  if (ended_) return std::optional<TarMember>();
  if (!opened_) {
    if (archive_read_open(a_, this, nullptr, Callback, nullptr) != ARCHIVE_OK) return Error("header");
    opened_ = true;
  }
  struct archive_entry* e = nullptr;
  int r = archive_read_next_header(a_, &e);
  if (r == ARCHIVE_EOF) {
    ended_ = true;
    // What follows the end blocks (padding to the server's block size) belongs to no member.
    for (;;) {
      ASSIGN_OR_RETURN(auto block, src_());
      if (block.empty()) break;
    }
    return std::optional<TarMember>();
  }
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return Error("header");
  const char* name = archive_entry_pathname(e);
  TarMember m;
  m.path = name ? name : "";
  while (!m.path.empty() && m.path.back() == '/') m.path.pop_back();
  // PostgreSQL names the WAL it appends to base.tar "./pg_wal/...".
  while (m.path.starts_with("./")) m.path.erase(0, 2);
  if (!IsSafeRelativePath(m.path)) return Corrupt("base backup tar: unsafe member path '" + m.path + "'");
  if (archive_entry_hardlink(e)) return Corrupt("base backup tar: '" + m.path + "' is a hard link (not supported)");
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      m.type = TarMember::Type::kFile;
      break;
    case AE_IFDIR:
      m.type = TarMember::Type::kDir;
      break;
    case AE_IFLNK: {
      m.type = TarMember::Type::kSymlink;
      const char* link = archive_entry_symlink(e);
      m.link = link ? link : "";
      if (m.link.empty()) return Corrupt("base backup tar: symlink '" + m.path + "' has no target");
      break;
    }
    default:
      return Corrupt("base backup tar: '" + m.path + "' has an unsupported type (only files, directories, symlinks)");
  }
  m.mode = static_cast<uint32_t>(archive_entry_perm(e)) & 07777;
  m.uid = static_cast<uint32_t>(archive_entry_uid(e));
  m.gid = static_cast<uint32_t>(archive_entry_gid(e));
  // Checked: a tar header can carry any 64-bit mtime (and a pax header any nanoseconds).
  const int64_t sec = archive_entry_mtime(e), nsec = archive_entry_mtime_nsec(e);
  if (nsec < 0 || nsec >= 1000000000 || __builtin_mul_overflow(sec, int64_t{1000000000}, &m.mtime_ns) ||
      __builtin_add_overflow(m.mtime_ns, nsec, &m.mtime_ns)) {
    return Corrupt("base backup tar: '" + m.path + "' has a modification time out of range");
  }
  if (m.type == TarMember::Type::kFile) {
    if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0) {
      return Corrupt("base backup tar: '" + m.path + "' has no size");
    }
    m.size = static_cast<uint64_t>(archive_entry_size(e));
  }
  return std::optional<TarMember>(std::move(m));
}

StatusOr<size_t> TarStreamReader::Read(uint8_t* buf, size_t n) {
  la_ssize_t r = archive_read_data(a_, buf, n);
  if (r < 0) return Error("data");
  return static_cast<size_t>(r);
}

}  // namespace stb
