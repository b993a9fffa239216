#include "wal/wal_receiver.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <deque>

#include "fault_storage.h"
#include "repo_fixture.h"
#include "wal_segment.h"

namespace stb {
namespace {

constexpr uint32_t kSeg = 1u << 20;
constexpr uint64_t kSysid = 7310931155431581234ull;

Bytes Be64(uint64_t v) {
  Bytes b;
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return b;
}

Bytes XLogData(uint64_t start, uint64_t end, std::span<const uint8_t> wal) {
  Bytes m{'w'};
  for (uint64_t v : {start, end, uint64_t{42}}) {
    Bytes b = Be64(v);
    m.insert(m.end(), b.begin(), b.end());
  }
  m.insert(m.end(), wal.begin(), wal.end());
  return m;
}

TEST(WalStreamCodec, XLogDataVector) {
  Bytes m = {'w', 0,    0, 0, 0,    0x05, 0,    0,    0x28, 0,    0,    0,    0,   0x05,
             0,   0x10, 0, 0, 0x02, 0x9A, 0x3B, 0x5C, 0x4D, 0x1E, 0x00, 0xAA, 0xBB};
  auto r = ParseWalStreamMessage(m);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->type, WalStreamMessage::kXLogData);
  EXPECT_EQ(r->data_start, 0x5000028ull);
  EXPECT_EQ(r->wal_end, 0x5001000ull);
  EXPECT_EQ(r->send_time, 0x029A3B5C4D1E00ll);
  ASSERT_EQ(r->data.size(), 2u);
  EXPECT_EQ(r->data[0], 0xAA);
  EXPECT_EQ(r->data[1], 0xBB);
}

TEST(WalStreamCodec, KeepaliveVector) {
  Bytes m = {'k', 0, 0, 0, 1, 0, 0, 0, 0x60, 0, 0, 0, 0, 0, 0, 0, 7, 1};
  auto r = ParseWalStreamMessage(m);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->type, WalStreamMessage::kKeepalive);
  EXPECT_EQ(r->wal_end, 0x100000060ull);
  EXPECT_EQ(r->send_time, 7);
  EXPECT_TRUE(r->reply_requested);
  m[17] = 0;
  EXPECT_FALSE(ParseWalStreamMessage(m)->reply_requested);
}

TEST(WalStreamCodec, MalformedMessagesAreCorrupt) {
  EXPECT_EQ(ParseWalStreamMessage(Bytes{}).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseWalStreamMessage(Bytes(24, 'w')).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseWalStreamMessage(Bytes(17, 'k')).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseWalStreamMessage(Bytes(19, 'k')).status().code(), Code::kCorrupt);
  Bytes k(18, 0);
  k[0] = 'k';
  k[17] = 2;
  EXPECT_EQ(ParseWalStreamMessage(k).status().code(), Code::kCorrupt);
  EXPECT_EQ(ParseWalStreamMessage(Bytes{'x', 0}).status().code(), Code::kCorrupt);
  Bytes past = XLogData(~uint64_t{0}, 0, Bytes{1, 2});
  EXPECT_EQ(ParseWalStreamMessage(past).status().code(), Code::kCorrupt);
}

TEST(WalStreamCodec, StandbyStatusVector) {
  Bytes r = EncodeStandbyStatus(0x5000100, 0x5000080, 0, PgTimeFromUnixMicros(946684800000001), true);
  Bytes want = {'r', 0, 0, 0, 0, 0x05, 0, 0x01, 0x00, 0, 0, 0, 0, 0x05, 0, 0x00, 0x80,
                0,   0, 0, 0, 0, 0,    0, 0,    0,    0, 0, 0, 0, 0,    0, 1,    1};
  EXPECT_EQ(r, want);
  EXPECT_EQ(PgTimeFromUnixMicros(946684800000000), 0);
  EXPECT_EQ(UnixMicrosFromPgTime(0), 946684800000000);
}

