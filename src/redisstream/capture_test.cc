#include "redisstream/capture.h"

#include <gtest/gtest.h>

#include <deque>

#include "repo_fixture.h"

namespace stb {
namespace {

const std::string kReplA(40, 'a');
const std::string kReplB(40, 'b');

std::string Cmd(std::initializer_list<std::string> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

// One connection's script: what the master says, in order. A chunk "" is a quiet poll.
struct Session {
  RedisServerInfo info{.version = "7.2.4", .run_id = "run1", .role = "master"};
  PsyncReply reply;
  std::string rdb;
  std::deque<std::string> chunks;
  bool stop_at_end = false;  // else the peer closes
};

struct Clock {
  int64_t ms = 1'700'000'000'000;
};

class ScriptedLink : public ReplicaLink {
 public:
  ScriptedLink(Session s, Clock& clock, StopToken& stop, std::vector<std::pair<std::string, uint64_t>>& psyncs,
               std::vector<uint64_t>& acks, std::function<void()> on_ack)
      : s_(std::move(s)), clock_(clock), stop_(stop), psyncs_(psyncs), acks_(acks), on_ack_(std::move(on_ack)) {}
  StatusOr<RedisServerInfo> Info() override { return s_.info; }
  StatusOr<PsyncReply> Psync(const std::string& replid, uint64_t offset) override {
    psyncs_.emplace_back(replid, offset);
    return s_.reply;
  }
  StatusOr<size_t> ReadRdb(uint8_t* buf, size_t n) override {
    const size_t k = std::min(n, s_.rdb.size() - rdb_at_);
    std::memcpy(buf, s_.rdb.data() + rdb_at_, k);
    rdb_at_ += k;
    return k;
  }
  StatusOr<size_t> Receive(uint8_t* buf, size_t n, int timeout_ms) override {
    clock_.ms += 300;  // each poll: 300 ms later, so interval ticks fall between chunks
    if (s_.chunks.empty()) {
      if (s_.stop_at_end) {
        stop_.Stop();
        return size_t{0};
      }
      return Unavailable("connection closed by peer");
    }
    std::string c = std::move(s_.chunks.front());
    s_.chunks.pop_front();
    (void)timeout_ms;
    EXPECT_LE(c.size(), n);
    std::memcpy(buf, c.data(), c.size());
    return c.size();
  }
  Status SendAck(uint64_t offset) override {
    acks_.push_back(offset);
    if (on_ack_) on_ack_();
    return Status::Ok();
  }

 private:
  Session s_;
  size_t rdb_at_ = 0;
  Clock& clock_;
  StopToken& stop_;
  std::vector<std::pair<std::string, uint64_t>>& psyncs_;
  std::vector<uint64_t>& acks_;
  std::function<void()> on_ack_;
};

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = NewMemRepository(storage_);
    store_ = std::make_unique<RedisStreamStore>(*repo_, RedisStreamStore::SourceOf(*repo_, "127.0.0.1:6379"));
  }
  std::unique_ptr<RedisStreamCapture> NewCapture(const std::function<void(RedisStreamOptions&)>& tune = nullptr) {
    RedisStreamOptions o;
    o.interval_ms = 1000;
    o.segment_bytes = 1 << 20;
    o.piece_bytes = 4;
    o.now_ms = [this] { return clock_.ms; };
    o.sleep_ms = [this](int ms) { clock_.ms += ms; };
    if (tune) tune(o);
    return std::make_unique<RedisStreamCapture>(*repo_, *store_, *storage_, o, stop_);
  }
  // Runs the sessions in turn (one per connect); ends when the script runs out.
  Status RunSessions(RedisStreamCapture& cap, std::deque<Session> sessions) {
    EXPECT_TRUE(cap.Resume().ok());
    return cap.Run([&]() -> StatusOr<std::unique_ptr<ReplicaLink>> {
      if (sessions.empty()) {
        stop_.Stop();
        return Unavailable("connection refused");
      }
      Session s = std::move(sessions.front());
      sessions.pop_front();
      return std::unique_ptr<ReplicaLink>(
          std::make_unique<ScriptedLink>(std::move(s), clock_, stop_, psyncs_, acks_, [this] { CheckAckDurable(); }));
    });
  }
  // Every ACK must be the end of a stored run of segments.
  void CheckAckDurable() {
    auto listing = store_->List(*storage_);
    ASSERT_TRUE(listing.ok());
    uint64_t best = 0;
    for (const auto& [id, chain] : listing->chains) {
      if (!chain.has_meta) continue;
      auto meta = store_->ReadMeta(*storage_, id);
      ASSERT_TRUE(meta.ok());
      best = std::max(best, ChainContiguity(meta->base_offset, chain.Ranges()).durable_end);
    }
    EXPECT_LE(acks_.back(), best) << "ACK past what is stored";
  }
  static Session Full(const std::string& replid, uint64_t offset, std::string run_id = "run1") {
    Session s;
    s.info.run_id = std::move(run_id);
    s.reply = {.kind = PsyncReply::Kind::kFullResync, .replid = replid, .offset = offset};
    s.rdb = "REDIS0011-fake-rdb";
    return s;
  }
  static Session Continue() {
    Session s;
    s.reply = {.kind = PsyncReply::Kind::kContinue};
    return s;
  }
  RedisStreamListing Listing() {
    auto l = store_->List(*storage_);
    EXPECT_TRUE(l.ok());
    return l.ok() ? *l : RedisStreamListing{};
  }

  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
  std::unique_ptr<RedisStreamStore> store_;
  Clock clock_;
  StopToken stop_;
  std::vector<std::pair<std::string, uint64_t>> psyncs_;
  std::vector<uint64_t> acks_;
};

TEST_F(CaptureTest, FullResyncStoresBaseThenSegmentsAndAcksOnlyDurable) {
  Session s = Full(kReplA, 100);
  const std::string sel = Cmd({"SELECT", "0"}), set = Cmd({"SET", "k", "v"});
  s.chunks = {sel, set.substr(0, 5), set.substr(5), "", "", "", set};
  s.stop_at_end = true;
  auto cap = NewCapture();
  ASSERT_TRUE(RunSessions(*cap, {s}).ok());
  EXPECT_EQ(psyncs_.at(0).first, "");
  RedisStreamListing l = Listing();
  ASSERT_EQ(l.chains.size(), 1u);
  const RedisChainListing& c = l.chains.begin()->second;
  EXPECT_TRUE(c.has_meta);
  EXPECT_EQ(c.pieces.size(), 5u);  // 18 bytes in 4-byte pieces
  const uint64_t total = sel.size() + 2 * set.size();
  EXPECT_EQ(ChainContiguity(100, c.Ranges()).durable_end, 100 + total);
  EXPECT_GE(c.segments.size(), 2u);
  EXPECT_EQ(cap->state().durable, 100 + total);
  ASSERT_FALSE(acks_.empty());
  EXPECT_EQ(acks_.back(), 100 + total);
  auto meta = store_->ReadMeta(*storage_, l.chains.begin()->first);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->rdb_size, 18u);
  EXPECT_EQ(meta->replid, kReplA);
}

