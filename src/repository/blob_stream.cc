#include "repository/blob_stream.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace stb {

BlobStream::BlobStream(Repository& repo, std::vector<Id> ids, BlobStreamOptions opt)
    : repo_(repo), ids_(std::move(ids)) {
  Plan(opt);
  window_ = std::max(1, opt.window > 0 ? opt.window : repo_.storage().Caps().parallelism);
  if (!plan_error_.ok()) return;
  slots_.resize(static_cast<size_t>(window_));
  const size_t threads = std::min(static_cast<size_t>(window_), reads_.size());
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Worker(); });
}

BlobStream::~BlobStream() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

// Cuts the list into reads. Only neighbours in list order are merged, so blobs come back in order
// without sorting, and a dump (written in order, so laid out in order) needs few requests.
void BlobStream::Plan(const BlobStreamOptions& opt) {
  uint64_t raw = 0;
  for (size_t i = 0; i < ids_.size(); ++i) {
    const auto found = repo_.index().find(ids_[i]);
    if (!found) {
      plan_error_ = NotFound("blob " + ids_[i].Hex() + " is not in the index");
      return;
    }
    const BlobLocation& loc = *found;
    const uint64_t end = uint64_t{loc.offset} + loc.length;
    if (!reads_.empty()) {
      Read& r = reads_.back();
      const BlobLocation last = repo_.index().at(ids_[r.first + r.count - 1]);
      const uint64_t last_end = uint64_t{last.offset} + last.length;
      if (r.pack == loc.pack && loc.offset >= last_end && loc.offset - last_end <= opt.max_gap &&
          end - r.start <= opt.max_span && raw + loc.raw_length <= opt.max_span) {
        r.end = end;
        ++r.count;
        raw += loc.raw_length;
        continue;
      }
    }
    reads_.push_back({loc.pack, loc.offset, end, i, 1});
    raw = loc.raw_length;
  }
}

Status BlobStream::Fetch(const Read& read, std::vector<Bytes>& blobs) const {
  ASSIGN_OR_RETURN(Bytes sealed, repo_.storage().Get(PackName(read.pack), read.start, read.end - read.start));
  if (sealed.size() != read.end - read.start) return Corrupt(PackName(read.pack) + " is shorter than the index says");
  Bytes scratch;
  blobs.resize(read.count);
  for (size_t k = 0; k < read.count; ++k) {
    const Id& id = ids_[read.first + k];
    const BlobLocation loc = repo_.index().at(id);
    RETURN_IF_ERROR(repo_.DecodeBlob(id, loc, sealed.data() + (loc.offset - read.start), blobs[k], scratch));
  }
  return Status::Ok();
}

void BlobStream::Worker() {
  for (;;) {
    size_t r;
    {
      std::unique_lock lk(mu_);
      // Never more than window_ reads ahead of the caller: that is the memory bound.
      cv_.wait(lk, [&] { return stop_ || next_fetch_ >= reads_.size() || next_fetch_ < current_ + window_; });
      if (stop_ || next_fetch_ >= reads_.size()) return;
      r = next_fetch_++;
    }
    std::vector<Bytes> blobs;
    Status st = Fetch(reads_[r], blobs);
    uint64_t bytes = 0;
    for (const auto& b : blobs) bytes += b.size();
    {
      std::lock_guard lk(mu_);
      Slot& s = slots_[r % slots_.size()];
      s.ready = true;
      s.status = st;
      s.blobs = std::move(blobs);
      s.bytes = bytes;
      held_ += bytes;
      peak_held_ = std::max(peak_held_, held_);
      if (!st.ok()) stop_ = true;  // nothing past a failed read will be handed out
    }
    cv_.notify_all();
  }
}

StatusOr<bool> BlobStream::Next(Bytes& out) {
  if (!plan_error_.ok()) return plan_error_;
  std::unique_lock lk(mu_);
  if (!error_.ok()) return error_;
  if (current_ < reads_.size() && taken_ == reads_[current_].count) {
    Slot& done = slots_[current_ % slots_.size()];
    held_ -= done.bytes;
    done = Slot{};
    ++current_;
    taken_ = 0;
    cv_.notify_all();
  }
  if (current_ >= reads_.size()) return false;
  Slot& s = slots_[current_ % slots_.size()];
  cv_.wait(lk, [&] { return s.ready; });  // every read taken finishes, failed or not
  if (!s.status.ok()) {
    error_ = s.status;
    stop_ = true;
    cv_.notify_all();
    return error_;
  }
  out = std::move(s.blobs[taken_++]);
  return true;
}

uint64_t BlobStream::peak_held_bytes() const {
  std::lock_guard lk(mu_);
  return peak_held_;
}

Status StreamBlobs(Repository& repo, std::vector<Id> ids, const std::function<Status(const Bytes&)>& sink,
                   BlobStreamOptions opt) {
  BlobStream stream(repo, std::move(ids), opt);
  Bytes data;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, stream.Next(data));
    if (!more) return Status::Ok();
    RETURN_IF_ERROR(sink(data));
  }
}

StatusOr<std::vector<Id>> EntryBlobIds(const nlohmann::json& entry, const std::string& key) {
  auto it = entry.find(key);
  if (it == entry.end() || !it->is_array()) return Corrupt("snapshot entry has no '" + key + "' list");
  std::vector<Id> ids;
  ids.reserve(it->size());
  for (const auto& h : *it) {
    auto id = h.is_string() ? Id::FromHex(h.get<std::string>()) : std::nullopt;
    if (!id) return Corrupt("snapshot entry names an invalid blob id in '" + key + "'");
    ids.push_back(*id);
  }
  return ids;
}

}  // namespace stb