TEST(WalStreamCodec, PgSizes) {
  EXPECT_EQ(ParsePgSize("16MB").value(), 16u << 20);
  EXPECT_EQ(ParsePgSize("1GB").value(), 1ull << 30);
  EXPECT_EQ(ParsePgSize("8kB").value(), 8192u);
  EXPECT_EQ(ParsePgSize("16777216").value(), 16u << 20);
  EXPECT_FALSE(ParsePgSize("MB").ok());
  EXPECT_FALSE(ParsePgSize("lots").ok());
}

class WalReceiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = NewMemStorage();
    ASSERT_TRUE(Repository::Init(*mem_, FixtureKey()).ok());
    repo_ = std::move(Repository::Open(mem_, FixtureKey()).value());
    faulty_ = std::make_shared<FaultStorage>(mem_);
    store_ = std::make_unique<WalStore>(*repo_, WalStore::ClusterOf(*repo_, kSysid));
  }
  // The end of the WAL that is durable without a gap from `from`.
  uint64_t DurableEnd(uint32_t tli, uint64_t from) {
    uint64_t end = from;
    for (uint64_t segno = from / kSeg;; ++segno) {
      auto p = store_->ReadSegmentOrPrefix(*mem_, tli, segno, kSeg);
      EXPECT_TRUE(p.ok());
      if (!p.ok() || !p->has_value()) return end;
      end = segno * kSeg + (*p)->size();
      if ((*p)->size() < kSeg) return end;
    }
  }
  // The first 5000 bytes of segment `segno` (timeline 1), stored as a part.
  void StorePart(uint64_t segno) {
    WalSink sink(*store_, *mem_, kSysid, kSeg);
    sink.Begin(1, segno * kSeg);
    Bytes seg = FakeWalSegment(1, segno, kSeg, kSysid);
    ASSERT_TRUE(sink.Append(segno * kSeg, std::span<const uint8_t>(seg).first(5000)).ok());
    ASSERT_TRUE(sink.Flush().ok());
  }
  std::shared_ptr<Storage> mem_;
  std::shared_ptr<FaultStorage> faulty_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<WalStore> store_;
};

TEST_F(WalReceiverTest, SinkSplitsAtTheSegmentBoundary) {
  WalSink sink(*store_, *mem_, kSysid, kSeg);
  sink.Begin(1, 5 * kSeg + 12345);  // rounded down to the segment start
  EXPECT_EQ(sink.received(), 5 * kSeg);
  Bytes wal = FakeWalSegment(1, 5, kSeg, kSysid);
  Bytes next = FakeWalSegment(1, 6, kSeg, kSysid);
  wal.insert(wal.end(), next.begin(), next.begin() + 1000);
  // One message straddling the boundary, after a first part.
  ASSERT_TRUE(sink.Append(5 * kSeg, std::span<const uint8_t>(wal).first(700000)).ok());
  ASSERT_TRUE(sink.Flush().ok());
  ASSERT_TRUE(sink.Append(5 * kSeg + 700000, std::span<const uint8_t>(wal).subspan(700000)).ok());
  EXPECT_EQ(sink.segments_stored(), 1u);
  EXPECT_EQ(sink.durable(), 6 * kSeg);
  ASSERT_TRUE(sink.Flush().ok());
  EXPECT_EQ(sink.durable(), 6 * kSeg + 1000);

  auto whole = store_->Read(*mem_, SegmentWalName(1, 5, kSeg));
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(whole->kind, WalName::kSegment);
  EXPECT_EQ(whole->raw, Bytes(wal.begin(), wal.begin() + kSeg));
  auto part_name = SegmentWalName(1, 6, kSeg, WalName::kPart);
  part_name.begin = 0;
  part_name.end = 1000;
  ASSERT_TRUE(store_->Read(*mem_, part_name).ok());
  auto prefix = store_->ReadSegmentOrPrefix(*mem_, 1, 6, kSeg);
  ASSERT_TRUE(prefix.ok() && prefix->has_value());
  EXPECT_EQ(**prefix, Bytes(next.begin(), next.begin() + 1000));
  // Data not at the received position is refused (the stream restarts).
  EXPECT_EQ(sink.Append(6 * kSeg + 999, next).code(), Code::kUnavailable);
}

