#include "repository/redis_stream_store.h"

#include <gtest/gtest.h>

#include <cstring>

#include "repo_fixture.h"
#include "repository/create_only.h"
#include "repository/wal_store.h"

namespace stb {
namespace {

const std::string kReplid = "8371445ee0d8e5bd81a1a2a4d3c1ed4ba2c6b8b5";
constexpr int64_t kT0 = 1795000000000;  // 2026-11-18 11:06 UTC, ms

Bytes Text(std::string_view s) { return Bytes(s.begin(), s.end()); }

class RedisStreamStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = NewMemRepository(storage_);
    ASSERT_TRUE(repo_);
    store_ = std::make_unique<RedisStreamStore>(*repo_, RedisStreamStore::SourceOf(*repo_, "127.0.0.1:6379"));
    chain_ = RedisStreamStore::ChainOf(*repo_, kT0, kReplid, 1000);
  }
  RedisStreamName Seg(uint64_t s, uint64_t e, int64_t ms = kT0) const {
    RedisStreamName n;
    n.kind = RedisObjectKind::kSegment;
    n.chain = chain_;
    n.hour = RedisHourOfMs(ms);
    n.start = s;
    n.end = e;
    return n;
  }
  RedisStreamObject SegObject(uint64_t s, int64_t ms = kT0) const {
    RedisStreamObject o;
    o.start = s;
    o.written_ms = ms + 5;
    o.first_arrival_ms = ms;
    o.last_arrival_ms = ms + 3;
    o.db = -1;
    o.time_index = {{0, ms}, {7, ms + 3}};
    return o;
  }
  Status PutSeg(uint64_t s, uint64_t e, char fill = 'x') {
    Bytes raw(e - s, static_cast<uint8_t>(fill));
    auto sealed = store_->Seal(Seg(s, e), SegObject(s), raw);
    if (!sealed.ok()) return sealed.status();
    return store_->PutSealed(*storage_, *sealed);
  }
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<RedisStreamStore> store_;
  std::string chain_;
};

TEST(RedisStreamNames, RoundTripEveryKind) {
  RedisStreamName n;
  n.source = "0123456789abcdef";
  n.chain = "01a1f2b3c4d5-89abcdef";
  n.kind = RedisObjectKind::kChainMeta;
  EXPECT_EQ(RedisObjectName(n), "redis/0123456789abcdef/chains/01a1f2b3c4d5-89abcdef");
  n.kind = RedisObjectKind::kBasePiece;
  n.piece = 12;
  EXPECT_EQ(RedisObjectName(n), "redis/0123456789abcdef/base/01a1f2b3c4d5-89abcdef/000012");
  RedisStreamName seg = n;
  seg.piece = 0;
  seg.kind = RedisObjectKind::kSegment;
  seg.hour = RedisHourOfMs(kT0);
  seg.start = 0x10;
  seg.end = 0x2000;
  EXPECT_EQ(RedisObjectName(seg),
            "redis/0123456789abcdef/seg/01a1f2b3c4d5-89abcdef/2026111811/0000000000000010-0000000000002000");
  RedisStreamName ids = n;
  ids.piece = 0;
  ids.kind = RedisObjectKind::kReplidSwitch;
  ids.start = 0xabc;
  RedisStreamName ev = n;
  ev.piece = 0;
  ev.kind = RedisObjectKind::kEvent;
  ev.event_ms = kT0;
  for (const RedisStreamName& x : {n, seg, ids, ev}) {
    auto back = ParseRedisObjectName(RedisObjectName(x));
    ASSERT_TRUE(back.ok()) << RedisObjectName(x) << ": " << back.status().message();
    EXPECT_EQ(*back, x) << RedisObjectName(x);
  }
}

