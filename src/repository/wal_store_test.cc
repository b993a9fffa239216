#include "repository/wal_store.h"

#include <gtest/gtest.h>

#include "repo_fixture.h"
#include "wal_segment.h"

namespace stb {
namespace {

constexpr uint32_t kSeg = 1u << 20;  // the smallest segment PostgreSQL allows keeps tests fast
constexpr uint64_t kSysid = 7310931155431581234ull;

Bytes FakeSegment(uint32_t tli, uint64_t segno) { return FakeWalSegment(tli, segno, kSeg, kSysid); }

class WalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = NewMemRepository(storage_);
    ASSERT_TRUE(repo_);
    store_ = std::make_unique<WalStore>(*repo_, WalStore::ClusterOf(*repo_, kSysid));
  }
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<WalStore> store_;
};

TEST(WalNames, LsnRoundTrip) {
  EXPECT_EQ(*ParseLsn("0/5000028"), 0x5000028u);
  EXPECT_EQ(*ParseLsn("16/B374D848"), 0x16B374D848ull);
  EXPECT_EQ(FormatLsn(0x16B374D848ull), "16/B374D848");
  EXPECT_EQ(FormatLsn(0), "0/0");
  for (const char* bad : {"", "/", "0/", "/1", "123456789/0", "0/123456789", "0x1/2", "1/2/3", "-1/0", "g/0"}) {
    EXPECT_FALSE(ParseLsn(bad).ok()) << bad;
  }
}

TEST(WalNames, SegmentNamesFollowXLogFileName) {
  EXPECT_EQ(SegmentFileName(1, 0x23, 16u << 20), "000000010000000000000023");
  EXPECT_EQ(SegmentFileName(2, 0x100, 16u << 20), "000000020000000100000000");
  EXPECT_EQ(SegmentFileName(1, 0x1000, 1u << 20), "000000010000000100000000");
  WalName n = SegmentWalName(3, 0x1234, 16u << 20);
  EXPECT_EQ(n.Segno(16u << 20), 0x1234u);
}

TEST(WalNames, PgFileNamesRoundTrip) {
  for (const char* f : {"000000010000000000000023", "0000000A00000001000000FF.partial", "00000002.history",
                        "000000010000000000000005.00000028.backup"}) {
    auto n = ParsePgWalFileName(f);
    ASSERT_TRUE(n.ok()) << f << ": " << n.status().message();
    EXPECT_EQ(n->FileName(), f);
    std::string cluster;
    auto back = ParseWalObjectName(WalObjectName("0123456789abcdef", *n), &cluster);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, *n);
    EXPECT_EQ(cluster, "0123456789abcdef");
  }
  EXPECT_EQ(ParsePgWalFileName("00000002.history")->kind, WalName::kHistory);
  EXPECT_EQ(WalObjectName("0123456789abcdef", *ParsePgWalFileName("000000010000000000000023")),
            "wal/0123456789abcdef/0000000100000000/000000010000000000000023");
  EXPECT_EQ(WalObjectName("0123456789abcdef", *ParsePgWalFileName("00000002.history")),
            "wal/0123456789abcdef/history/00000002.history");
  for (const char* bad : {"", "00000001000000000000002", "0000000100000000000000230", "000000010000000000000023.tmp",
                          "00000000000000000000000A", "000000010000000000000a23", "00000000.history", "RECOVERYHISTORY",
                          "000000010000000000000005.0000002.backup", "../../etc/passwd"}) {
    EXPECT_FALSE(ParsePgWalFileName(bad).ok()) << bad;
  }
}

TEST(WalNames, ObjectNamesRejectWrongFoldersAndParts) {
  WalName part = SegmentWalName(1, 5, kSeg, WalName::kPart);
  part.begin = 0;
  part.end = 0x2000;
  std::string name = WalObjectName("0123456789abcdef", part);
  EXPECT_EQ(name, "wal/0123456789abcdef/0000000100000000/000000010000000000000005.r00000000-00002000");
  auto back = ParseWalObjectName(name, nullptr);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, part);
  for (const char* bad : {"wal/0123456789abcdef/0000000100000001/000000010000000000000005",
                          "wal/0123456789ABCDEF/0000000100000000/000000010000000000000005",
                          "wal/0123456789abcdef/history/000000010000000000000005",
                          "wal/0123456789abcdef/0000000100000000/00000002.history",
                          "wal/0123456789abcdef/0000000100000000/000000010000000000000005.r00002000-00002000",
                          "data/0123456789abcdef/0000000100000000/000000010000000000000005", "wal/x"}) {
    EXPECT_FALSE(ParseWalObjectName(bad, nullptr).ok()) << bad;
  }
}

