#include "redisstream/aof_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "redisstream/restore_plan.h"

namespace stb {

Status AofIncrEncoder::Add(const RedisStreamObject& seg, std::string& out) {
  if (!split_) {
    split_ = std::make_unique<RespCommandSplitter>(seg.start, seg.db, static_cast<int>(seg.multi_depth));
    carry_start_ = seg.start;
  } else if (seg.start != split_->offset()) {
    return Corrupt("stream segment at " + std::to_string(seg.start) + " does not follow the previous one (ends at " +
                   std::to_string(split_->offset()) + ")");
  }
  carry_.append(reinterpret_cast<const char*>(seg.raw.data()), seg.raw.size());
  RETURN_IF_ERROR(split_->Feed(std::span<const uint8_t>(seg.raw.data(), seg.raw.size()), [&](const RespCommandInfo& c) {
    if (c.begin < base_ || c.end > cut_) return;
    if (c.name == "PING" || c.name == "REPLCONF") return;
    if (!started_) {
      started_ = true;
      if (c.name != "SELECT" && split_->db() >= 0) {
        const std::string db = std::to_string(split_->db());
        out += "*2\r\n$6\r\nSELECT\r\n$" + std::to_string(db.size()) + "\r\n" + db + "\r\n";
      }
    }
    const int64_t ms = RedisArrivalAt(seg, c.end);
    const int64_t ts = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    if (ts != last_ts_) {
      out += "#TS:" + std::to_string(ts) + "\r\n";
      last_ts_ = ts;
    }
    out.append(carry_, c.begin - carry_start_, c.end - c.begin);
    ++commands_;
  }));
  const uint64_t keep_from = split_->boundary();
  carry_.erase(0, keep_from - carry_start_);
  carry_start_ = keep_from;
  return Status::Ok();
}

namespace {

bool SingleComponent(const std::string& n) {
  return !n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos && n.find('\0') == std::string::npos;
}

Status WriteAll(int fd, const uint8_t* p, size_t n, const std::string& what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("writing " + what, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

StatusOr<Fd> CreateIn(int dir, const std::string& name) {
  Fd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640));
  if (!fd.valid()) return ErrnoStatus("creating " + name, errno);
  return fd;
}

Status Sync(int fd, const std::string& what) {
  if (::fsync(fd) != 0) return ErrnoStatus("fsync " + what, errno);
  return Status::Ok();
}

std::string RandomTag() {
  std::random_device rd;
  char buf[17];
  snprintf(buf, sizeof buf, "%08x%08x", rd(), rd());
  return buf;
}

}  // namespace

StatusOr<std::unique_ptr<AofDirWriter>> AofDirWriter::Create(int parent_fd, AofNames names) {
  if (!SingleComponent(names.dirname) || !SingleComponent(names.filename)) {
    return InvalidArgument("Redis' appenddirname and appendfilename must be plain names without '/'");
  }
  std::unique_ptr<AofDirWriter> w(new AofDirWriter());
  w->parent_ = parent_fd;
  w->names_ = std::move(names);
  w->tag_ = RandomTag();
  w->temp_ = w->names_.dirname + ".stb-" + w->tag_;
  if (::mkdirat(parent_fd, w->temp_.c_str(), 0750) != 0) return ErrnoStatus("creating " + w->temp_, errno);
  w->dir_ = Fd(::openat(parent_fd, w->temp_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!w->dir_.valid()) return ErrnoStatus("opening " + w->temp_, errno);
  const std::string& f = w->names_.filename;
  ASSIGN_OR_RETURN(w->base_, CreateIn(w->dir_.get(), f + ".1.base.rdb"));
  ASSIGN_OR_RETURN(w->incr_, CreateIn(w->dir_.get(), f + ".1.incr.aof"));
  return w;
}

Status AofDirWriter::AppendBase(std::span<const uint8_t> bytes) {
  return WriteAll(base_.get(), bytes.data(), bytes.size(), temp_ + "/" + names_.filename + ".1.base.rdb");
}

Status AofDirWriter::AppendIncr(std::string_view bytes) {
  return WriteAll(incr_.get(), reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                  temp_ + "/" + names_.filename + ".1.incr.aof");
}

Status AofDirWriter::Seal() {
  if (sealed_) return Status::Ok();
  const std::string& f = names_.filename;
  const std::string manifest = "file " + f + ".1.base.rdb seq 1 type b\nfile " + f + ".1.incr.aof seq 1 type i\n";
  ASSIGN_OR_RETURN(Fd m, CreateIn(dir_.get(), f + ".manifest"));
  RETURN_IF_ERROR(
      WriteAll(m.get(), reinterpret_cast<const uint8_t*>(manifest.data()), manifest.size(), f + ".manifest"));
  RETURN_IF_ERROR(Sync(m.get(), f + ".manifest"));
  RETURN_IF_ERROR(Sync(base_.get(), f + ".1.base.rdb"));
  RETURN_IF_ERROR(Sync(incr_.get(), f + ".1.incr.aof"));
  RETURN_IF_ERROR(Sync(dir_.get(), temp_));
  sealed_ = true;
  return Status::Ok();
}

void AofDirWriter::Abandon() {
  if (committed_) return;
  const std::string& f = names_.filename;
  for (const std::string& n : {f + ".1.base.rdb", f + ".1.incr.aof", f + ".manifest"}) {
    (void)::unlinkat(dir_.get(), n.c_str(), 0);
  }
  (void)::unlinkat(parent_, temp_.c_str(), AT_REMOVEDIR);
}

// The swap is one renameat2: RENAME_EXCHANGE when <dirname> exists (the old directory then
// carries the temporary name, and is renamed aside after), RENAME_NOREPLACE when it does not. A
// crash at any point leaves <dirname> whole, old or new; two plain renames could leave none.
StatusOr<std::string> AofDirWriter::Commit() {
  RETURN_IF_ERROR(Seal());
  struct stat st;
  bool exists = true;
  if (::fstatat(parent_, names_.dirname.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno != ENOENT) return ErrnoStatus("stat " + names_.dirname, errno);
    exists = false;
  } else if (!S_ISDIR(st.st_mode)) {
    return InvalidArgument(names_.dirname + " in the Redis data directory is not a directory: move it away");
  }
  const unsigned flags = exists ? RENAME_EXCHANGE : RENAME_NOREPLACE;
  if (::renameat2(parent_, temp_.c_str(), parent_, names_.dirname.c_str(), flags) != 0) {
    const int e = errno;
    if (exists && (e == EINVAL || e == ENOSYS)) {
      return InvalidArgument("the file system of the Redis data directory cannot exchange two directories "
                                "atomically (renameat2 RENAME_EXCHANGE): move " +
                                names_.dirname + " aside yourself and run the restore again (the restored one is "
                                "left as " + temp_ + ")");
    }
    return ErrnoStatus("swapping " + temp_ + " into place as " + names_.dirname, e);
  }
  committed_ = true;
  RETURN_IF_ERROR(Sync(parent_, "the AOF's parent directory"));
  if (!exists) return std::string();
  // The old directory now has the temporary name: give it a name that says what it is.
  std::string replaced = names_.dirname + ".stb-replaced-" + tag_;
  if (::renameat2(parent_, temp_.c_str(), parent_, replaced.c_str(), RENAME_NOREPLACE) != 0) {
    replaced = temp_;  // still kept, under the temporary name
  } else {
    RETURN_IF_ERROR(Sync(parent_, "the AOF's parent directory"));
  }
  return replaced;
}

}  // namespace stb