TEST(RedisStreamNames, HoursAreUtcCalendarHours) {
  EXPECT_EQ(FormatRedisHour(0), "1970010100");
  EXPECT_EQ(*ParseRedisHour("1970010100"), 0);
  EXPECT_EQ(*ParseRedisHour("2024022923"), RedisHourOfMs(1709247600000));  // a leap day, 23:00 UTC
  EXPECT_EQ(FormatRedisHour(RedisHourOfMs(1709247600000)), "2024022923");
  for (int64_t h : {int64_t{0}, int64_t{1}, int64_t{499000}, int64_t{87658}, int64_t{2932896} * 24 + 23}) {
    EXPECT_EQ(*ParseRedisHour(FormatRedisHour(h)), h) << h;
  }
  EXPECT_EQ(RedisHourOfMs(-1), -1);
  EXPECT_EQ(RedisHourOfMs(-3600000), -1);
  EXPECT_EQ(RedisHourOfMs(INT64_MIN), INT64_MIN / 3600000 - 1);
  // Hours a name cannot carry format to something no parser accepts.
  for (int64_t h : {int64_t{-1}, int64_t{2932897} * 24, INT64_MIN, INT64_MAX}) {
    EXPECT_FALSE(ParseRedisHour(FormatRedisHour(h)).ok()) << h;
  }
}

TEST(RedisStreamNames, MalformedNamesAreRefused) {
  const std::string p = "redis/0123456789abcdef/";
  const std::string c = "01a1f2b3c4d5-89abcdef";
  const std::string r = "0000000000000010-0000000000002000";
  ASSERT_TRUE(ParseRedisObjectName(p + "seg/" + c + "/2026111811/" + r).ok());
  for (const std::string& bad : {std::string(""),
                                 std::string("redis/"),
                                 p,
                                 p + "chains",
                                 p + "chains/",
                                 "redis/0123456789abcde/chains/" + c,   // source: 15 hex
                                 "redis/0123456789ABCDEF/chains/" + c,  // upper case
                                 "redis/0123456789abcdeg/chains/" + c,  // not hex
                                 "redis/../chains/" + c,
                                 p + "../chains/" + c,
                                 p + "chains/..",
                                 p + "chains/" + c + "/..",
                                 "wal/0123456789abcdef/chains/" + c,
                                 "/redis/0123456789abcdef/chains/" + c,
                                 p + "chains/01a1f2b3c4d-89abcdef",  // 11 hex of time
                                 p + "chains/01a1f2b3c4d5-89abcde",  // 7 hex of tag
                                 p + "chains/01a1f2b3c4d5_89abcdef",
                                 p + "chains/01a1f2b3c4d5-89abcdef0",
                                 p + "chains/" + c + "/",
                                 p + "chains/" + c + "/x",  // extra path element
                                 p + "base/" + c + "/12345",
                                 p + "base/" + c + "/0000012",
                                 p + "base/" + c + "/00001a",
                                 p + "base/" + c + "/+00012",
                                 p + "base/" + c,
                                 p + "base/" + c + "/000012/x",
                                 p + "seg/" + c + "/" + r,             // no hour
                                 p + "seg/" + c + "/2026113024/" + r,  // hour 24
                                 p + "seg/" + c + "/2026023100/" + r,  // 31 February
                                 p + "seg/" + c + "/2025022900/" + r,  // not a leap year
                                 p + "seg/" + c + "/2026130100/" + r,
                                 p + "seg/" + c + "/2026000100/" + r,
                                 p + "seg/" + c + "/1969123123/" + r,
                                 p + "seg/" + c + "/202611300/" + r,
                                 p + "seg/" + c + "/2026111811/0000000000002000-0000000000000010",  // S > E
                                 p + "seg/" + c + "/2026111811/0000000000000010-0000000000000010",  // S = E
                                 p + "seg/" + c + "/2026111811/000000000000010-0000000000002000",   // 15 hex
                                 p + "seg/" + c + "/2026111811/0000000000000010-00000000000002000",
                                 p + "seg/" + c + "/2026111811/0000000000000010+0000000000002000",
                                 p + "seg/" + c + "/2026111811/" + r + "/x",
                                 p + "seg/" + c + "/2026111811/x/" + r,
                                 p + "seg/" + c + "/2026111811/../" + r,
                                 p + "seg/" + c + "//" + r,
                                 p + "ids/" + c + "/abc",
                                 p + "ids/" + c + "/0000000000000ABC",
                                 p + "ids/" + c + "/0000000000000abc/",
                                 p + "events/" + c + "/019c2a4e3c00f",
                                 p + "events/" + c + "/019c2a4e3c0",
                                 p + "events/" + c,
                                 p + "other/" + c + "/x",
                                 p + "Chains/" + c,
                                 p + "seg/" + c + "/2026111811/" + r + ".stb-tmp"}) {
    EXPECT_FALSE(ParseRedisObjectName(bad).ok()) << bad;
  }
}

