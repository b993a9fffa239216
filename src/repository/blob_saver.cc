#include "repository/blob_saver.h"

#include <nlohmann/json.hpp>

#include "compress/zstd_codec.h"

namespace stb {

namespace {
// Finished packs waiting for their commit (fsync and rename); packs are streamed, so this bounds
// open files and unsynced data rather than memory.
constexpr size_t kMaxQueuedPacks = 2;
// An index object is written after this many packs, so the work of a backup that is killed is
// found (and not stored again) by the next one; the snapshot still comes only at the end.
constexpr size_t kPacksPerIndex = 16;
// Or after this many entries: packs of small files hold ~16,000 blobs each, and the entries waiting
// (80 bytes each) and their text were most of a full backup's peak at a million files.
constexpr size_t kEntriesPerIndex = 65536;
}  // namespace

BlobSaver::BlobSaver(Repository& repo, int compression_level) : repo_(repo), level_(compression_level) {
  writer_ = std::thread([this] { WriterLoop(); });
}

BlobSaver::~BlobSaver() {
  {
    std::lock_guard<std::mutex> g(q_mu_);
    closing_ = true;
  }
  q_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

Status BlobSaver::FirstError() {
  std::lock_guard<std::mutex> g(q_mu_);
  return error_;
}

StatusOr<Id> BlobSaver::Save(BlobType type, const uint8_t* data, size_t n) {
  Id id = repo_.hmac().Compute(data, n);
  bool fresh;
  {
    std::lock_guard<std::mutex> g(claim_mu_);
    fresh = !repo_.index().contains(id) && claimed_.insert(id).second;
  }
  if (!fresh) {
    stats_.reused_blobs++;
    stats_.reused_bytes += n;
    return id;
  }
  thread_local Bytes compressed, sealed;
  const uint8_t* body = data;
  size_t body_len = n;
  if (level_ > 0 && CompressIfSmaller(data, n, level_, compressed)) {
    body = compressed.data();
    body_len = compressed.size();
  }
  sealed.clear();
  repo_.aead().Seal(body, body_len, id.b.data(), id.b.size(), sealed);
  stats_.new_blobs++;
  stats_.new_bytes += n;
  stats_.stored_bytes += sealed.size();

  auto taken = TakePack();
  if (!taken.ok()) {
    SetError(taken.status());  // the blob is claimed but not stored: others reusing it must not succeed
    return taken.status();
  }
  std::unique_ptr<PackBuilder> pack = std::move(*taken);
  Status added = pack->Add(id, type, sealed.data(), sealed.size(), static_cast<uint32_t>(n));
  if (!added.ok()) {
    // The pack may hold part of this blob; it is never committed, and since other savers were told
    // their blobs in it are stored, the whole session fails.
    pack.reset();
    ReleaseSlot(true);
    SetError(added.Context("writing pack"));
    return added;
  }
  if (pack->size() >= repo_.config().pack_size) {
    ReleaseSlot(false);  // a new pack may open while this one waits for its commit
    Status flushed = Flush(std::move(pack));
    Done();
    RETURN_IF_ERROR(flushed);
  } else {
    ReturnPack(std::move(pack));
  }
  RETURN_IF_ERROR(FirstError());
  return id;
}

StatusOr<std::unique_ptr<PackBuilder>> BlobSaver::TakePack() {
  {
    std::unique_lock<std::mutex> lk(pool_mu_);
    pool_cv_.wait(lk, [&] { return !pool_.empty() || open_packs_ < kMaxOpenPacks; });
    if (!pool_.empty()) {
      auto me = std::this_thread::get_id();
      size_t pick = pool_.size() - 1;
      for (size_t i = 0; i < pool_.size(); ++i) {
        if (pool_[i].last_user == me) pick = i;
      }
      std::unique_ptr<PackBuilder> pack = std::move(pool_[pick].pack);
      pool_[pick] = std::move(pool_.back());
      pool_.pop_back();
      ++busy_;
      return pack;
    }
    ++open_packs_;
    ++busy_;
  }
  // Opening the pending object (a file for a local location) happens outside the lock.
  auto out = repo_.storage().CreatePending();
  if (!out.ok()) {
    ReleaseSlot(true);
    return out.status();
  }
  return std::make_unique<PackBuilder>(std::move(*out));
}

void BlobSaver::ReturnPack(std::unique_ptr<PackBuilder> pack) {
  {
    std::lock_guard<std::mutex> g(pool_mu_);
    pool_.push_back({std::move(pack), std::this_thread::get_id()});
    --busy_;
  }
  pool_cv_.notify_all();  // a saver waiting for a pack, or Finish (no system call when none waits)
}

void BlobSaver::ReleaseSlot(bool done) {
  {
    std::lock_guard<std::mutex> g(pool_mu_);
    --open_packs_;
    busy_ -= done;
  }
  pool_cv_.notify_all();
}

void BlobSaver::Done() {
  {
    std::lock_guard<std::mutex> g(pool_mu_);
    --busy_;
  }
  pool_cv_.notify_all();
}

void BlobSaver::SetError(const Status& st) {
  std::lock_guard<std::mutex> g(q_mu_);
  if (error_.ok()) error_ = st;
  q_cv_.notify_all();
}

Status BlobSaver::Flush(std::unique_ptr<PackBuilder> pack) {
  Finished f;
  f.pack = std::move(pack);
  auto id = f.pack->Finish(repo_.aead());
  if (!id.ok()) {
    // As for a failed Add: the blobs other savers put in this pack are lost, so the session fails.
    Status st = id.status().Context("writing pack");
    SetError(st);
    return st;
  }
  f.id = *id;
  std::unique_lock<std::mutex> q(q_mu_);
  q_cv_.wait(q, [&] { return queue_.size() < kMaxQueuedPacks || !error_.ok(); });
  queue_.push_back(std::move(f));
  q_cv_.notify_all();
  return Status::Ok();
}

void BlobSaver::WriterLoop() {
  for (;;) {
    Finished f;
    {
      std::unique_lock<std::mutex> q(q_mu_);
      q_cv_.wait(q, [&] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      f = std::move(queue_.front());
      queue_.pop_front();
      q_cv_.notify_all();
    }
    Status st = f.pack->Commit(f.id);
    std::lock_guard<std::mutex> g(q_mu_);
    if (!st.ok()) {
      if (error_.ok()) error_ = st.Context("writing pack");
      q_cv_.notify_all();
      continue;
    }
    for (const auto& e : f.pack->entries()) {
      new_index_.push_back({e.id, BlobLocation{f.id, e.offset, e.length, e.raw_length, e.type}});
    }
    if (++packs_since_index_ >= kPacksPerIndex || new_index_.size() >= kEntriesPerIndex) {
      Status ist = SaveIndexLocked();
      if (!ist.ok() && error_.ok()) error_ = ist;
    }
  }
}

Status BlobSaver::SaveIndexLocked() {
  packs_since_index_ = 0;
  if (new_index_.empty()) return Status::Ok();
  RETURN_IF_ERROR(repo_.SaveObjectText("index", kKindIndex, Repository::IndexToText(new_index_)).status());
  new_index_.clear();
  return Status::Ok();
}

Status BlobSaver::Finish() {
  Status flushed;
  std::vector<OpenPack> open;
  {
    // Saves still running (there should be none) finish first, as when one lock guarded the pack.
    std::unique_lock<std::mutex> lk(pool_mu_);
    pool_cv_.wait(lk, [&] { return busy_ == 0; });
    open.swap(pool_);
    open_packs_ -= open.size();
  }
  for (auto& p : open) {
    if (p.pack->empty()) continue;
    flushed = Flush(std::move(p.pack));
    if (!flushed.ok()) break;
  }
  {
    std::lock_guard<std::mutex> g(q_mu_);
    closing_ = true;
  }
  q_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  RETURN_IF_ERROR(flushed);
  RETURN_IF_ERROR(FirstError());
  std::lock_guard<std::mutex> g(q_mu_);
  return SaveIndexLocked();
}

}  // namespace stb
