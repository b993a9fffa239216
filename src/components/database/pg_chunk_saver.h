// Cuts the file members of a base backup into content-defined chunks and saves them on worker
// threads; the chunks point into large recycled blocks instead of being copied one by one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/bytes.h"
#include "core/progress.h"
#include "core/status.h"
#include "repository/blob_saver.h"
#include "repository/repository.h"  // Chunker, ReadFn

namespace stb {

class ChunkSaver {
 public:
  ChunkSaver(BlobSaver& saver, int workers, Progress& progress);
  ~ChunkSaver();
  ChunkSaver(const ChunkSaver&) = delete;
  ChunkSaver& operator=(const ChunkSaver&) = delete;

  struct Member {
    uint64_t bytes = 0;  // how many `read` gave
    uint32_t crc = 0;    // CRC32C of them
    size_t chunks = 0;
  };
  // Reads one member (`read` answers 0 at its end; `size` is what its header says, a hint) and
  // queues its chunks as slots 0, 1, ... of `node`. The cuts are those ChunkStream makes over
  // the same bytes: FastCDC restarted at the member's first byte.
  StatusOr<Member> CutMember(const Chunker& chunker, size_t node, uint64_t size, const ReadFn& read);

  // Waits for every chunk; the first error of any.
  Status Close();
  struct Saved {
    size_t node, slot;
    Id id;
  };
  // After Close.
  const std::vector<Saved>& results() const { return results_; }

 private:
  struct Block;
  using BlockRef = std::shared_ptr<Block>;
  struct Job {
    size_t node = 0, slot = 0;
    BlockRef block;  // keeps the chunk's bytes alive until saved
    const uint8_t* data = nullptr;
    size_t size = 0;
  };
  StatusOr<BlockRef> NewBlock();  // waits while kMaxBlocks exist and none is free
  void Recycle(Block* b);
  Status Submit(Job j);
  void Work();

  BlobSaver& saver_;
  Progress& progress_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<Job> queue_;
  std::vector<std::unique_ptr<Block>> free_;  // blocks no chunk points into any more
  size_t blocks_ = 0;                         // allocated, free or not
  bool closing_ = false;
  Status error_;
  std::vector<Saved> results_;
  BlockRef block_;  // the block being filled
  size_t used_ = 0;
  std::vector<std::thread> threads_;
};

}  // namespace stb