TEST(RedisStreamNames, ChainIdsSortByTime) {
  auto a = ParseRedisChainId("000000000001-ffffffff");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->base_ms, 1);
  EXPECT_EQ(a->tag, 0xffffffffu);
  EXPECT_EQ(a->Str(), "000000000001-ffffffff");
  EXPECT_LT((RedisChainId{999, 0xffffffff}.Str()), (RedisChainId{1000, 0}.Str()));
}

TEST(RedisStreamContiguity, RunFromTheBaseAndGaps) {
  auto c = ChainContiguity(100, {});
  EXPECT_EQ(c.durable_end, 100u);
  EXPECT_TRUE(c.missing.empty());
  c = ChainContiguity(100, {{300, 400}, {100, 200}, {200, 300}});
  EXPECT_EQ(c.durable_end, 400u);
  EXPECT_TRUE(c.missing.empty());
  c = ChainContiguity(100, {{100, 200}, {250, 300}, {300, 310}, {400, 500}});
  EXPECT_EQ(c.durable_end, 200u);
  EXPECT_EQ(c.missing, (std::vector<RedisRange>{{200, 250}, {310, 400}}));
  c = ChainContiguity(100, {{150, 200}});  // nothing starts at the base
  EXPECT_EQ(c.durable_end, 100u);
  EXPECT_EQ(c.missing, (std::vector<RedisRange>{{100, 150}}));
  // Overlaps (a re-sent range) and segments before the base do not break the run.
  c = ChainContiguity(100, {{50, 100}, {100, 200}, {150, 260}, {260, 300}});
  EXPECT_EQ(c.durable_end, 300u);
  EXPECT_TRUE(c.missing.empty());
}

TEST(RedisChainMetaJson, RoundTripAndTypedFields) {
  RedisChainMeta m;
  m.replid = kReplid;
  m.base_offset = 1000;
  m.base_ms = kT0;
  m.redis_version = "7.2.4";
  m.run_id_hash = "0123456789abcdef";
  m.pieces = {{16, Id{}}, {4, Id{}}};
  m.rdb_size = 20;
  m.keyspace = {{0, 10, 2}, {3, 1, 0}};
  auto back = ParseRedisChainMeta(EncodeRedisChainMeta(m));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, m);
  std::string good = EncodeRedisChainMeta(m);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  for (const std::string& bad :
       {std::string("[]"), std::string("{"), std::string("null"), with(kReplid, kReplid.substr(1)),
        with(kReplid, "8371445EE0D8E5BD81A1A2A4D3C1ED4BA2C6B8B5"), with(kReplid, kReplid + "0"),
        with("\"base_offset\":1000", "\"base_offset\":-1"), with("\"base_offset\":1000", "\"base_offset\":1.5"),
        with("\"base_offset\":1000", "\"base_offset\":\"1000\""), with("\"base_ms\":1795000000000", "\"base_ms\":-5"),
        with("7.2.4", "7.2.4; rm -rf"), with("7.2.4", ""), with("7.2.4", std::string(40, '7')),
        with("0123456789abcdef", "0123"), with("\"rdb_size\":20", "\"rdb_size\":21"), with("\"db\":3", "\"db\":-3"),
        with("\"replid\"", "\"replidx\"")}) {
    EXPECT_FALSE(ParseRedisChainMeta(bad).ok()) << bad;
  }
  // A field added by a later version is ignored, not an error.
  EXPECT_TRUE(ParseRedisChainMeta(with("{", "{\"later\":[1,2],")).ok());
  EXPECT_TRUE(ParseRedisChainMeta(with("7.2.4", "7.9.240-rc1+build")).ok());
}

