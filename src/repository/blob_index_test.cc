// Tests of the compact blob index: lookups, the first-copy-wins rule for duplicates, merging of
// single inserts, iteration, and the memory bound that is its reason to exist.
#include "repository/blob_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

namespace stb {
namespace {

Id RandomId(std::mt19937_64& rng) {
  Id id;
  for (size_t i = 0; i < id.b.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(id.b.data() + i, &v, 8);
  }
  return id;
}

BlobLocation Loc(const Id& pack, uint32_t offset, BlobType type = BlobType::kData) {
  return BlobLocation{pack, offset, 100 + offset % 1000, 90 + offset % 1000, type};
}

void ExpectSame(const BlobLocation& a, const BlobLocation& b) {
  EXPECT_EQ(a.pack, b.pack);
  EXPECT_EQ(a.offset, b.offset);
  EXPECT_EQ(a.length, b.length);
  EXPECT_EQ(a.raw_length, b.raw_length);
  EXPECT_EQ(a.type, b.type);
}

TEST(BlobIndex, InsertAndLookup) {
  std::mt19937_64 rng(1);
  BlobIndex index;
  EXPECT_TRUE(index.empty());
  const Id pack = RandomId(rng), id = RandomId(rng), other = RandomId(rng);
  BlobLocation loc{pack, 7, 4000000000u, 4294967295u, BlobType::kTree};
  EXPECT_TRUE(index.insert(id, loc));
  EXPECT_EQ(index.size(), 1u);
  EXPECT_TRUE(index.contains(id));
  EXPECT_FALSE(index.contains(other));
  ASSERT_TRUE(index.find(id).has_value());
  ExpectSame(*index.find(id), loc);  // full 32-bit fields and the type survive the packing
  ExpectSame(index.at(id), loc);
  EXPECT_FALSE(index.find(other).has_value());
  EXPECT_THROW(index.at(other), std::out_of_range);
  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_FALSE(index.contains(id));
}

// The rule LoadIndex and prune rely on: the copy added first is the canonical one.
TEST(BlobIndex, DuplicatesKeepTheFirstCopy) {
  std::mt19937_64 rng(2);
  const Id p1 = RandomId(rng), p2 = RandomId(rng), p3 = RandomId(rng), id = RandomId(rng);
  BlobIndex::Builder b;
  std::vector<Id> fillers;
  for (int i = 0; i < 1000; ++i) fillers.push_back(RandomId(rng));
  for (int i = 0; i < 500; ++i) b.Add(fillers[i], Loc(p3, i));
  b.Add(id, Loc(p1, 10));
  for (int i = 500; i < 1000; ++i) b.Add(fillers[i], Loc(p3, i));
  b.Add(id, Loc(p2, 20));
  b.Add(id, Loc(p3, 30));
  BlobIndex index = std::move(b).Build();
  EXPECT_EQ(index.size(), 1001u);
  ExpectSame(index.at(id), Loc(p1, 10));
  EXPECT_EQ(index.pack_count(), 3u);

  EXPECT_FALSE(index.insert(id, Loc(p2, 40)));  // present in the sorted part
  ExpectSame(index.at(id), Loc(p1, 10));
  const Id fresh = RandomId(rng);
  EXPECT_TRUE(index.insert(fresh, Loc(p2, 50)));
  EXPECT_FALSE(index.insert(fresh, Loc(p1, 60)));  // present in the fresh part
  ExpectSame(index.at(fresh), Loc(p2, 50));
  EXPECT_EQ(index.size(), 1002u);
}

// Many single inserts cross the fresh-area limit several times; every entry stays findable with its
// own location, and nothing is lost or doubled by the merges.
TEST(BlobIndex, FreshEntriesMergeInOrder) {
  std::mt19937_64 rng(3);
  std::vector<Id> packs;
  for (int i = 0; i < 7; ++i) packs.push_back(RandomId(rng));
  BlobIndex::Builder b;
  std::map<Id, BlobLocation> want;
  for (uint32_t i = 0; i < 5000; ++i) {
    Id id = RandomId(rng);
    b.Add(id, Loc(packs[i % 7], i));
    want[id] = Loc(packs[i % 7], i);
  }
  BlobIndex index = std::move(b).Build();
  for (uint32_t i = 0; i < 20000; ++i) {
    Id id = RandomId(rng);
    BlobLocation loc = Loc(packs[i % 5], 100000 + i, i % 3 ? BlobType::kData : BlobType::kTree);
    ASSERT_TRUE(index.insert(id, loc));
    want[id] = loc;
    if (i % 997 == 0) {  // lookups between merges see both areas
      for (const auto& [wid, wloc] : want) ASSERT_TRUE(index.contains(wid));
    }
  }
  EXPECT_EQ(index.size(), want.size());
  for (const auto& [id, loc] : want) ExpectSame(index.at(id), loc);
  size_t n = 0;
  for (const auto& [id, loc] : index) {
    ASSERT_TRUE(want.count(id));
    ExpectSame(loc, want[id]);
    ++n;
  }
  EXPECT_EQ(n, want.size());
}

// The same entries added in different orders (some by Build, some by insert) give the same set.
TEST(BlobIndex, IterationIsIndependentOfInsertOrder) {
  std::mt19937_64 rng(4);
  const Id pack = RandomId(rng);
  std::vector<std::pair<Id, BlobLocation>> entries;
  for (uint32_t i = 0; i < 3000; ++i) entries.emplace_back(RandomId(rng), Loc(pack, i));
  auto collect = [](const BlobIndex& index) {
    std::map<Id, uint32_t> got;
    for (const auto& [id, loc] : index) EXPECT_TRUE(got.emplace(id, loc.offset).second) << "id seen twice";
    return got;
  };
  BlobIndex a;
  for (const auto& [id, loc] : entries) a.insert(id, loc);
  std::shuffle(entries.begin(), entries.end(), rng);
  BlobIndex::Builder b;
  for (size_t i = 0; i < entries.size() / 2; ++i) b.Add(entries[i].first, entries[i].second);
  BlobIndex c = std::move(b).Build();
  for (size_t i = entries.size() / 2; i < entries.size(); ++i) c.insert(entries[i].first, entries[i].second);
  auto got_a = collect(a), got_c = collect(c);
  EXPECT_EQ(got_a.size(), entries.size());
  EXPECT_EQ(got_a, got_c);
}

// The point of the class: a million entries cost about their 48-byte records, not ~130 bytes each.
TEST(BlobIndex, MillionEntriesStayNearTheRecordSize) {
  std::mt19937_64 rng(5);
  constexpr size_t kN = 1000000;
  std::vector<Id> packs;
  for (int i = 0; i < 250; ++i) packs.push_back(RandomId(rng));  // ~4 GB of small files
  std::vector<Id> ids;
  ids.reserve(kN);
  BlobIndex::Builder b;
  b.Reserve(kN);
  for (size_t i = 0; i < kN; ++i) {
    ids.push_back(RandomId(rng));
    b.Add(ids.back(), Loc(packs[i % packs.size()], static_cast<uint32_t>(i)));
  }
  BlobIndex index = std::move(b).Build();
  ASSERT_EQ(index.size(), kN);
  const size_t record = sizeof(BlobIndex::Record);
  EXPECT_EQ(record, 48u);
  EXPECT_LE(index.memory_bytes(), kN * record * 11 / 10) << index.memory_bytes() / kN << " bytes an entry";

  // Single inserts on top (a backup adding blobs): growth by an eighth, not doubling.
  for (size_t i = 0; i < 20000; ++i) index.insert(RandomId(rng), Loc(packs[0], static_cast<uint32_t>(i)));
  EXPECT_LE(index.memory_bytes(), index.size() * record * 5 / 4);

  // Lookups: present and absent ids (printed, not asserted: the machine is shared).
  auto start = std::chrono::steady_clock::now();
  size_t hits = 0;
  for (size_t i = 0; i < kN; ++i) hits += index.contains(ids[(i * 7919) % kN]);
  for (size_t i = 0; i < kN; ++i) hits += index.contains(RandomId(rng));
  const double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(hits, kN);
  std::printf("[ bench    ] %.0f ns a lookup over %zu entries, %.1f bytes an entry\n", ns / (2.0 * kN), index.size(),
              static_cast<double>(index.memory_bytes()) / static_cast<double>(index.size()));
}

}  // namespace
}  // namespace stb