// A scripted walsender: each entry is a message, or an empty Bytes for "nothing more now".
class FakeSource : public WalSource {
 public:
  FakeSource(StopToken& stop, std::function<void(uint64_t flushed)> on_status) : stop_(stop), on_status_(on_status) {}
  StatusOr<SystemInfo> IdentifySystem() override { return SystemInfo{kSysid, 1, 9 * kSeg}; }
  StatusOr<uint32_t> SegmentSize() override { return kSeg; }
  Status CreatePhysicalSlot(const std::string&) override {
    if (!exists) exists = true, restart = recreated_restart;
    return Status::Ok();
  }
  Status DropSlot(const std::string&) override {
    exists = false, restart = std::nullopt, lost = false, ++drops;
    return Status::Ok();
  }
  StatusOr<std::optional<uint64_t>> SlotKeepSize() override { return keep_size; }
  StatusOr<std::optional<uint64_t>> ReadSlotRestartLsn(const std::string&) override { return restart; }
  StatusOr<bool> SlotLost(const std::string&) override { return lost; }
  StatusOr<std::pair<std::string, std::string>> TimelineHistory(uint32_t) override {
    return Unavailable("no history here");
  }
  Status StartReplication(const std::string&, uint64_t lsn, uint32_t tli) override {
    if (lsn < removed_below) return NotFound("requested WAL segment has already been removed");
    started_at = lsn;
    EXPECT_EQ(tli, 1u);
    return Status::Ok();
  }
  StatusOr<Received> Receive(int) override {
    Received r;
    if (script.empty() && end_removed) {  // the server ends the stream: the WAL is gone
      r.kind = Received::kEndOfTimeline;
      return r;
    }
    if (script.empty()) {
      stop_.Stop();
      return r;
    }
    Bytes m = std::move(script.front());
    script.pop_front();
    if (!m.empty()) {
      r.kind = Received::kMessage;
      r.message = std::move(m);
    }
    return r;
  }
  Status Send(const Bytes& m) override {
    EXPECT_EQ(m.size(), 34u);
    EXPECT_EQ(m[0], 'r');
    uint64_t written = 0, flushed = 0;
    for (int i = 0; i < 8; ++i) written = written << 8 | m[1 + i], flushed = flushed << 8 | m[9 + i];
    EXPECT_EQ(written, flushed);
    on_status_(flushed);
    ++statuses;
    return Status::Ok();
  }
  StatusOr<std::pair<uint32_t, uint64_t>> FinishTimeline() override {
    if (end_removed) return NotFound("requested WAL segment 000000010000000000000002 has already been removed");
    return Unavailable("not scripted");
  }

  std::deque<Bytes> script;
  bool exists = true;
  std::optional<uint64_t> recreated_restart;  // what a slot created afresh reserves
  std::optional<uint64_t> keep_size;          // max_slot_wal_keep_size
  bool end_removed = false;
  int drops = 0;
  std::optional<uint64_t> restart = 5 * kSeg + 40;
  bool lost = false;  // wal_status = 'lost
  uint64_t removed_below = 0;
  uint64_t started_at = 0;
  int statuses = 0;

 private:
  StopToken& stop_;
  std::function<void(uint64_t)> on_status_;
};