TEST(RedisChainEventJson, RoundTripAndTypedFields) {
  RedisChainEvent e;
  e.type = RedisChainEvent::kGap;
  e.at_ms = kT0;
  e.offset = 5000;
  e.last_arrival_ms = kT0 - 10;
  e.next_chain = "01a1f2b3c4d5-89abcdef";
  e.detail = "same run_id: backlog overflow";
  auto back = ParseRedisChainEvent(EncodeRedisChainEvent(e));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, e);
  RedisChainEvent lost;
  lost.at_ms = kT0;
  EXPECT_TRUE(ParseRedisChainEvent(EncodeRedisChainEvent(lost)).ok());
  lost.next_chain = e.next_chain;  // only restart and gap name a next chain
  EXPECT_FALSE(ParseRedisChainEvent(EncodeRedisChainEvent(lost)).ok());
  e.next_chain = "../../x";
  EXPECT_FALSE(ParseRedisChainEvent(EncodeRedisChainEvent(e)).ok());
  e.next_chain = "01a1f2b3c4d5-89abcdef";
  e.detail = std::string(201, 'a');
  EXPECT_FALSE(ParseRedisChainEvent(EncodeRedisChainEvent(e)).ok());
  e.detail = "line\nbreak";
  EXPECT_FALSE(ParseRedisChainEvent(EncodeRedisChainEvent(e)).ok());
  EXPECT_FALSE(ParseRedisChainEvent(R"({"type":"exploded","at_ms":1,"offset":1,"last_arrival_ms":1})").ok());
}

TEST_F(RedisStreamStoreTest, SegmentRoundTripRawAndCompressed) {
  Bytes compressible(4096, 'a');
  Bytes random = RandomBytes(100);
  for (const Bytes& raw : {compressible, random}) {
    uint64_t s = 1000 + raw.size();  // a distinct range per body
    auto sealed = store_->Seal(Seg(s, s + raw.size()), SegObject(s), raw);
    ASSERT_TRUE(sealed.ok()) << sealed.status().message();
    ASSERT_TRUE(store_->PutSealed(*storage_, *sealed).ok());
    auto o = store_->ReadObject(*storage_, sealed->name);
    ASSERT_TRUE(o.ok()) << o.status().message();
    EXPECT_EQ(o->raw, raw);
    EXPECT_EQ(o->start, s);
    EXPECT_EQ(o->end, s + raw.size());
    EXPECT_EQ(o->db, -1);
    EXPECT_EQ(o->time_index, (std::vector<RedisTimeIndexEntry>{{0, kT0}, {7, kT0 + 3}}));
    EXPECT_EQ(o->first_arrival_ms, kT0);
    EXPECT_EQ(o->last_arrival_ms, kT0 + 3);
    EXPECT_EQ(o->content_id, sealed->content_id);
  }
  EXPECT_LT(storage_->Stat(store_->Seal(Seg(5096, 9192), SegObject(5096), compressible)->name).value(), 1000u);
}

TEST_F(RedisStreamStoreTest, SealRefusesWhatOpenWouldRefuse) {
  Bytes raw(10, 'x');
  EXPECT_FALSE(store_->Seal(Seg(0, 11), SegObject(0), raw).ok());  // name range is not the bytes
  RedisStreamObject o = SegObject(0);
  o.time_index = {{3, kT0}, {3, kT0}};
  EXPECT_FALSE(store_->Seal(Seg(0, 10), o, raw).ok());
  o.time_index = {{11, kT0}};
  EXPECT_FALSE(store_->Seal(Seg(0, 10), o, raw).ok());
  o.time_index = {{0, kT0 + 3}, {5, kT0}};
  EXPECT_FALSE(store_->Seal(Seg(0, 10), o, raw).ok());
  o = SegObject(0);
  o.db = -2;
  EXPECT_FALSE(store_->Seal(Seg(0, 10), o, raw).ok());
  o = SegObject(0);
  o.first_arrival_ms = kT0 + 10;
  EXPECT_FALSE(store_->Seal(Seg(0, 10), o, raw).ok());
  RedisStreamName piece;
  piece.kind = RedisObjectKind::kBasePiece;
  piece.chain = chain_;
  EXPECT_FALSE(store_->Seal(piece, SegObject(0), raw).ok());  // kinds differ
  RedisStreamName bad_hour = Seg(0, 10);
  bad_hour.hour = -1;
  EXPECT_FALSE(store_->Seal(bad_hour, SegObject(0), raw).ok());
  RedisStreamName bad_chain = Seg(0, 10);
  bad_chain.chain = "../x";
  EXPECT_FALSE(store_->Seal(bad_chain, SegObject(0), raw).ok());
}

