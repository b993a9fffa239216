// Reads an ordered list of blobs (a database dump, an RDB file, a tree) with a window of reads
// running ahead in parallel, so a restore from a cloud location runs at its bandwidth, not its latency.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "repository/repository.h"

namespace stb {

struct BlobStreamOptions {
  // Reads in flight at once; 0 takes the location's parallelism (its *_PARALLEL_JOBS for a cloud
  // location, 4 for a local directory).
  int window = 0;
  // Neighbouring blobs of one pack, in list order, are fetched by one ranged read while the span
  // read and the decoded bytes each stay within max_span and the holes between them within max_gap.
  uint64_t max_span = 4u << 20;
  uint64_t max_gap = 64u << 10;
};

// Memory bound: at most `window` reads are held at once, whether in flight or decoded and waiting
// for the reader; a read is one blob or a run of neighbours within max_span. So the stream holds
// at most window x max(max_span, largest blob) decoded bytes, plus the sealed bytes of the reads in
// flight: with the defaults and a database dump's 2 MiB chunks, under 2 x 4 x 4 MiB = 32 MiB.
// Every blob is verified against its id (Repository::DecodeBlob) before it is handed out.
class BlobStream {
 public:
  BlobStream(Repository& repo, std::vector<Id> ids, BlobStreamOptions opt = {});
  ~BlobStream();  // stops reading ahead and waits for the reads in flight
  BlobStream(const BlobStream&) = delete;
  BlobStream& operator=(const BlobStream&) = delete;

  // The next blob in list order into out; false after the last. An id missing from the index
  // fails the first call, before any blob is handed out. After an error every later call returns
  // it again and nothing more is read.
  StatusOr<bool> Next(Bytes& out);

  int window() const { return window_; }
  uint64_t peak_held_bytes() const;  // decoded bytes held at once, at most (see the bound above)

 private:
  struct Read {  // one ranged read: blobs [first, first + count) of the list, all in one pack
    Id pack;
    uint64_t start = 0, end = 0;
    size_t first = 0, count = 0;
  };
  struct Slot {
    bool ready = false;
    Status status;
    std::vector<Bytes> blobs;
    uint64_t bytes = 0;
  };
  void Plan(const BlobStreamOptions& opt);
  void Worker();
  Status Fetch(const Read& read, std::vector<Bytes>& blobs) const;

  Repository& repo_;
  std::vector<Id> ids_;
  std::vector<Read> reads_;
  int window_ = 1;
  Status plan_error_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;  // read r lives in slots_[r % window_] from its fetch to its last blob
  size_t next_fetch_ = 0;    // the next read a worker takes
  size_t current_ = 0;       // the read the caller is in
  size_t taken_ = 0;         // blobs of the current read handed out
  bool stop_ = false;        // destructor or an error: no more reads start
  uint64_t held_ = 0, peak_held_ = 0;
  Status error_;  // sticky, once the caller has met it
  std::vector<std::thread> workers_;
};

// Passes every blob of ids, in order, to sink; stops at the first error of either.
Status StreamBlobs(Repository& repo, std::vector<Id> ids, const std::function<Status(const Bytes&)>& sink,
                   BlobStreamOptions opt = {});

// The blob ids that a snapshot entry lists under key ("blobs", "tree"); a bad one is kCorrupt.
StatusOr<std::vector<Id>> EntryBlobIds(const nlohmann::json& entry, const std::string& key);

}  // namespace stb
