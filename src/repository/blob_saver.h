// Stores blobs for a backup: dedups against the index and this session, compresses, encrypts,
// streams packs to the location and commits them from a background thread; writes an index
// object every few packs and at the end. Thread-safe: the archiver's workers call Save concurrently,
// each filling its own open pack (up to kMaxOpenPacks), so no lock is held while a blob is written.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "repository/pack.h"
#include "repository/repository.h"

namespace stb {

struct SaveStats {
  std::atomic<uint64_t> new_blobs{0}, new_bytes{0}, stored_bytes{0}, reused_blobs{0}, reused_bytes{0};
};

class BlobSaver {
 public:
  // compression_level 0 stores blobs uncompressed.
  BlobSaver(Repository& repo, int compression_level);
  ~BlobSaver();
  BlobSaver(const BlobSaver&) = delete;
  BlobSaver& operator=(const BlobSaver&) = delete;

  StatusOr<Id> Save(BlobType type, const uint8_t* data, size_t n);
  // Commits the last pack and writes the index object. After Finish, every saved blob is durable.
  Status Finish();
  const SaveStats& stats() const { return stats_; }

 private:
  struct Finished {
    Id id;
    std::unique_ptr<PackBuilder> pack;
  };
  // Up to this many packs are open at once: one per concurrent Save, so savers do not wait for each
  // other; the bound keeps memory in check on locations that buffer a pending object in memory.
  static constexpr size_t kMaxOpenPacks = 4;
  struct OpenPack {
    std::unique_ptr<PackBuilder> pack;
    std::thread::id last_user;  // a saver gets its own pack back, so a file's blobs stay together
  };
  StatusOr<std::unique_ptr<PackBuilder>> TakePack();
  void ReturnPack(std::unique_ptr<PackBuilder> pack);
  void ReleaseSlot(bool done);  // a pack left the pool for good; done: its saver is finished with it
  void Done();                  // a saver finished flushing the full pack it took
  Status Flush(std::unique_ptr<PackBuilder> pack);
  void SetError(const Status& st);
  void WriterLoop();
  Status FirstError();
  Status SaveIndexLocked();  // q_mu_ held (or the writer stopped): index of the packs committed so far

  Repository& repo_;
  int level_;
  SaveStats stats_;

  std::mutex claim_mu_;  // blobs claimed by this session (being stored or stored)
  std::unordered_set<Id, IdHash> claimed_;

  std::mutex pool_mu_;  // held only to take or give back a pack, never while one is written
  std::condition_variable pool_cv_;
  std::vector<OpenPack> pool_;  // open packs no saver is filling
  size_t open_packs_ = 0;       // in the pool or being filled
  size_t busy_ = 0;             // packs being filled or flushed: Finish waits for them

  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::deque<Finished> queue_;
  bool closing_ = false;
  Status error_;
  std::vector<std::pair<Id, BlobLocation>> new_index_;  // committed packs not yet in an index object
  size_t packs_since_index_ = 0;
  std::thread writer_;
};

}  // namespace stb