TEST_F(CaptureTest, AckNeverPassesDurableWhenTailIsIncomplete) {
  Session s = Full(kReplA, 0);
  const std::string set = Cmd({"SET", "k", "v"});
  s.chunks = {set, "", "", "", set.substr(0, 7), "", "", "", ""};  // the link drops mid-command
  auto cap = NewCapture();
  ASSERT_TRUE(RunSessions(*cap, {s}).ok());
  EXPECT_EQ(cap->state().durable, set.size());
  for (uint64_t a : acks_) EXPECT_LE(a, set.size());
  // The link-lost event was written on the chain.
  EXPECT_EQ(Listing().chains.begin()->second.events.size(), 1u);
}

TEST_F(CaptureTest, ContinueResumesTheSameChain) {
  const std::string set = Cmd({"SET", "k", "v"});
  Session a = Full(kReplA, 10);
  a.chunks = {set, "", "", "", set.substr(0, 3)};
  Session b = Continue();
  b.chunks = {set.substr(0), "", "", ""};
  b.stop_at_end = true;
  auto cap = NewCapture();
  ASSERT_TRUE(RunSessions(*cap, {a, b}).ok());
  ASSERT_EQ(psyncs_.size(), 2u);
  EXPECT_EQ(psyncs_[1].first, kReplA);
  EXPECT_EQ(psyncs_[1].second, 10 + set.size() + 1);
  RedisStreamListing l = Listing();
  ASSERT_EQ(l.chains.size(), 1u);
  EXPECT_EQ(ChainContiguity(10, l.chains.begin()->second.Ranges()).durable_end, 10 + 2 * set.size());
  EXPECT_EQ(cap->state().chains_started, 1u);
}