// The slot lets the server recycle everything below the flush position we report: it must never
// be past what the local repository holds durably, also when storing fails.
TEST_F(WalReceiverTest, ReportedFlushIsNeverPastDurable) {
  for (bool fail_puts : {false, true}) {
    SetUp();
    StopToken stop;
    uint64_t max_reported = 0;
    int puts = 0;
    faulty_->SetHook([&](FaultOp op, const std::string&) {
      if (op == FaultOp::kPut && fail_puts && ++puts > 2) return IoError("disk full");
      return Status::Ok();
    });
    FakeSource src(stop, [&](uint64_t flushed) {
      uint64_t durable = DurableEnd(1, 5 * kSeg);
      EXPECT_LE(flushed, durable) << "reported " << FormatLsn(flushed) << " with only " << FormatLsn(durable)
                                  << " durable";
      max_reported = std::max(max_reported, flushed);
    });
    Bytes wal = FakeWalSegment(1, 5, kSeg, kSysid);
    Bytes next = FakeWalSegment(1, 6, kSeg, kSysid);
    wal.insert(wal.end(), next.begin(), next.end());
    for (uint64_t off = 0; off < 2 * kSeg - 100000; off += 100000) {
      src.script.push_back(XLogData(5 * kSeg + off, 7 * kSeg, std::span<const uint8_t>(wal).subspan(off, 100000)));
      if (off % 300000 == 0) src.script.push_back(Bytes{});  // a batch ends: sync mode flushes
    }
    Bytes k(18, 0);
    k[0] = 'k';
    k[17] = 1;  // reply requested
    src.script.push_back(k);
    WalReceiverOptions o;
    o.sync = true;
    WalReceiver receiver(*repo_, *faulty_, {}, o, stop);
    Status st = receiver.RunSession(src);
    EXPECT_EQ(src.started_at, 5 * kSeg);  // the slot's restart_lsn, rounded down
    if (!fail_puts) {
      ASSERT_TRUE(st.ok()) << st.message();
      EXPECT_EQ(max_reported, 5 * kSeg + 2000000);
      EXPECT_GT(receiver.sink()->parts_stored(), 3u);
      EXPECT_EQ(receiver.sink()->segments_stored(), 1u);
    } else {
      EXPECT_EQ(st.code(), Code::kIo);
      EXPECT_LT(max_reported, 6 * kSeg);
    }
    EXPECT_GT(src.statuses, 0);
  }
}

// Each cloud location gets the complete segment as the local bytes (its outbox entry removed once
// there) and the rest as parts, so that it can serve the same prefix.
TEST_F(WalReceiverTest, ShipsSegmentsAndPartsOffsite) {
  StopToken stop;
  FakeSource src(stop, [](uint64_t) {});
  Bytes wal = FakeWalSegment(1, 5, kSeg, kSysid);
  Bytes next = FakeWalSegment(1, 6, kSeg, kSysid);
  wal.insert(wal.end(), next.begin(), next.begin() + 300000);
  for (uint64_t off = 0; off < wal.size(); off += 150000) {
    size_t n = std::min<size_t>(150000, wal.size() - off);
    src.script.push_back(XLogData(5 * kSeg + off, 7 * kSeg, std::span<const uint8_t>(wal).subspan(off, n)));
    src.script.push_back(Bytes{});
  }
  auto cloud = std::shared_ptr<Storage>(NewMemStorage());
  std::string outbox = "/tmp/stb-wal-receiver-test-" + std::to_string(::getpid());
  WalReceiverOptions o;
  o.sync = true;
  o.offsite_interval_ms = 5;
  o.outbox_dir = outbox;
  WalReceiver receiver(*repo_, *mem_, {WalOffsite{"s3", cloud}}, o, stop);
  ASSERT_TRUE(receiver.RunSession(src).ok());
  receiver.FinishShipping();
  auto seg5 = store_->Read(*cloud, SegmentWalName(1, 5, kSeg));
  ASSERT_TRUE(seg5.ok()) << seg5.status().message();
  EXPECT_EQ(seg5->raw, Bytes(wal.begin(), wal.begin() + kSeg));
  EXPECT_EQ(cloud->Get(store_->ObjectName(SegmentWalName(1, 5, kSeg))).value(),
            mem_->Get(store_->ObjectName(SegmentWalName(1, 5, kSeg))).value());
  auto prefix = store_->ReadSegmentOrPrefix(*cloud, 1, 6, kSeg);
  ASSERT_TRUE(prefix.ok() && prefix->has_value());
  EXPECT_EQ(**prefix, Bytes(next.begin(), next.begin() + 300000));
  EXPECT_EQ(std::system(("test -z \"$(ls -A " + outbox + "/s3)\"").c_str()), 0) << "outbox entry left";
  std::system(("rm -rf " + outbox).c_str());
}