TEST_F(RedisStreamStoreTest, TamperingIsDetected) {
  ASSERT_TRUE(PutSeg(1000, 1100).ok());
  std::string name = RedisObjectName([&] {
    RedisStreamName n = Seg(1000, 1100);
    n.source = store_->source();
    return n;
  }());
  Bytes good = storage_->Get(name).value();
  ASSERT_TRUE(store_->ReadObject(*storage_, name).ok());
  for (size_t at : {size_t{0}, size_t{20}, good.size() / 2, good.size() - 1}) {
    Bytes bad = good;
    bad[at] ^= 0x01;
    ASSERT_TRUE(storage_->Put(name, bad).ok());
    auto o = store_->ReadObject(*storage_, name);
    EXPECT_EQ(o.status().code(), Code::kCorrupt) << at;
  }
  // The same sealed bytes under another (valid) name: the AAD differs.
  RedisStreamName other = Seg(1100, 1200);
  other.source = store_->source();
  ASSERT_TRUE(storage_->Put(RedisObjectName(other), good).ok());
  auto moved = store_->ReadObject(*storage_, RedisObjectName(other));
  EXPECT_EQ(moved.status().code(), Code::kCorrupt);
  EXPECT_NE(moved.status().message().find("fails authentication"), std::string::npos);
  EXPECT_EQ(store_->ReadObject(*storage_, "redis/" + store_->source() + "/chains/" + chain_).status().code(),
            Code::kNotFound);
}

TEST_F(RedisStreamStoreTest, PutSealedIsCreateOnly) {
  ASSERT_TRUE(PutSeg(1000, 1100, 'x').ok());
  EXPECT_TRUE(PutSeg(1000, 1100, 'x').ok());  // the same content again: a retry, not a conflict
  Status st = PutSeg(1000, 1100, 'y');
  EXPECT_EQ(st.code(), Code::kAlreadyExists);
  EXPECT_NE(st.message().find("seg/" + chain_), std::string::npos) << st.message();
  auto o = store_->ReadObject(*storage_, RedisObjectName([&] {
    RedisStreamName n = Seg(1000, 1100);
    n.source = store_->source();
    return n;
  }()));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->raw, Bytes(100, 'x'));  // never overwritten
}

