#include "components/database/pg_chunk_saver.h"

#include <algorithm>
#include <cstring>

#include "core/crc32c.h"

namespace stb {

namespace {
// Blocks hold many chunks (and many small members), so a chunk costs no allocation and no copy;
// only the undecided tail of a block moves to the next one. Memory: at most kMaxBlocks blocks
// (a few members of just over a max-size chunk each could otherwise pin one block per chunk).
constexpr size_t kBlockBytes = 16 << 20;
constexpr size_t kMaxQueued = 16;
constexpr size_t kMaxBlocks = 6;
}  // namespace

struct ChunkSaver::Block {
  Bytes data;
};

ChunkSaver::ChunkSaver(BlobSaver& saver, int workers, Progress& progress) : saver_(saver), progress_(progress) {
  for (int i = 0; i < std::max(1, workers); ++i) threads_.emplace_back([this] { Work(); });
}

ChunkSaver::~ChunkSaver() {
  Close().IgnoreError();
  // Dropping the last references returns blocks to free_, which goes last.
  block_.reset();
  queue_.clear();
  free_.clear();
}

StatusOr<ChunkSaver::BlockRef> ChunkSaver::NewBlock() {
  std::unique_ptr<Block> b;
  {
    std::unique_lock lk(mu_);
    space_.wait(lk, [&] { return !free_.empty() || blocks_ < kMaxBlocks || !error_.ok(); });
    if (!error_.ok()) return error_;
    if (!free_.empty()) {
      b = std::move(free_.back());
      free_.pop_back();
    } else {
      ++blocks_;
    }
  }
  if (!b) {
    b = std::make_unique<Block>();
    b->data.resize(kBlockBytes);
  }
  return BlockRef(b.release(), [this](Block* p) { Recycle(p); });
}

void ChunkSaver::Recycle(Block* b) {
  std::unique_ptr<Block> own(b);
  {
    std::lock_guard lk(mu_);
    free_.push_back(std::move(own));
  }
  space_.notify_all();
}

StatusOr<ChunkSaver::Member> ChunkSaver::CutMember(const Chunker& chunker, size_t node, uint64_t size,
                                                   const ReadFn& read) {
  const size_t max = chunker.params().max_size;
  if (max + (1u << 20) > kBlockBytes) return Internal("chunker: max chunk size too large for a base backup block");
  // A member starts in the current block if it fits whole, or a whole chunk does.
  if (!block_ || kBlockBytes - used_ < std::min<uint64_t>(size + 1, max + 1)) {
    block_.reset();  // back to free_ once its chunks are saved
    ASSIGN_OR_RETURN(block_, NewBlock());
    used_ = 0;
  }
  Member m;
  uint8_t* base = block_->data.data();
  size_t pos = used_, end = used_;
  bool eof = false;
  for (;;) {
    // Whole chunks only need `max` bytes in view: FindBoundary then always decides.
    size_t want = std::min(kBlockBytes, pos + max);
    while (!eof && end < want) {
      ASSIGN_OR_RETURN(size_t got, read(base + end, want - end));
      if (got == 0) eof = true;
      m.crc = Crc32c(m.crc, base + end, got);
      end += got;
      m.bytes += got;
    }
    size_t cut = chunker.FindBoundary(base + pos, end - pos, eof);
    if (cut == 0 && eof) break;  // nothing left
    if (cut == 0) {
      // The block is full and its tail undecided: the tail moves to a fresh block.
      ASSIGN_OR_RETURN(BlockRef next, NewBlock());
      std::memcpy(next->data.data(), base + pos, end - pos);
      end -= pos;
      pos = 0;
      block_ = std::move(next);
      base = block_->data.data();
      continue;
    }
    RETURN_IF_ERROR(Submit(Job{node, m.chunks++, block_, base + pos, cut}));
    progress_.bytes_done += cut;
    pos += cut;
  }
  used_ = end;
  return m;
}

Status ChunkSaver::Submit(Job j) {
  std::unique_lock lk(mu_);
  space_.wait(lk, [&] { return queue_.size() < kMaxQueued || !error_.ok(); });
  if (!error_.ok()) return error_;
  queue_.push_back(std::move(j));
  ready_.notify_one();
  return Status::Ok();
}

Status ChunkSaver::Close() {
  {
    std::lock_guard lk(mu_);
    closing_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  return error_;
}

void ChunkSaver::Work() {
  for (;;) {
    Job j;  // released outside mu_: its block's recycling takes mu_
    bool failed;
    {
      std::unique_lock lk(mu_);
      ready_.wait(lk, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      j = std::move(queue_.front());
      queue_.pop_front();
      space_.notify_one();
      failed = !error_.ok();
    }
    if (failed) continue;  // the backup failed: drop the rest
    auto id = saver_.Save(BlobType::kData, j.data, j.size);
    std::lock_guard lk(mu_);
    if (!id.ok()) {
      if (error_.ok()) error_ = id.status();
      space_.notify_all();
    } else {
      results_.push_back({j.node, j.slot, *id});
    }
  }
}

}  // namespace stb
