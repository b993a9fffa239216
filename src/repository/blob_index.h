// The in-memory blob index: blob id -> where the blob sits in which pack, in 48 bytes a blob
// (an unordered_map of whole BlobLocations cost ~130; at millions of small files that was most of RSS).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "repository/format.h"

namespace stb {

// Layout (doc/design.md §8, "Memory"):
// - Each pack id is stored once in a pack table; a blob refers to its pack by a 31-bit index (the
//   low bit of the same word holds the blob type), so a record is {id, pack+type, offset, length,
//   raw length} = 48 bytes, in plain vectors: no per-entry heap node, bucket or copied pack id.
// - main_: records sorted by id without duplicates, searched through a prefix table (the first
//   `bits_` bits of the id give a bucket; each bucket holds ~8 records, found by binary search).
//   Ids are HMAC outputs, so the prefixes are uniform and buckets stay even.
// - fresh_: a small sorted area for single insert()s. When it outgrows about sqrt(2 * main_) records
//   it is merged into main_ (one linear merge), which keeps an insert at O(sqrt n) moved records.
// - Bulk loads (LoadIndex) go through Builder: append everything, sort once, keep the first copy.
// Duplicates: an id keeps the location added first (insert() of a present id is ignored, Build()
// keeps the first appended copy). LoadIndex loads index objects in listing order, and prune keeps
// exactly that "canonical" copy of each blob and drops the others.
// Lookups are const and allocate nothing, so several threads may read one index at once.
class BlobIndex {
 public:
  struct Record {
    Id id;
    uint32_t pack_type = 0;  // pack table index << 1 | BlobType
    uint32_t offset = 0;
    uint32_t length = 0;
    uint32_t raw_length = 0;
  };
  static_assert(sizeof(Record) == 48);

  // Bulk loading: Add in load order, then Build once (one sort instead of n sorted inserts).
  class Builder {
   public:
    void Add(const Id& id, const BlobLocation& loc);
    void Reserve(size_t n);
    size_t size() const { return records_.size(); }
    BlobIndex Build() &&;

   private:
    friend class BlobIndex;
    std::vector<Id> packs_;
    std::unordered_map<Id, uint32_t, IdHash> pack_of_;
    std::vector<Record> records_;
  };

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::pair<Id, BlobLocation>;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = value_type;  // built on the fly: the pack id comes from the table
    const_iterator() = default;
    value_type operator*() const;
    const_iterator& operator++() {
      ++pos_;
      return *this;
    }
    const_iterator operator++(int) {
      auto old = *this;
      ++pos_;
      return old;
    }
    bool operator==(const const_iterator& o) const { return pos_ == o.pos_; }

   private:
    friend class BlobIndex;
    const_iterator(const BlobIndex* index, size_t pos) : index_(index), pos_(pos) {}
    const BlobIndex* index_ = nullptr;
    size_t pos_ = 0;  // main_ first, then fresh_
  };

  BlobIndex();

  // Adds id -> loc unless id is present (then the first location stays; returns false).
  bool insert(const Id& id, const BlobLocation& loc);
  std::optional<BlobLocation> find(const Id& id) const;
  bool contains(const Id& id) const { return Lookup(id) != nullptr; }
  // Throws std::out_of_range when id is absent (as std::unordered_map::at did).
  BlobLocation at(const Id& id) const;
  size_t size() const { return main_.size() + fresh_.size(); }
  bool empty() const { return size() == 0; }
  void clear();
  // Order: unspecified (callers must not depend on it).
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }
  // The entry begin() reaches after pos steps (pos < size()), so callers can keep 4-byte positions.
  std::pair<Id, BlobLocation> EntryAt(size_t pos) const;

  // Heap bytes held (capacities, not sizes): for tests and memory reports.
  size_t memory_bytes() const;
  size_t pack_count() const { return packs_.size(); }

 private:
  const Record* Lookup(const Id& id) const;
  BlobLocation Resolve(const Record& r) const;
  uint32_t PackIndex(const Id& pack);
  void MergeFresh();
  void RebuildBuckets();
  size_t FreshLimit() const;

  std::vector<Id> packs_;
  std::unordered_map<Id, uint32_t, IdHash> pack_of_;
  std::vector<Record> main_;
  std::vector<uint32_t> buckets_;  // (1 << bits_) + 1 start positions into main_
  int bits_ = 0;
  std::vector<Record> fresh_;
};

}  // namespace stb
