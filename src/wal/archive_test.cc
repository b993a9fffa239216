#include "wal/archive.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "core/file_util.h"
#include "repo_fixture.h"
#include "wal_segment.h"

namespace stb {
namespace {

constexpr uint32_t kSeg = 1u << 20;
constexpr uint64_t kSysid = 7310931155431581234ull;

class WalArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    local_ = NewMemStorage();
    ASSERT_TRUE(Repository::Init(*local_, FixtureKey()).ok());
    repo_ = std::move(Repository::Open(local_, FixtureKey()).value());
    dir_ = "/tmp/stb-wal-archive-test-" + RandomHex(6);
    ASSERT_TRUE(MakeDirs(dir_ + "/pg_wal").ok());
    ASSERT_TRUE(MakeDirs(dir_ + "/global").ok());
    Bytes control(16, 0);
    for (int i = 0; i < 8; ++i) control[i] = static_cast<uint8_t>(kSysid >> (8 * i));
    Write("global/pg_control", control);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  void Write(const std::string& rel, const Bytes& b) {
    std::ofstream(dir_ + "/" + rel, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), b.size());
  }
  Status Fetch(const std::string& f) {
    WalFetchOptions o;
    o.file = f;
    o.dest = dir_ + "/out";
    o.pgdata = dir_;
    o.retry_seconds = 0;
    return FetchWal(*repo_, *local_, o);
  }
  std::shared_ptr<Storage> local_;
  std::unique_ptr<Repository> repo_;
  std::string dir_;
};

TEST_F(WalArchiveTest, PushThenFetchIsByteIdentical) {
  Bytes seg = FakeWalSegment(1, 5, kSeg, kSysid);
  Write("pg_wal/000000010000000000000005", seg);
  WalPushOptions o;
  o.path = dir_ + "/pg_wal/000000010000000000000005";
  auto r = PushWal(*repo_, *local_, {}, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(Fetch("000000010000000000000005").ok());
  EXPECT_EQ(ReadWholeFile(dir_ + "/out").value(), seg);
  EXPECT_EQ(Fetch("000000010000000000000006").code(), Code::kNotFound);
  EXPECT_EQ(Fetch("not-a-wal-name").code(), Code::kNotFound);
}

TEST_F(WalArchiveTest, PartsAreServedPaddedToTheSegmentSize) {
  Bytes seg = FakeWalSegment(1, 5, kSeg, kSysid);
  WalStore store(*repo_, WalStore::ClusterOf(*repo_, kSysid));
  ASSERT_TRUE(store.PutSealed(*local_, store.Seal(SegmentWalName(1, 5, kSeg), kSysid, kSeg, seg)).ok());
  Bytes next = FakeWalSegment(1, 6, kSeg, kSysid);
  WalName part = SegmentWalName(1, 6, kSeg, WalName::kPart);
  part.end = 0x3000;
  ASSERT_TRUE(store.PutSealed(*local_, store.Seal(part, kSysid, kSeg, std::span(next).first(0x3000))).ok());
  ASSERT_TRUE(Fetch("000000010000000000000006").ok());
  Bytes expect(next.begin(), next.begin() + 0x3000);
  expect.resize(kSeg, 0);
  EXPECT_EQ(ReadWholeFile(dir_ + "/out").value(), expect);
}

TEST_F(WalArchiveTest, ADamagedObjectIsCorruptNotMissing) {
  Bytes seg = FakeWalSegment(1, 5, kSeg, kSysid);
  WalStore store(*repo_, WalStore::ClusterOf(*repo_, kSysid));
  WalSealed s = store.Seal(SegmentWalName(1, 5, kSeg), kSysid, kSeg, seg);
  s.sealed[40] ^= 1;
  ASSERT_TRUE(local_->Put(s.name, s.sealed).ok());
  ::unlink((dir_ + "/out").c_str());
  Status st = Fetch("000000010000000000000005");
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  EXPECT_NE(::access((dir_ + "/out").c_str(), F_OK), 0);  // nothing written
}

TEST_F(WalArchiveTest, AForeignSegmentIsRefusedBeforeStoring) {
  Write("pg_wal/000000010000000000000005", FakeWalSegment(1, 5, kSeg, kSysid + 1));
  WalPushOptions o;
  o.path = dir_ + "/pg_wal/000000010000000000000005";
  auto r = PushWal(*repo_, *local_, {}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("system identifier"), std::string::npos) << r.status().message();
  EXPECT_TRUE(local_->List("wal/")->empty());
}

}  // namespace
}  // namespace stb