TEST_F(CaptureTest, ResumeFromListingAfterKillAsksForContinue) {
  const std::string set = Cmd({"SET", "k", "v"});
  Session a = Full(kReplA, 10);
  a.chunks = {Cmd({"SELECT", "3"}), set, "", "", ""};
  a.stop_at_end = true;
  {
    auto cap = NewCapture();
    ASSERT_TRUE(RunSessions(*cap, {a}).ok());
  }
  stop_.Reset();
  psyncs_.clear();
  auto cap = NewCapture();
  Session b = Continue();
  b.stop_at_end = true;
  ASSERT_TRUE(RunSessions(*cap, {b}).ok());
  ASSERT_EQ(psyncs_.size(), 1u);
  EXPECT_EQ(psyncs_[0].first, kReplA);
  EXPECT_EQ(psyncs_[0].second, 10 + Cmd({"SELECT", "3"}).size() + set.size() + 1);
  EXPECT_EQ(cap->state().db, 3);
}

TEST_F(CaptureTest, FullResyncMidChainStartsANewChainWithAnEvent) {
  const std::string set = Cmd({"SET", "k", "v"});
  for (bool restarted : {true, false}) {
    SCOPED_TRACE(restarted ? "restart" : "gap");
    SetUp();
    stop_.Reset();
    Session a = Full(kReplA, 10);
    a.chunks = {set, "", "", ""};
    Session b = Full(kReplB, 0, restarted ? "run2" : "run1");
    b.chunks = {set, "", "", ""};
    b.stop_at_end = true;
    auto cap = NewCapture();
    ASSERT_TRUE(RunSessions(*cap, {a, b}).ok());
    RedisStreamListing l = Listing();
    ASSERT_EQ(l.chains.size(), 2u);
    const std::string first = l.chains.begin()->first, second = l.chains.rbegin()->first;
    EXPECT_EQ(cap->state().chain, second);
    bool found = false;
    for (int64_t ms : l.chains.begin()->second.events) {
      auto e = store_->ReadEvent(*storage_, first, ms);
      ASSERT_TRUE(e.ok());
      if (e->type == RedisChainEvent::kRestart || e->type == RedisChainEvent::kGap) {
        found = true;
        EXPECT_EQ(e->type, restarted ? RedisChainEvent::kRestart : RedisChainEvent::kGap);
        EXPECT_EQ(e->next_chain, second);
        EXPECT_EQ(e->offset, 10 + set.size());
      }
    }
    EXPECT_TRUE(found);
  }
}

TEST_F(CaptureTest, AnOpenMultiIsNotCut) {
  Session s = Full(kReplA, 0);
  const std::string multi = Cmd({"MULTI"}), set = Cmd({"SET", "k", "v"}), exec = Cmd({"EXEC"});
  s.chunks = {multi, set, "", "", "", "", set, exec, "", "", "", ""};
  s.stop_at_end = true;
  auto cap = NewCapture();
  ASSERT_TRUE(RunSessions(*cap, {s}).ok());
  RedisStreamListing l = Listing();
  const RedisChainListing& c = l.chains.begin()->second;
  ASSERT_EQ(c.segments.size(), 1u) << "a tick inside MULTI cut the transaction";
  EXPECT_EQ(c.segments[0].range.end, multi.size() + 2 * set.size() + exec.size());
}

TEST_F(CaptureTest, GetackIsAnsweredWithDurable) {
  Session s = Full(kReplA, 0);
  s.chunks = {Cmd({"REPLCONF", "GETACK", "*"})};
  s.stop_at_end = true;
  auto cap = NewCapture();
  ASSERT_TRUE(RunSessions(*cap, {s}).ok());
  ASSERT_FALSE(acks_.empty());
  EXPECT_EQ(acks_.front(), 0u);  // the GETACK itself is not yet stored
}