TEST(WalNames, TimelineHistoryParses) {
  auto h = ParseTimelineHistory("1\t0/3000158\tno recovery target specified\n\n# comment\n2\t0/5000000\tbefore x\n");
  ASSERT_TRUE(h.ok()) << h.status().message();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].tli, 1u);
  EXPECT_EQ((*h)[0].switch_lsn, 0x3000158u);
  EXPECT_EQ((*h)[1].tli, 2u);
  EXPECT_TRUE(ParseTimelineHistory("").ok());
  EXPECT_FALSE(ParseTimelineHistory("2\t0/1\tx\n1\t0/2\tx\n").ok());  // not increasing
  EXPECT_FALSE(ParseTimelineHistory("x\t0/1\n").ok());
  EXPECT_FALSE(ParseTimelineHistory("1\n").ok());
  EXPECT_FALSE(ParseTimelineHistory("1\tzz\n").ok());
}

TEST(WalNames, SegmentHeaderValidation) {
  WalName n = *ParsePgWalFileName("000000010000000000000007");
  Bytes seg = FakeSegment(1, 7);
  EXPECT_TRUE(ValidateSegment(n, seg, kSysid).ok());
  EXPECT_TRUE(ValidateSegment(n, seg, 0).ok());
  auto expect_refused = [&](Bytes b, uint64_t sysid, const std::string& words) {
    auto st = ValidateSegment(n, b, sysid);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.status().message().find(words), std::string::npos) << st.status().message();
  };
  expect_refused(seg, kSysid + 1, "system identifier");
  Bytes bad = seg;
  bad[0] = 0x0D;  // PG14's magic 0xD10D
  expect_refused(bad, 0, "page magic 0xD10D");
  expect_refused(FakeSegment(2, 7), 0, "timeline 2");
  expect_refused(FakeSegment(1, 8), 0, "page address");
  Bytes shorter(seg.begin(), seg.end() - 1);
  expect_refused(shorter, 0, "bytes, but its header");
  expect_refused(Bytes(10, 0), 0, "shorter than a page header");
  Bytes huge = seg;  // a header claiming 128 MiB segments
  huge[32] = 0;
  huge[33] = 0;
  huge[34] = 0;
  huge[35] = 0x08;
  expect_refused(huge, 0, "not supported");
}

TEST_F(WalStoreTest, SealedSegmentReadsBackAndIsBoundToItsName) {
  WalName n = SegmentWalName(1, 7, kSeg);
  Bytes seg = FakeSegment(1, 7);
  WalSealed s = store_->Seal(n, kSysid, kSeg, seg, 1234);
  EXPECT_LT(s.sealed.size(), seg.size());  // compressed: mostly zeros
  ASSERT_TRUE(store_->PutSealed(*storage_, s).ok());
  auto back = store_->Read(*storage_, n);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->raw, seg);
  EXPECT_EQ(back->sysid, kSysid);
  EXPECT_EQ(back->seg_size, kSeg);
  EXPECT_EQ(back->written_ms, 1234);
  // The same sealed bytes under another name fail authentication.
  WalName other = SegmentWalName(1, 8, kSeg);
  ASSERT_TRUE(storage_->Put(store_->ObjectName(other), s.sealed).ok());
  auto swapped = store_->Read(*storage_, other);
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.status().code(), Code::kCorrupt);
  EXPECT_EQ(store_->Read(*storage_, SegmentWalName(1, 9, kSeg)).status().code(), Code::kNotFound);
}

TEST_F(WalStoreTest, PutIsIdempotentAndRefusesDifferentContent) {
  WalName n = SegmentWalName(1, 7, kSeg);
  ASSERT_TRUE(store_->PutSealed(*storage_, store_->Seal(n, kSysid, kSeg, FakeSegment(1, 7))).ok());
  // Sealed again (another nonce, another time): the same content is success.
  Status again = store_->PutSealed(*storage_, store_->Seal(n, kSysid, kSeg, FakeSegment(1, 7)));
  EXPECT_TRUE(again.ok()) << again.message();
  Bytes changed = FakeSegment(1, 7);
  changed[5000] ^= 1;
  auto before = storage_->Get(store_->ObjectName(n));
  Status st = store_->PutSealed(*storage_, store_->Seal(n, kSysid, kSeg, changed));
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_NE(st.message().find("different content"), std::string::npos) << st.message();
  EXPECT_EQ(*storage_->Get(store_->ObjectName(n)), *before);  // never overwritten
  EXPECT_EQ(store_->Read(*storage_, n)->raw, FakeSegment(1, 7));
}

