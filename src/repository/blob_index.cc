// The compact in-memory blob index (layout and duplicate rule: blob_index.h).
#include "repository/blob_index.h"

#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace stb {
namespace {

bool IdLess(const BlobIndex::Record& a, const BlobIndex::Record& b) { return a.id < b.id; }
bool IdEqual(const BlobIndex::Record& a, const BlobIndex::Record& b) { return a.id == b.id; }

uint32_t Prefix32(const Id& id) {
  return uint32_t(id.b[0]) << 24 | uint32_t(id.b[1]) << 16 | uint32_t(id.b[2]) << 8 | id.b[3];
}

// Packs are at most 2^31 (a pack table index shares its word with the type bit); at 16 MiB a pack
// that is 32 PiB, far beyond one repository.
uint32_t PackType(uint32_t pack, BlobType type) {
  if (pack >= (1u << 31)) throw std::length_error("blob index: more than 2^31 packs");
  return pack << 1 | (static_cast<uint32_t>(type) & 1u);
}

BlobIndex::Record MakeRecord(const Id& id, uint32_t pack, const BlobLocation& loc) {
  return {id, PackType(pack, loc.type), loc.offset, loc.length, loc.raw_length};
}

uint32_t InternPack(std::vector<Id>& packs, std::unordered_map<Id, uint32_t, IdHash>& pack_of, const Id& pack) {
  auto [it, added] = pack_of.try_emplace(pack, static_cast<uint32_t>(packs.size()));
  if (added) packs.push_back(pack);
  return it->second;
}

// Lookups land on random records of an array of tens of MB: in 4 KiB pages nearly every one is a
// TLB miss as well as a cache miss. Huge pages, where the kernel offers them on request, leave the
// cache miss. Only whole 2 MiB pages inside the buffer are advised; untouched ones stay unbacked.
void AdviseHugePages(const void* p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only
#endif
}

}  // namespace

void BlobIndex::Builder::Reserve(size_t n) {
  records_.reserve(n);
  AdviseHugePages(records_.data(), records_.capacity() * sizeof(Record));
}

void BlobIndex::Builder::Add(const Id& id, const BlobLocation& loc) {
  records_.push_back(MakeRecord(id, InternPack(packs_, pack_of_, loc.pack), loc));
}

BlobIndex BlobIndex::Builder::Build() && {
  // Stable, so among copies of one id the one added first comes first and unique() keeps it.
  std::stable_sort(records_.begin(), records_.end(), IdLess);
  // No shrink_to_fit: it would copy every record once more at the peak, while the capacity past
  // the last record (a Reserve, or a doubling) was never written and takes no memory.
  records_.erase(std::unique(records_.begin(), records_.end(), IdEqual), records_.end());
  BlobIndex out;
  out.packs_ = std::move(packs_);
  out.pack_of_ = std::move(pack_of_);
  out.main_ = std::move(records_);
  out.RebuildBuckets();
  return out;
}

BlobIndex::BlobIndex() { RebuildBuckets(); }

void BlobIndex::clear() {
  packs_.clear();
  pack_of_.clear();
  main_ = {};
  fresh_ = {};
  RebuildBuckets();
}

uint32_t BlobIndex::PackIndex(const Id& pack) { return InternPack(packs_, pack_of_, pack); }

BlobLocation BlobIndex::Resolve(const Record& r) const {
  return BlobLocation{packs_[r.pack_type >> 1], r.offset, r.length, r.raw_length,
                      static_cast<BlobType>(r.pack_type & 1)};
}

