// ExportArchive: a component as a plain POSIX (pax) tar archive, gzip- or zstd-compressed,
// written by libarchive as the tree and the blobs are read, so nothing is staged on disk or held.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "browse/browse.h"
#include "repository/blob_stream.h"

namespace stb {

namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

Status ArchiveError(archive* a, const std::string& what) {
  const char* msg = archive_error_string(a);
  return IoError("export: " + what + ": " + (msg ? msg : "libarchive error"));
}

// One entry into the archive: its header, then a file's content as its blobs are read.
Status WriteEntry(Repository& repo, archive* a, const BackupEntry& e, const std::string& name) {
  std::unique_ptr<archive_entry, EntryFree> ae(archive_entry_new());
  archive_entry_set_pathname(ae.get(), name.c_str());
  archive_entry_set_perm(ae.get(), e.mode & 07777);
  archive_entry_set_uid(ae.get(), e.uid);
  archive_entry_set_gid(ae.get(), e.gid);
  archive_entry_set_mtime(ae.get(), e.mtime_ns / 1000000000, e.mtime_ns % 1000000000);
  switch (e.type) {
    case FileNode::Type::kDir:
      archive_entry_set_filetype(ae.get(), AE_IFDIR);
      break;
    case FileNode::Type::kSymlink:
      archive_entry_set_filetype(ae.get(), AE_IFLNK);
      archive_entry_set_symlink(ae.get(), e.target.c_str());
      break;
    case FileNode::Type::kFile:
      archive_entry_set_filetype(ae.get(), AE_IFREG);
      archive_entry_set_size(ae.get(), static_cast<la_int64_t>(e.size));
      break;
  }
  if (archive_write_header(a, ae.get()) != ARCHIVE_OK) return ArchiveError(a, name);
  if (e.type != FileNode::Type::kFile) return Status::Ok();
  uint64_t written = 0;
  RETURN_IF_ERROR(StreamBlobs(repo, e.content, [&](const Bytes& data) {
    if (written + data.size() > e.size) return Corrupt(e.path + ": more content than the backup recorded");
    if (archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
      return ArchiveError(a, name);
    }
    written += data.size();
    return Status::Ok();
  }));
  if (written != e.size) return Corrupt(e.path + ": less content than the backup recorded");
  return Status::Ok();
}

}  // namespace

Status ExportArchive(Repository& repo, const nlohmann::json& snapshot_doc, const std::string& prefix,
                     const std::string& format, int fd) {
  if (format != "tar.gz" && format != "tar.zst") {
    return InvalidArgument("--format must be tar.gz or tar.zst, not '" + format + "'");
  }
  std::string component = prefix.substr(0, prefix.find('/'));
  // A missing component is told before anything is written.
  if (!component.empty() && (!snapshot_doc.contains("components") || !snapshot_doc["components"].is_object() ||
                             !snapshot_doc["components"].contains(component))) {
    return NotFound("the backup has no component '" + component + "'");
  }
  std::unique_ptr<archive, ArchiveFree> a(archive_write_new());
  if (!a) return Internal("export: libarchive could not start");
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "tar format");
  // Names are bytes on Linux and may not be UTF-8: written as they are, not converted.
  if (archive_write_set_format_option(a.get(), "pax", "hdrcharset", "BINARY") != ARCHIVE_OK) {
    return ArchiveError(a.get(), "tar header charset");
  }
  int rc = format == "tar.gz" ? archive_write_add_filter_gzip(a.get()) : archive_write_add_filter_zstd(a.get());
  if (rc != ARCHIVE_OK) return ArchiveError(a.get(), format + " compression");
  // Whole blocks, no padding beyond the tar's own end: the archive is written to a pipe as often
  // as to a file.
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) return ArchiveError(a.get(), "opening the output");
  size_t strip = prefix.empty() ? 0 : prefix.size() + 1;
  size_t count = 0;
  RETURN_IF_ERROR(VisitSnapshotEntries(repo, snapshot_doc, component, [&](const BackupEntry& e) -> StatusOr<bool> {
    if (!IsUnder(e.path, prefix) || e.path.size() <= strip) return true;  // the prefix itself is the archive
    RETURN_IF_ERROR(WriteEntry(repo, a.get(), e, e.path.substr(strip)));
    ++count;
    return true;
  }));
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "finishing the archive");
  if (count == 0) return NotFound("nothing in the backup under '" + prefix + "'");
  return Status::Ok();
}

}  // namespace stb