TEST_F(WalStoreTest, ListGroupsByTimelineAndProbesTheSegmentSize) {
  for (uint64_t segno : {3, 4, 6}) {
    ASSERT_TRUE(
        store_->PutSealed(*storage_, store_->Seal(SegmentWalName(1, segno, kSeg), kSysid, kSeg, FakeSegment(1, segno)))
            .ok());
  }
  std::string hist = "1\t0/600000\tx\n";
  ASSERT_TRUE(store_
                  ->PutSealed(*storage_, store_->Seal(*ParsePgWalFileName("00000002.history"), kSysid, 0,
                                                      std::span<const uint8_t>(
                                                          reinterpret_cast<const uint8_t*>(hist.data()), hist.size())))
                  .ok());
  ASSERT_TRUE(storage_->Put("wal/" + store_->cluster() + "/junk/x", Bytes{1}).ok());
  auto l = store_->List(*storage_);
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->seg_size, kSeg);
  ASSERT_EQ(l->timelines.size(), 1u);
  EXPECT_EQ(l->timelines[1].segments.size(), 3u);
  EXPECT_TRUE(l->timelines[1].segments.count(6));
  EXPECT_EQ(l->histories, std::set<uint32_t>{2});
  EXPECT_EQ(l->unknown.size(), 1u);
  auto clusters = WalStore::ListClusters(*storage_);
  EXPECT_EQ(*clusters, std::vector<std::string>{store_->cluster()});
}

TEST_F(WalStoreTest, PrefixIsAssembledFromContiguousParts) {
  Bytes seg = FakeSegment(1, 9);
  auto put_part = [&](uint32_t b, uint32_t e, uint8_t flip = 0) {
    WalName p = SegmentWalName(1, 9, kSeg, WalName::kPart);
    p.begin = b;
    p.end = e;
    Bytes raw(seg.begin() + b, seg.begin() + e);
    if (flip) raw[0] ^= flip;
    ASSERT_TRUE(store_->PutSealed(*storage_, store_->Seal(p, kSysid, kSeg, raw)).ok());
  };
  EXPECT_FALSE(store_->ReadSegmentOrPrefix(*storage_, 1, 9, kSeg)->has_value());
  put_part(0, 0x1000);
  put_part(0x800, 0x3000);   // overlaps, agrees
  put_part(0x4000, 0x5000);  // after a gap: not part of the prefix
  auto p = store_->ReadSegmentOrPrefix(*storage_, 1, 9, kSeg);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ(**p, Bytes(seg.begin(), seg.begin() + 0x3000));
  put_part(0x2000, 0x4000, 0x55);  // overlaps with other bytes
  EXPECT_EQ(store_->ReadSegmentOrPrefix(*storage_, 1, 9, kSeg).status().code(), Code::kCorrupt);
  // A complete segment wins over parts.
  ASSERT_TRUE(store_->PutSealed(*storage_, store_->Seal(SegmentWalName(1, 9, kSeg), kSysid, kSeg, seg)).ok());
  EXPECT_EQ(**store_->ReadSegmentOrPrefix(*storage_, 1, 9, kSeg), seg);
}

TEST_F(WalStoreTest, DamagedPlaintextIsRefused) {
  WalObject o;
  o.kind = WalName::kSegment;
  o.seg_size = kSeg;
  o.raw = FakeSegment(1, 1);
  Bytes plain = EncodeWalPlaintext(o, o.raw, 1, repo_->hmac());
  EXPECT_TRUE(DecodeWalPlaintext(plain, repo_->hmac()).ok());
  for (size_t at : {size_t{0}, size_t{4}, size_t{5}, size_t{6}, size_t{24}, size_t{40}, plain.size() - 1}) {
    Bytes bad = plain;
    bad[at] ^= 0x80;
    EXPECT_FALSE(DecodeWalPlaintext(bad, repo_->hmac()).ok()) << at;
  }
  EXPECT_FALSE(DecodeWalPlaintext(Bytes(plain.begin(), plain.begin() + 60), repo_->hmac()).ok());
}

}  // namespace
}  // namespace stb