// A restart continues after the newest stored segment, at its segment's start.
TEST_F(WalReceiverTest, StartsAtTheSegmentOfTheNewestStoredWal) {
  StorePart(7);
  StopToken stop;
  FakeSource src(stop, [](uint64_t) {});
  WalReceiver receiver(*repo_, *mem_, {}, WalReceiverOptions{}, stop);
  ASSERT_TRUE(receiver.RunSession(src).ok());
  EXPECT_EQ(src.started_at, 7 * kSeg);
}

// The server removed WAL we had not received (the slot was lost): alerted as wal_slot_lost with
// the range, and streaming goes on from what the server still has.
TEST_F(WalReceiverTest, RemovedWalIsAlertedAndSkipped) {
  StorePart(2);
  StopToken stop;
  FakeSource src(stop, [](uint64_t) {});
  src.restart = std::nullopt;  // PostgreSQL 15 clears restart_lsn of a lost slot
  src.lost = true;
  src.removed_below = 9 * kSeg;
  std::vector<std::string> alerts;
  WalReceiver receiver(*repo_, *mem_, {}, WalReceiverOptions{}, stop,
                       [&](const std::string& event, const std::string&, const std::string& message) {
                         alerts.push_back(event + ": " + message);
                       });
  ASSERT_TRUE(receiver.RunSession(src).ok());
  EXPECT_EQ(src.started_at, 9 * kSeg);  // IDENTIFY_SYSTEM's xlogpos
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].find("wal_slot_lost: WAL 0/200000..0/900000"), std::string::npos) << alerts[0];
}

// PostgreSQL 15 invalidates a slot that keeps more than max_slot_wal_keep_size (restart_lsn
// cleared) yet still accepts START_REPLICATION on it: the receiver must see the loss itself,
// recreate the slot, alert the range, record it, and go on from the new slot's restart_lsn.
TEST_F(WalReceiverTest, InvalidatedSlotIsRecreatedAlertedAndRecorded) {
  StorePart(2);
  StopToken stop;
  FakeSource src(stop, [](uint64_t) {});
  src.restart = std::nullopt;
  src.lost = true;
  src.recreated_restart = 12 * kSeg + 100;
  std::vector<std::string> alerts;
  std::vector<WalLoss> losses;
  WalReceiverOptions o;
  o.on_loss = [&](const WalLoss& l) { losses.push_back(l); };
  WalReceiver receiver(*repo_, *mem_, {}, o, stop,
                       [&](const std::string& event, const std::string&, const std::string& message) {
                         alerts.push_back(event + ": " + message);
                       });
  ASSERT_TRUE(receiver.RunSession(src).ok());
  EXPECT_EQ(src.drops, 1);
  EXPECT_EQ(src.started_at, 12 * kSeg);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].find("wal_slot_lost: WAL 0/200000..0/C00000"), std::string::npos) << alerts[0];
  EXPECT_NE(alerts[0].find("invalidated"), std::string::npos) << alerts[0];
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_EQ(losses[0].from_lsn, 2 * kSeg);
  EXPECT_EQ(losses[0].to_lsn, 12 * kSeg);
  EXPECT_EQ(losses[0].cluster, WalStore::ClusterOf(*repo_, kSysid));
  EXPECT_EQ(losses[0].slot, "spacetime_backup");
}