TEST_F(RedisStreamStoreTest, MetaEventsIdsAndListing) {
  RedisChainMeta m;
  m.replid = kReplid;
  m.base_offset = 1000;
  m.base_ms = kT0;
  m.redis_version = "7.2.4";
  m.run_id_hash = RedisStreamStore::RunIdHash(*repo_, "run");
  Bytes piece0 = Text("REDIS0011 piece");
  m.pieces = {{piece0.size(), repo_->hmac().Compute(piece0.data(), piece0.size())}};
  m.rdb_size = piece0.size();
  RedisStreamName pn;
  pn.kind = RedisObjectKind::kBasePiece;
  pn.chain = chain_;
  RedisStreamObject po;
  po.kind = RedisObjectKind::kBasePiece;
  auto piece = store_->Seal(pn, po, piece0);
  ASSERT_TRUE(piece.ok()) << piece.status().message();
  ASSERT_TRUE(store_->PutSealed(*storage_, *piece).ok());
  auto meta = store_->SealMeta(chain_, m);
  ASSERT_TRUE(meta.ok()) << meta.status().message();
  ASSERT_TRUE(store_->PutSealed(*storage_, *meta).ok());
  ASSERT_TRUE(PutSeg(1000, 1100).ok());
  ASSERT_TRUE(PutSeg(1200, 1300).ok());
  RedisChainEvent ev;
  ev.at_ms = kT0 + 100;
  ev.offset = 1100;
  ev.last_arrival_ms = kT0 + 90;
  auto sev = store_->SealEvent(chain_, ev);
  ASSERT_TRUE(sev.ok()) << sev.status().message();
  ASSERT_TRUE(store_->PutSealed(*storage_, *sev).ok());
  std::string next_replid(40, 'c');
  auto sw = store_->SealReplidSwitch(chain_, 1100, next_replid);
  ASSERT_TRUE(sw.ok()) << sw.status().message();
  ASSERT_TRUE(store_->PutSealed(*storage_, *sw).ok());
  EXPECT_FALSE(store_->SealReplidSwitch(chain_, 1100, "not-a-replid").ok());
  ASSERT_TRUE(storage_->Put("redis/" + store_->source() + "/seg/junk", Text("x")).ok());

  EXPECT_EQ(*store_->ReadMeta(*storage_, chain_), m);
  EXPECT_EQ(*store_->ReadEvent(*storage_, chain_, kT0 + 100), ev);
  EXPECT_EQ(*store_->ReadReplidSwitch(*storage_, chain_, 1100), next_replid);

  auto all = store_->List(*storage_);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->chains.size(), 1u);
  const RedisChainListing& c = all->chains.at(chain_);
  EXPECT_TRUE(c.has_meta);
  EXPECT_EQ(c.pieces.size(), 1u);
  EXPECT_EQ(c.replid_switches, std::vector<uint64_t>{1100});
  EXPECT_EQ(c.events, std::vector<int64_t>{kT0 + 100});
  EXPECT_EQ(all->unknown, std::vector<std::string>{"redis/" + store_->source() + "/seg/junk"});
  auto contig = ChainContiguity(m.base_offset, c.Ranges());
  EXPECT_EQ(contig.durable_end, 1100u);
  EXPECT_EQ(contig.missing, (std::vector<RedisRange>{{1100, 1200}}));

  auto one = store_->ListChain(*storage_, chain_);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->segments.size(), 2u);
  EXPECT_TRUE(one->has_meta);
  auto hour = store_->ListHour(*storage_, chain_, RedisHourOfMs(kT0));
  ASSERT_TRUE(hour.ok());
  EXPECT_EQ(hour->size(), 2u);
  EXPECT_TRUE(store_->ListHour(*storage_, chain_, RedisHourOfMs(kT0) + 1)->empty());
  EXPECT_EQ(*RedisStreamStore::ListSources(*storage_), std::vector<std::string>{store_->source()});

  // A meta object whose body is not a chain meta (sealed as one, so it authenticates).
  RedisStreamName mn;
  mn.kind = RedisObjectKind::kChainMeta;
  mn.chain = RedisStreamStore::ChainOf(*repo_, kT0 + 1, kReplid, 2000);
  RedisStreamObject mo;
  mo.kind = RedisObjectKind::kChainMeta;
  auto junk = store_->Seal(mn, mo, Text("{\"replid\":1}"));
  ASSERT_TRUE(store_->PutSealed(*storage_, *junk).ok());
  EXPECT_EQ(store_->ReadMeta(*storage_, mn.chain).status().code(), Code::kCorrupt);
}

