#include "wal/archive.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/file_util.h"
#include "core/log.h"

namespace stb {

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Appends "<step> <ms since *t>" to out and restarts *t.
void Lap(std::string& out, const char* step, Clock::time_point* t) {
  auto now = Clock::now();
  out += (out.empty() ? "" : ", ") + std::string(step) + " " +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now - *t).count());
  *t = now;
}

// An outbox entry is an empty file named after the object, '/' as '%'.
std::string OutboxEntry(const std::string& dir, const std::string& location, const std::string& object) {
  std::string flat = object;
  for (char& c : flat) c = c == '/' ? '%' : c;
  return dir + "/" + location + "/" + flat;
}

Status WriteOutboxEntry(const std::string& dir, const std::string& location, const std::string& object) {
  std::string path = OutboxEntry(dir, location, object);
  RETURN_IF_ERROR(MakeDirs(Dirname(path)));
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("creating " + path, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync " + path, errno);
  return FsyncDir(Dirname(path));
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

// A WAL file mapped read-only and populated in one call: no 16 MiB buffer to fault in and copy
// (page faults dominate wal-push's cost on virtual machines).
class MappedFile {
 public:
  ~MappedFile() {
    if (p_ != nullptr && p_ != MAP_FAILED) ::munmap(p_, n_);
  }
  Status Open(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus("wal-push: opening " + path, errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("wal-push: stat " + path, errno);
    if (uint64_t(st.st_size) > kWalMaxSegmentSize) {
      return InvalidArgument(path + " is larger than 64 MiB: WAL segments above 64 MiB are not supported");
    }
    n_ = static_cast<size_t>(st.st_size);
    if (n_ == 0) return Status::Ok();
    p_ = ::mmap(nullptr, n_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (p_ == MAP_FAILED) return ErrnoStatus("wal-push: mapping " + path, errno);
    return Status::Ok();
  }
  std::span<const uint8_t> bytes() const {
    return n_ == 0 ? std::span<const uint8_t>() : std::span<const uint8_t>(static_cast<const uint8_t*>(p_), n_);
  }

 private:
  void* p_ = nullptr;
  size_t n_ = 0;
};

// The WAL file's kind decides what it must look like and where its system identifier comes from.
StatusOr<uint64_t> CheckWalFile(const WalName& n, std::span<const uint8_t> data, uint64_t control_sysid,
                                uint32_t* seg_size) {
  *seg_size = 0;
  if (n.kind == WalName::kSegment || n.kind == WalName::kPgPartial) {
    ASSIGN_OR_RETURN(WalPageHeader h, ValidateSegment(n, data, control_sysid));
    *seg_size = h.seg_size;
    return h.sysid;
  }
  if (control_sysid == 0) {
    return InvalidArgument(n.FileName() + ": cannot tell the cluster: global/pg_control is unreadable (run wal-push " +
                           "in the data directory, as archive_command does, or pass --pgdata)");
  }
  if (n.kind == WalName::kHistory) {
    std::string text(data.begin(), data.end());
    ASSIGN_OR_RETURN(auto entries, ParseTimelineHistory(text));
    if (!entries.empty() && entries.back().tli >= n.tli) {
      return Corrupt(n.FileName() + ": lists timeline " + std::to_string(entries.back().tli) + ", not below its own");
    }
  }
  return control_sysid;
}

}  // namespace

Status WriteWalOutboxEntry(const std::string& outbox_dir, const std::string& location, const std::string& object) {
  return WriteOutboxEntry(outbox_dir, location, object);
}

void RemoveWalOutboxEntry(const std::string& outbox_dir, const std::string& location, const std::string& object) {
  ::unlink(OutboxEntry(outbox_dir, location, object).c_str());
}

StatusOr<uint64_t> ReadSystemIdentifier(const std::string& pgdata) {
  std::string path = pgdata + "/global/pg_control";
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("opening " + path, errno);
  uint8_t b[8];
  ASSIGN_OR_RETURN(size_t n, PreadFull(fd.get(), b, 8, 0, path));
  if (n != 8) return Corrupt(path + " is shorter than 8 bytes");
  uint64_t v;
  std::memcpy(&v, b, 8);  // host order, as PostgreSQL writes it
  if (v == 0) return Corrupt(path + ": system identifier 0");
  return v;
}

size_t DrainWalOutbox(const Repository& repo, Storage& local, const std::vector<WalOffsite>& offsite,
                      const std::string& outbox_dir, double seconds) {
  auto start = Clock::now();
  size_t left = 0;
  for (const auto& loc : offsite) {
    std::string dir = outbox_dir + "/" + loc.name;
    for (const auto& entry : ListDir(dir)) {
      if (Since(start) > seconds) {
        ++left;
        continue;
      }
      std::string object = entry;
      for (char& c : object) c = c == '%' ? '/' : c;
      std::string cluster;
      auto n = ParseWalObjectName(object, &cluster);
      if (!n.ok()) {
        LogWarn("wal outbox: ignoring " + dir + "/" + entry + " (" + n.status().message() + ")");
        continue;
      }
      WalStore store(repo, cluster);
      WalSealed s;
      s.name = object;
      auto sealed = local.Get(object);
      auto opened = sealed.ok() ? store.ReadObject(local, object) : StatusOr<WalObject>(sealed.status());
      Status st = opened.status();
      if (opened.ok()) {
        s.sealed = std::move(*sealed);
        s.content_id = opened->content_id;
        st = store.PutSealed(*loc.storage, s);
      }
      if (st.ok() || st.code() == Code::kNotFound) {  // copied, or pruned meanwhile
        ::unlink((dir + "/" + entry).c_str());
      } else {
        LogWarn("wal outbox: " + object + " to " + loc.name + ": " + st.message());
        ++left;
      }
    }
  }
  return left;
}

StatusOr<WalPushResult> PushWal(const Repository& repo, Storage& local, const std::vector<WalOffsite>& offsite,
                                const WalPushOptions& o) {
  ASSIGN_OR_RETURN(WalName n, ParsePgWalFileName(Basename(o.path)));
  auto lap = Clock::now();
  WalPushResult res;
  std::string pgdata = o.pgdata.empty() ? Dirname(Dirname(o.path)) : o.pgdata;
  auto control = ReadSystemIdentifier(pgdata);
  MappedFile file;
  RETURN_IF_ERROR(file.Open(o.path));
  std::span<const uint8_t> data = file.bytes();
  uint32_t seg_size = 0;
  ASSIGN_OR_RETURN(uint64_t sysid, CheckWalFile(n, data, control.ok() ? *control : 0, &seg_size));
  Lap(res.timing, "read", &lap);
  WalStore store(repo, WalStore::ClusterOf(repo, sysid), o.compression);
  WalSealed sealed = store.Seal(n, sysid, seg_size, data);
  Lap(res.timing, "seal", &lap);
  res.object = sealed.name;
  res.cluster = store.cluster();
  if (n.kind == WalName::kSegment && seg_size != 0) res.end_lsn = (n.Segno(seg_size) + 1) * uint64_t{seg_size};
  RETURN_IF_ERROR(store.PutSealed(local, sealed).Context("wal-push " + n.FileName() + " to the local repository"));
  res.stored_in.push_back("local");
  Lap(res.timing, "local", &lap);

  if (!o.outbox_dir.empty()) DrainWalOutbox(repo, local, offsite, o.outbox_dir, o.outbox_drain_seconds);
  bool required_found = o.required_offsite.empty();
  for (const auto& loc : offsite) {
    if (loc.name != o.required_offsite) continue;
    required_found = true;
    RETURN_IF_ERROR(store.PutSealed(*loc.storage, sealed)
                        .Context("wal-push " + n.FileName() + " to " + loc.name + " (WAL_PUSH_OFFSITE)"));
    res.stored_in.push_back(loc.name);
  }
  if (!required_found) {
    return InvalidArgument("WAL_PUSH_OFFSITE=" + o.required_offsite + " is not a configured cloud location");
  }

  // The others in parallel, each first noted in the outbox so that a copy cut short is retried.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    size_t done = 0;
    std::vector<std::string> ok;
  };
  auto shared = std::make_shared<Shared>();
  auto sealed_ptr = std::make_shared<WalSealed>(std::move(sealed));
  size_t started = 0;
  for (const auto& loc : offsite) {
    if (loc.name == o.required_offsite) continue;
    if (!o.outbox_dir.empty()) {
      Status w = WriteOutboxEntry(o.outbox_dir, loc.name, sealed_ptr->name);
      if (!w.ok()) res.warnings.push_back("wal outbox: " + w.message());
    }
    ++started;
    std::thread([shared, sealed_ptr, loc, &repo, cluster = store.cluster(), outbox = o.outbox_dir] {
      WalStore s(repo, cluster);
      Status put = s.PutSealed(*loc.storage, *sealed_ptr);
      if (put.ok() && !outbox.empty()) ::unlink(OutboxEntry(outbox, loc.name, sealed_ptr->name).c_str());
      if (!put.ok()) LogWarn("wal-push " + sealed_ptr->name + " to " + loc.name + ": " + put.message());
      std::lock_guard<std::mutex> g(shared->mu);
      if (put.ok()) shared->ok.push_back(loc.name);
      shared->done++;
      shared->cv.notify_all();
    }).detach();
  }
  std::unique_lock<std::mutex> g(shared->mu);
  shared->cv.wait_for(g, std::chrono::duration<double>(o.offsite_timeout_seconds),
                      [&] { return shared->done == started; });
  res.stored_in.insert(res.stored_in.end(), shared->ok.begin(), shared->ok.end());
  res.copies_running = shared->done != started;
  Lap(res.timing, "offsite", &lap);
  if (res.stored_in.size() < 1 + offsite.size()) {
    res.warnings.push_back(n.FileName() + " reached " + std::to_string(res.stored_in.size()) + " of " +
                           std::to_string(1 + offsite.size()) +
                           " locations; the rest are in the outbox (the next wal-push or `replicate` copies them)");
  }
  return res;
}

Status FetchWal(const Repository& repo, Storage& from, const WalFetchOptions& o) {
  auto parsed = ParsePgWalFileName(o.file);
  if (!parsed.ok()) return NotFound(parsed.status().message());
  WalName n = *parsed;
  uint64_t sysid = o.system_id;
  if (sysid == 0) {
    ASSIGN_OR_RETURN(sysid, ReadSystemIdentifier(o.pgdata.empty() ? "." : o.pgdata));
  }
  WalStore store(repo, WalStore::ClusterOf(repo, sysid));
  auto start = Clock::now();
  for (int attempt = 0;; ++attempt) {
    StatusOr<Bytes> got = NotFound("");
    if (n.kind == WalName::kSegment) {
      // The segment size comes from the object itself, or (for parts) from any stored segment.
      auto whole = store.Read(from, n);
      if (whole.ok()) {
        got = std::move(whole->raw);
      } else if (whole.status().code() == Code::kNotFound) {
        // Only parts need the segment size, which costs reading one stored segment: look first.
        auto parts = from.List(store.ObjectName(n) + ".r");
        auto seg_size = !parts.ok()      ? StatusOr<uint32_t>(parts.status())
                        : parts->empty() ? StatusOr<uint32_t>(0u)
                                         : store.ProbeSegmentSize(from);
        if (!seg_size.ok()) {
          got = seg_size.status();
        } else if (*seg_size != 0) {
          auto prefix = store.ReadSegmentOrPrefix(from, n.tli, n.Segno(*seg_size), *seg_size);
          if (!prefix.ok()) {
            got = prefix.status();
          } else if (prefix->has_value()) {
            Bytes b = std::move(**prefix);
            b.resize(*seg_size, 0);  // PG stops at the zero page and follows the history or promotes
            got = std::move(b);
          }
        }
      } else {
        got = whole.status();
      }
    } else {
      auto obj = store.Read(from, n);
      got = obj.ok() ? StatusOr<Bytes>(std::move(obj->raw)) : StatusOr<Bytes>(obj.status());
    }
    if (got.ok()) {
      std::string tmp = o.dest + ".stb-tmp";
      Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd.valid()) return ErrnoStatus("creating " + tmp, errno);
      Status w = WriteFull(fd.get(), got->data(), got->size(), tmp);
      if (w.ok() && ::close(fd.release()) != 0) w = ErrnoStatus("closing " + tmp, errno);
      if (w.ok() && ::rename(tmp.c_str(), o.dest.c_str()) != 0) w = ErrnoStatus("renaming " + tmp, errno);
      if (!w.ok()) ::unlink(tmp.c_str());
      return w;
    }
    Code c = got.status().code();
    if (c == Code::kNotFound) return NotFound(o.file + " is not in " + from.Describe());
    if (c != Code::kUnavailable || Since(start) >= o.retry_seconds) return got.status().Context(o.file);
    LogWarn("wal-fetch " + o.file + ": " + got.status().message() + "; retrying");
    std::this_thread::sleep_for(std::chrono::seconds(std::min(attempt + 1, 5)));
  }
}

}  // namespace stb
