#include "storage_conformance.h"

#include <algorithm>
#include <atomic>
#include <thread>

namespace stb {
namespace {

TEST_P(StorageConformance, PutGetStat) {
  Bytes data = ToBytes("hello, packs");
  ASSERT_TRUE(storage_->Put("data/ab/abcdef", data).ok());
  auto got = storage_->Get("data/ab/abcdef");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);
  auto size = storage_->Stat("data/ab/abcdef");
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, data.size());
}

TEST_P(StorageConformance, RangedGet) {
  ASSERT_TRUE(storage_->Put("obj", ToBytes("0123456789")).ok());
  EXPECT_EQ(AsString(*storage_->Get("obj", 2, 3)), "234");
  EXPECT_EQ(AsString(*storage_->Get("obj", 7)), "789");
  EXPECT_EQ(AsString(*storage_->Get("obj", 8, 100)), "89");  // clamped at the end
  EXPECT_EQ(storage_->Get("obj", 10, 5)->size(), 0u);
  EXPECT_FALSE(storage_->Get("obj", 11, 1).ok());
}

TEST_P(StorageConformance, MissingObjectIsNotFound) {
  EXPECT_EQ(storage_->Get("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(storage_->Stat("nope").status().code(), Code::kNotFound);
  EXPECT_TRUE(storage_->Remove("nope").ok());
}

TEST_P(StorageConformance, ListByPrefixIsRecursive) {
  for (const char* n : {"data/00/a", "data/01/b", "index/c", "snapshots/d", "config"}) {
    ASSERT_TRUE(storage_->Put(n, ToBytes(n)).ok());
  }
  auto l = storage_->List("data/");
  ASSERT_TRUE(l.ok());
  std::vector<std::string> names;
  for (const auto& o : *l) names.push_back(o.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"data/00/a", "data/01/b"}));
  EXPECT_EQ(storage_->List("locks/")->size(), 0u);
  EXPECT_EQ((*storage_->List("index/"))[0].size, 7u);
}

// A prefix that ends inside a name (the parts of one WAL segment: "<segment>.r").
TEST_P(StorageConformance, ListByNamePrefix) {
  for (const char* n : {"wal/c/s1.r0-5", "wal/c/s1.r5-9", "wal/c/s1", "wal/c/s10.r0-1", "wal/d/s1.r0-5"}) {
    ASSERT_TRUE(storage_->Put(n, ToBytes(n)).ok());
  }
  auto l = storage_->List("wal/c/s1.r");
  ASSERT_TRUE(l.ok()) << l.status().message();
  std::vector<std::string> names;
  for (const auto& o : *l) names.push_back(o.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"wal/c/s1.r0-5", "wal/c/s1.r5-9"}));
}

TEST_P(StorageConformance, RemoveDeletes) {
  ASSERT_TRUE(storage_->Put("locks/x", ToBytes("1")).ok());
  ASSERT_TRUE(storage_->Remove("locks/x").ok());
  EXPECT_EQ(storage_->Stat("locks/x").status().code(), Code::kNotFound);
  EXPECT_TRUE(storage_->List("locks/")->empty());
}

TEST_P(StorageConformance, CreateOnlyIsExclusiveUnderConcurrency) {
  if (!storage_->Caps().atomic_create) GTEST_SKIP() << "driver declares no atomic create";
  std::atomic<int> won{0}, lost{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i) {
    ts.emplace_back([&, i] {
      Status st = storage_->Put("ids/x", ToBytes(std::to_string(i)), PutMode::kCreateOnly);
      (st.ok() ? won : lost)++;
      if (!st.ok()) {
        EXPECT_EQ(st.code(), Code::kAlreadyExists);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(won, 1);
  EXPECT_EQ(lost, 7);
}

TEST_P(StorageConformance, ReplaceOverwritesWholeObject) {
  ASSERT_TRUE(storage_->Put("obj", ToBytes("long content")).ok());
  ASSERT_TRUE(storage_->Put("obj", ToBytes("short")).ok());
  EXPECT_EQ(AsString(*storage_->Get("obj")), "short");
}

TEST_P(StorageConformance, LargeObjectRoundTrip) {
  Bytes big(20u << 20);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
  ASSERT_TRUE(storage_->Put("data/ff/big", big).ok());
  EXPECT_EQ(*storage_->Get("data/ff/big"), big);
  auto part = storage_->Get("data/ff/big", 16u << 20, 100);
  ASSERT_TRUE(part.ok());
  EXPECT_TRUE(std::equal(part->begin(), part->end(), big.begin() + (16 << 20)));
}

TEST_P(StorageConformance, RejectsEscapingNames) {
  EXPECT_FALSE(storage_->Put("../escape", ToBytes("x")).ok());
  EXPECT_FALSE(storage_->Put("/abs", ToBytes("x")).ok());
}

}  // namespace
}  // namespace stb