TEST(RedisStreamPlaintext, DecoderChecksEveryField) {
  Hmac hmac(Bytes(32, 0x29));
  RedisStreamObject o;
  o.start = 500;
  o.first_arrival_ms = 10;
  o.last_arrival_ms = 20;
  o.time_index = {{0, 10}, {4, 20}};
  Bytes raw(8, 'z');
  auto plain = EncodeRedisPlaintext(o, raw, 0, hmac);
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(DecodeRedisPlaintext(*plain, hmac).ok());
  auto patched = [&](size_t at, std::initializer_list<uint8_t> bytes) {
    Bytes b = *plain;
    std::copy(bytes.begin(), bytes.end(), b.begin() + static_cast<ptrdiff_t>(at));
    return DecodeRedisPlaintext(b, hmac).status();
  };
  EXPECT_FALSE(patched(0, {'S', 'T', 'B', 'W'}).ok());
  EXPECT_FALSE(patched(4, {2}).ok());                        // version
  EXPECT_FALSE(patched(5, {5}).ok());                        // kind
  EXPECT_FALSE(patched(6, {2}).ok());                        // body encoding
  EXPECT_FALSE(patched(6, {1}).ok());                        // says zstd, is raw
  EXPECT_FALSE(patched(7, {2}).ok());                        // unknown flag
  EXPECT_FALSE(patched(16, {0xf3, 0x01}).ok());              // end 499 < start 500
  EXPECT_FALSE(patched(16, {0xfd, 0x01}).ok());              // end: body length differs
  EXPECT_FALSE(patched(16, {0, 0, 0, 0, 0, 0, 0, 1}).ok());  // end: huge
  EXPECT_FALSE(patched(32, {21}).ok());                      // first arrival after last
  EXPECT_FALSE(patched(48, {0xfe, 0xff, 0xff, 0xff}).ok());  // db -2
  EXPECT_FALSE(patched(56, {3}).ok());                       // one entry more than stored
  EXPECT_FALSE(patched(56, {0xff, 0xff, 0xff, 0xff}).ok());  // count past the end
  EXPECT_FALSE(patched(92 + 12, {0}).ok());                  // offsets not increasing
  EXPECT_FALSE(patched(92 + 12, {9}).ok());                  // offset past the end
  EXPECT_FALSE(patched(92 + 4, {9}).ok());                   // time before first arrival
  EXPECT_FALSE(patched(60, {0}).ok());                       // content id
  EXPECT_FALSE(patched(plain->size() - 1, {'y'}).ok());      // body
  Bytes short_plain(plain->begin(), plain->begin() + 91);
  EXPECT_FALSE(DecodeRedisPlaintext(short_plain, hmac).ok());
  // A zstd frame of another size than the header says is refused.
  RedisStreamObject big;
  big.first_arrival_ms = big.last_arrival_ms = 1;
  auto zplain = EncodeRedisPlaintext(big, Bytes(4096, 'a'), 3, hmac);
  ASSERT_TRUE(zplain.ok());
  ASSERT_EQ((*zplain)[6], 1);
  ASSERT_TRUE(DecodeRedisPlaintext(*zplain, hmac).ok());
  Bytes z = *zplain;
  z[16] = 0xff;  // end 4095
  EXPECT_FALSE(DecodeRedisPlaintext(z, hmac).ok());
}

// Records how much each Get asked for: a reader must bound its reads (review finding M3).
class GetRecorder : public Storage {
 public:
  explicit GetRecorder(Storage& inner) : inner_(inner) {}
  std::string Describe() const override { return inner_.Describe(); }
  StorageCaps Caps() const override { return inner_.Caps(); }
  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    return inner_.Put(name, data, n, mode);
  }
  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    lengths.push_back(length);
    return inner_.Get(name, offset, length);
  }
  StatusOr<uint64_t> Stat(const std::string& name) override { return inner_.Stat(name); }
  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override { return inner_.List(prefix); }
  Status Remove(const std::string& name) override { return inner_.Remove(name); }
  std::vector<uint64_t> lengths;

 private:
  Storage& inner_;
};

TEST_F(RedisStreamStoreTest, ReadsAreBoundedBeforeAnythingIsHeld) {
  Bytes raw(10, 'x');
  auto sealed = store_->Seal(Seg(0, 10), SegObject(0), raw);
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(store_->PutSealed(*storage_, *sealed).ok());
  GetRecorder rec(*storage_);
  ASSERT_TRUE(store_->ReadObject(rec, sealed->name).ok());
  ASSERT_EQ(rec.lengths.size(), 1u);
  EXPECT_EQ(rec.lengths[0], kRedisStreamMaxSealed + 1) << "a Redis stream object was read without a bound";

  WalStore wal(*repo_, "0123456789abcdef");
  WalName h;
  h.kind = WalName::kHistory;
  h.tli = 2;
  WalSealed w = wal.Seal(h, 1, 0, Text("1\t0/3000000\tno recovery target specified\n"));
  ASSERT_TRUE(wal.PutSealed(*storage_, w).ok());
  rec.lengths.clear();
  ASSERT_TRUE(wal.ReadObject(rec, w.name).ok());
  ASSERT_EQ(rec.lengths.size(), 1u);
  EXPECT_EQ(rec.lengths[0], kWalMaxSealedSize + 1) << "a WAL object was read without a bound";

  // The shared helper: at the limit is read, one byte more is refused, naming the limit.
  ASSERT_TRUE(storage_->Put("x/obj", Bytes(11, 'y')).ok());
  EXPECT_TRUE(GetSealedBounded(*storage_, "x/obj", 11).ok());
  auto big = GetSealedBounded(*storage_, "x/obj", 10);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), Code::kCorrupt);
  EXPECT_NE(big.status().message().find("larger than 10 bytes"), std::string::npos);
}

}  // namespace
}  // namespace stb