// Review finding M1: after a failover the stream continued under a new id (an ids/ object); a
// restarted capture must PSYNC with that id, not the chain's first.
TEST_F(CaptureTest, ResumeAfterAReplidSwitchAsksWithTheNewId) {
  const std::string set = Cmd({"SET", "k", "v"});
  Session a = Full(kReplA, 10);
  a.chunks = {set, "", "", ""};
  Session b = Continue();
  b.reply.replid = kReplB;  // +CONTINUE <new id>: the replica we follow was promoted
  b.chunks = {set, "", "", ""};
  b.stop_at_end = true;
  {
    auto cap = NewCapture();
    ASSERT_TRUE(RunSessions(*cap, {a, b}).ok());
    EXPECT_EQ(Listing().chains.begin()->second.replid_switches, std::vector<uint64_t>{10 + set.size()});
  }
  stop_.Reset();
  psyncs_.clear();
  auto cap = NewCapture();
  Session c = Continue();
  c.stop_at_end = true;
  ASSERT_TRUE(RunSessions(*cap, {c}).ok());
  ASSERT_EQ(psyncs_.size(), 1u);
  EXPECT_EQ(psyncs_[0].first, kReplB) << "resumed with the id from before the failover";
  EXPECT_EQ(psyncs_[0].second, 10 + 2 * set.size() + 1);
  EXPECT_EQ(cap->state().chains_started, 0u);
}

// Review finding H1: one command longer than an object may hold is neither held whole nor
// retried forever: what is complete is stored, the chain ends with a gap event and an alert, and
// the next session asks for a full resync.
TEST_F(CaptureTest, ACommandTooLongToStoreEndsTheChainAndTakesANewBase) {
  const std::string set = Cmd({"SET", "k", "v"});
  const std::string huge = Cmd({"SET", "big", std::string(6000, 'x')});
  Session a = Full(kReplA, 0);
  a.chunks = {set, "", "", ""};
  for (size_t i = 0; i < huge.size(); i += 1000) a.chunks.push_back(huge.substr(i, 1000));
  a.chunks.push_back(set);
  Session b = Full(kReplA, 5000);  // the same server: its new RDB holds the big value
  b.chunks = {set, "", "", ""};
  b.stop_at_end = true;
  std::vector<std::string> alerts;
  std::vector<std::string> stored;
  auto cap = NewCapture([&](RedisStreamOptions& o) {
    o.max_command_bytes = 4096;
    o.alert = [&](const std::string& event, const std::string& msg) { alerts.push_back(event + ": " + msg); };
    o.on_stored = [&](const std::string& name) { stored.push_back(name); };
  });
  ASSERT_TRUE(RunSessions(*cap, {a, b}).ok());
  ASSERT_EQ(psyncs_.size(), 2u);
  EXPECT_EQ(psyncs_[1].first, "") << "the next session must ask for a full resync";
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].find("redis_stream_gap"), std::string::npos);
  RedisStreamListing l = Listing();
  ASSERT_EQ(l.chains.size(), 2u);
  const auto& [first, c1] = *l.chains.begin();
  EXPECT_EQ(ChainContiguity(0, c1.Ranges()).durable_end, set.size());
  for (const auto& seg : c1.segments) EXPECT_LE(seg.range.end - seg.range.start, 4096u);
  bool gap = false;
  for (int64_t ms : c1.events) {
    auto e = store_->ReadEvent(*storage_, first, ms);
    ASSERT_TRUE(e.ok());
    if (e->type == RedisChainEvent::kGap) {
      gap = true;
      EXPECT_NE(e->detail.find("too long"), std::string::npos) << e->detail;
      EXPECT_EQ(e->next_chain, l.chains.rbegin()->first);
    }
  }
  EXPECT_TRUE(gap);
  EXPECT_EQ(cap->state().durable, 5000 + set.size());
  // Every object stored was announced (the shippers copy exactly these).
  EXPECT_EQ(stored.size(), l.objects.size());
}

TEST(CaptureInfo, RefusesOldAndClusterServers) {
  auto info = ParseRedisServerInfo("# Server\r\nredis_version:6.2.14\r\nrun_id:x\r\n");
  ASSERT_TRUE(info.ok());
  Status s = CheckStreamSource(*info);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("found 6.2.14"), std::string::npos);
  info = ParseRedisServerInfo("redis_version:7.2.4\r\ncluster_enabled:1\r\n");
  ASSERT_TRUE(info.ok());
  EXPECT_NE(CheckStreamSource(*info).message().find("cluster"), std::string::npos);
  info = ParseRedisServerInfo("redis_version:7.0.0\r\ncluster_enabled:0\r\n");
  EXPECT_TRUE(CheckStreamSource(*info).ok());
  EXPECT_FALSE(ParseRedisServerInfo("role:master\r\n").ok());
}

}  // namespace
}  // namespace stb