void BlobIndex::RebuildBuckets() {
  // About 8 records a bucket: 0.5 byte of table a record, and 3 steps of binary search in it.
  bits_ = 0;
  while (bits_ < 24 && (size_t{8} << bits_) < main_.size()) ++bits_;
  buckets_.assign((size_t{1} << bits_) + 1, 0);
  size_t pos = 0;
  for (size_t b = 0; b < (size_t{1} << bits_); ++b) {
    buckets_[b] = static_cast<uint32_t>(pos);
    while (pos < main_.size() && (bits_ == 0 ? 0 : Prefix32(main_[pos].id) >> (32 - bits_)) == b) ++pos;
  }
  buckets_.back() = static_cast<uint32_t>(main_.size());
}

const BlobIndex::Record* BlobIndex::Lookup(const Id& id) const {
  const size_t b = bits_ == 0 ? 0 : Prefix32(id) >> (32 - bits_);
  auto first = main_.begin() + buckets_[b], last = main_.begin() + buckets_[b + 1];
  auto it = std::lower_bound(first, last, id, [](const Record& r, const Id& k) { return r.id < k; });
  if (it != last && it->id == id) return &*it;
  auto f = std::lower_bound(fresh_.begin(), fresh_.end(), id, [](const Record& r, const Id& k) { return r.id < k; });
  if (f != fresh_.end() && f->id == id) return &*f;
  return nullptr;
}

std::optional<BlobLocation> BlobIndex::find(const Id& id) const {
  const Record* r = Lookup(id);
  if (!r) return std::nullopt;
  return Resolve(*r);
}

BlobLocation BlobIndex::at(const Id& id) const {
  const Record* r = Lookup(id);
  if (!r) throw std::out_of_range("blob " + id.Hex() + " is not in the index");
  return Resolve(*r);
}

size_t BlobIndex::FreshLimit() const {
  // Balances the memmove of a sorted insert (~limit/2 records) against the merge (main_/limit a
  // record, amortised): both are ~sqrt(main_/2) records an insert.
  return std::max<size_t>(256, static_cast<size_t>(std::sqrt(2.0 * static_cast<double>(main_.size()))));
}

bool BlobIndex::insert(const Id& id, const BlobLocation& loc) {
  if (Lookup(id)) return false;
  Record r = MakeRecord(id, PackIndex(loc.pack), loc);
  fresh_.insert(std::upper_bound(fresh_.begin(), fresh_.end(), r, IdLess), r);
  if (fresh_.size() > FreshLimit()) MergeFresh();
  return true;
}

void BlobIndex::MergeFresh() {
  // In place from the back: main_ grows by fresh_ (no second copy of main_); no id is in both.
  size_t i = main_.size(), j = fresh_.size(), k = main_.size() + fresh_.size();
  // Grow by an eighth, not the vector's doubling: a backup adds few blobs to a large index, and
  // a doubled capacity would cost up to 48 idle bytes an entry. A merge is O(n) anyway.
  if (main_.capacity() < k) {
    main_.reserve(k + k / 8);
    AdviseHugePages(main_.data(), main_.capacity() * sizeof(Record));
  }
  main_.resize(k);
  while (j > 0) {
    if (i > 0 && fresh_[j - 1].id < main_[i - 1].id) {
      main_[--k] = main_[--i];
    } else {
      main_[--k] = fresh_[--j];
    }
  }
  fresh_.clear();
  RebuildBuckets();
}

size_t BlobIndex::memory_bytes() const {
  return main_.capacity() * sizeof(Record) + fresh_.capacity() * sizeof(Record) +
         buckets_.capacity() * sizeof(uint32_t) + packs_.capacity() * sizeof(Id) +
         pack_of_.size() * (sizeof(Id) + sizeof(uint32_t) + 2 * sizeof(void*)) +
         pack_of_.bucket_count() * sizeof(void*);
}

std::pair<Id, BlobLocation> BlobIndex::EntryAt(size_t pos) const {
  const Record& r = pos < main_.size() ? main_[pos] : fresh_[pos - main_.size()];
  return {r.id, Resolve(r)};
}

BlobIndex::const_iterator::value_type BlobIndex::const_iterator::operator*() const { return index_->EntryAt(pos_); }

}  // namespace stb