// A slot created elsewhere without reserving WAL has no restart_lsn yet has lost nothing
// (wal_status is not 'lost'): streaming resumes from what is stored, no loss, no new slot.
TEST_F(WalReceiverTest, SlotWithoutRestartLsnIsNotLost) {
  StorePart(2);
  StopToken stop;
  FakeSource src(stop, [](uint64_t) {});
  src.restart = std::nullopt;
  std::vector<std::string> alerts;
  std::vector<WalLoss> losses;
  WalReceiverOptions o;
  o.on_loss = [&](const WalLoss& l) { losses.push_back(l); };
  WalReceiver receiver(
      *repo_, *mem_, {}, o, stop,
      [&](const std::string& event, const std::string&, const std::string&) { alerts.push_back(event); });
  ASSERT_TRUE(receiver.RunSession(src).ok());
  EXPECT_EQ(src.drops, 0);
  EXPECT_EQ(src.started_at, 2 * kSeg);
  EXPECT_TRUE(alerts.empty()) << alerts[0];
  EXPECT_TRUE(losses.empty());
}

// The removal shows only once streaming began (the server ends the copy with "has already been
// removed"): the next session does not retry the same position forever but records the loss.
TEST_F(WalReceiverTest, WalRemovedDuringTheStreamIsLostOnTheNextSession) {
  StorePart(2);
  StopToken stop;
  std::vector<std::string> alerts;
  WalReceiver receiver(
      *repo_, *mem_, {}, WalReceiverOptions{}, stop,
      [&](const std::string& event, const std::string&, const std::string&) { alerts.push_back(event); });
  FakeSource first(stop, [](uint64_t) {});
  first.end_removed = true;
  EXPECT_EQ(receiver.RunSession(first).code(), Code::kNotFound);
  EXPECT_EQ(first.started_at, 2 * kSeg);
  FakeSource second(stop, [](uint64_t) {});
  second.restart = 12 * kSeg + 100;  // the slot is valid but the server has nothing older
  ASSERT_TRUE(receiver.RunSession(second).ok());
  EXPECT_EQ(second.drops, 0);
  EXPECT_EQ(second.started_at, 12 * kSeg);
  EXPECT_EQ(alerts, std::vector<std::string>{"wal_slot_lost"});
}

// wal_behind fires once while the server is far ahead of what is stored: past WAL_BEHIND_MB, or
// past half max_slot_wal_keep_size (the slot would be invalidated at the whole).
TEST_F(WalReceiverTest, WalBehindFiresBeforeTheSlotIsLost) {
  for (bool limited : {false, true}) {
    SetUp();
    StopToken stop;
    FakeSource src(stop, [](uint64_t) {});
    if (limited) src.keep_size = 8 * uint64_t{kSeg};
    Bytes wal = FakeWalSegment(1, 5, kSeg, kSysid);
    for (uint64_t off = 0; off < 400000; off += 100000) {
      src.script.push_back(XLogData(5 * kSeg + off, 15 * kSeg, std::span<const uint8_t>(wal).subspan(off, 100000)));
    }
    std::vector<std::string> alerts;
    WalReceiverOptions o;
    o.status_interval_ms = 0;  // watch on every round
    WalReceiver receiver(*repo_, *mem_, {}, o, stop,
                         [&](const std::string& event, const std::string&, const std::string& message) {
                           alerts.push_back(event + ": " + message);
                         });
    ASSERT_TRUE(receiver.RunSession(src).ok());
    if (!limited) {
      EXPECT_TRUE(alerts.empty()) << alerts[0];
      continue;
    }
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_NE(alerts[0].find("wal_behind: slot spacetime_backup"), std::string::npos) << alerts[0];
    EXPECT_NE(alerts[0].find("limit 4 MiB"), std::string::npos) << alerts[0];
  }
}

}  // namespace
}  // namespace stb
