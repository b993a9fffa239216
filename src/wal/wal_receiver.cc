#include "wal/wal_receiver.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/backoff.h"
#include "core/env.h"
#include "core/log.h"

namespace stb {

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowPgTime() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch());
  return PgTimeFromUnixMicros(us.count());
}

int MsUntil(Clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

// Sleeps up to `seconds`, ending early on a stop.
void SleepUnlessStopped(const StopToken& stop, double seconds) {
  auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (!stop.stopped() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// A store that takes seconds holds up every part behind it, which is the recovery point: say so.
void NoteSlowStore(const std::string& name, Clock::time_point began) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began).count();
  if (ms < 1000) return;
  LogWarn("wal-receive: storing " + name + " in the local repository took " + std::to_string(ms / 1000) + "." +
          std::to_string(ms % 1000 / 100) + " s (a slow disk delays the recovery point)");
}

// Passes each durable object to every shipper.
class Fanout : public WalSink::Listener {
 public:
  explicit Fanout(std::vector<WalSink::Listener*> to) : to_(std::move(to)) {}
  void OnPart(uint32_t tli, uint64_t segno, uint32_t begin, std::span<const uint8_t> bytes) override {
    for (auto* l : to_) l->OnPart(tli, segno, begin, bytes);
  }
  void OnSegment(const WalSealed& sealed) override {
    for (auto* l : to_) l->OnSegment(sealed);
  }

 private:
  std::vector<WalSink::Listener*> to_;
};

}  // namespace

// ---- WalSink ----

WalSink::WalSink(const WalStore& store, Storage& local, uint64_t sysid, uint32_t seg_size)
    : store_(store), local_(local), sysid_(sysid), seg_size_(seg_size) {}

void WalSink::Begin(uint32_t tli, uint64_t lsn) {
  tli_ = tli;
  seg_start_ = SegStart(lsn);
  received_ = flushed_ = seg_start_;
  buf_.assign(seg_size_, 0);
}

Status WalSink::Append(uint64_t start, std::span<const uint8_t> data) {
  if (!started()) return Internal("wal-receive: data before a start point");
  if (start != received_) {
    return Unavailable("replication stream: data at " + FormatLsn(start) + " where " + FormatLsn(received_) +
                       " was expected");
  }
  while (!data.empty()) {
    size_t off = static_cast<size_t>(received_ - seg_start_);
    size_t n = std::min(data.size(), seg_size_ - off);
    std::memcpy(buf_.data() + off, data.data(), n);
    received_ += n;
    data = data.subspan(n);
    if (received_ == seg_start_ + seg_size_) RETURN_IF_ERROR(StoreSegment());
  }
  return Status::Ok();
}

Status WalSink::StoreSegment() {
  uint64_t segno = seg_start_ / seg_size_;
  WalName n = SegmentWalName(tli_, segno, seg_size_);
  RETURN_IF_ERROR(ValidateSegment(n, buf_, sysid_).status());
  auto began = Clock::now();
  WalSealed s = store_.Seal(n, sysid_, seg_size_, buf_);
  RETURN_IF_ERROR(store_.PutSealed(local_, s).Context("wal-receive " + n.FileName() + " to the local repository"));
  NoteSlowStore(n.FileName(), began);
  ++segments_;
  flushed_ = received_;
  durable_ = std::max(durable_, flushed_);
  if (listener_) listener_->OnSegment(s);
  seg_start_ = received_;
  flushed_ = received_;
  std::fill(buf_.begin(), buf_.end(), 0);
  return Status::Ok();
}

Status WalSink::Flush() {
  if (!started() || received_ == flushed_) return Status::Ok();
  WalName n = SegmentWalName(tli_, seg_start_ / seg_size_, seg_size_, WalName::kPart);
  n.begin = static_cast<uint32_t>(flushed_ - seg_start_);
  n.end = static_cast<uint32_t>(received_ - seg_start_);
  std::span<const uint8_t> bytes(buf_.data() + n.begin, n.end - n.begin);
  auto began = Clock::now();
  WalSealed s = store_.Seal(n, sysid_, seg_size_, bytes);
  RETURN_IF_ERROR(store_.PutSealed(local_, s).Context("wal-receive " + n.FileName() + " to the local repository"));
  NoteSlowStore(n.FileName(), began);
  ++parts_;
  flushed_ = received_;
  durable_ = std::max(durable_, flushed_);
  if (listener_) listener_->OnPart(tli_, seg_start_ / seg_size_, n.begin, bytes);
  return Status::Ok();
}

// ---- WalShipper ----

WalShipper::WalShipper(const Repository& repo, const WalStore& store, Storage& local, WalOffsite where, uint64_t sysid,
                       uint32_t seg_size, std::string outbox_dir, int interval_ms)
    : repo_(repo),
      store_(store),
      local_(local),
      where_(std::move(where)),
      sysid_(sysid),
      seg_size_(seg_size),
      outbox_dir_(std::move(outbox_dir)),
      interval_ms_(interval_ms) {
  thread_ = std::thread([this] { Loop(); });
}

WalShipper::~WalShipper() { Stop(false); }

void WalShipper::OnPart(uint32_t tli, uint64_t segno, uint32_t begin, std::span<const uint8_t> bytes) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = parts_.find({tli, segno});
  if (it != parts_.end() && begin >= it->second.begin && begin <= it->second.begin + it->second.bytes.size()) {
    it->second.bytes.resize(begin - it->second.begin);  // a restarted stream sends some bytes again
    it->second.bytes.insert(it->second.bytes.end(), bytes.begin(), bytes.end());
    return;
  }
  parts_[{tli, segno}] = Pending{begin, Bytes(bytes.begin(), bytes.end())};
}

void WalShipper::OnSegment(const WalSealed& sealed) {
  if (!outbox_dir_.empty()) {
    Status w = WriteWalOutboxEntry(outbox_dir_, where_.name, sealed.name);
    if (!w.ok()) LogWarn("wal outbox: " + w.message());
  }
  std::lock_guard<std::mutex> g(mu_);
  std::string cluster;
  auto n = ParseWalObjectName(sealed.name, &cluster);
  if (n.ok() && n->kind == WalName::kSegment)
    parts_.erase({n->tli, n->Segno(seg_size_)});  // the segment supersedes its parts
  segments_.push_back(sealed);
}

void WalShipper::ShipOnce() {
  std::vector<WalSealed> segments;
  std::map<std::pair<uint32_t, uint64_t>, Pending> parts;
  {
    std::lock_guard<std::mutex> g(mu_);
    segments.swap(segments_);
    parts.swap(parts_);
  }
  for (const auto& s : segments) {
    Status st = store_.PutSealed(*where_.storage, s);
    if (st.ok()) {
      if (!outbox_dir_.empty()) RemoveWalOutboxEntry(outbox_dir_, where_.name, s.name);
      uploads_++;
    } else {
      LogWarn("wal-receive " + s.name + " to " + where_.name + ": " + st.message() + " (left in the outbox)");
    }
  }
  for (auto& [key, p] : parts) {
    if (p.bytes.empty()) continue;
    WalName n = SegmentWalName(key.first, key.second, seg_size_, WalName::kPart);
    n.begin = p.begin;
    n.end = p.begin + static_cast<uint32_t>(p.bytes.size());
    Status st = store_.PutSealed(*where_.storage, store_.Seal(n, sysid_, seg_size_, p.bytes));
    if (st.ok()) {
      uploads_++;
      shipped_ = std::max<uint64_t>(shipped_.load(), key.second * seg_size_ + n.end);
      continue;
    }
    LogWarn("wal-receive " + n.FileName() + " to " + where_.name + ": " + st.message() + " (retried)");
    std::lock_guard<std::mutex> g(mu_);
    auto it = parts_.find(key);  // newer bytes arrived meanwhile: put the older ones in front
    if (it == parts_.end()) {
      parts_[key] = std::move(p);
    } else if (it->second.begin == n.end) {
      p.bytes.insert(p.bytes.end(), it->second.bytes.begin(), it->second.bytes.end());
      it->second = std::move(p);
    }
  }
  if (!outbox_dir_.empty() && !segments.empty()) {
    DrainWalOutbox(repo_, local_, {where_}, outbox_dir_, 2);
  }
}

void WalShipper::Loop() {
  if (!outbox_dir_.empty()) DrainWalOutbox(repo_, local_, {where_}, outbox_dir_, 5);
  std::unique_lock<std::mutex> g(mu_);
  while (!stop_) {
    cv_.wait_for(g, std::chrono::milliseconds(interval_ms_));
    if (stop_) break;
    g.unlock();
    ShipOnce();
    g.lock();
  }
}

void WalShipper::Stop(bool last_pass) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // One last pass: what does not make it stays in the outbox, or comes again after the next
  // start (which restarts at the segment's beginning).
  if (last_pass) ShipOnce();
}

// ---- WalReceiver ----

WalReceiver::WalReceiver(const Repository& repo, Storage& local, std::vector<WalOffsite> offsite, WalReceiverOptions o,
                         const StopToken& stop, WalAlertFn alert)
    : repo_(repo),
      local_(local),
      offsite_(std::move(offsite)),
      o_(std::move(o)),
      stop_(stop),
      alert_(std::move(alert)) {}

WalReceiver::~WalReceiver() {
  for (auto& s : shippers_) s->Stop(false);
}

Status WalReceiver::StoreHistory(WalSource& src, uint32_t tli) {
  if (tli <= 1) return Status::Ok();
  WalName n;
  n.kind = WalName::kHistory;
  n.tli = tli;
  auto have = store_->Read(local_, n);
  if (have.ok()) return Status::Ok();
  if (have.status().code() != Code::kNotFound) return have.status();
  ASSIGN_OR_RETURN(auto file, src.TimelineHistory(tli));
  std::string text = file.second;
  RETURN_IF_ERROR(ParseTimelineHistory(text).status().Context("TIMELINE_HISTORY " + std::to_string(tli)));
  WalSealed s =
      store_->Seal(n, sysid_, 0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  RETURN_IF_ERROR(store_->PutSealed(local_, s));
  for (auto& sh : shippers_) sh->OnSegment(s);
  LogInfo("wal-receive: stored the history of timeline " + std::to_string(tli));
  return Status::Ok();
}

Status WalReceiver::Setup(WalSource& src, uint64_t* start, uint32_t* tli) {
  ASSIGN_OR_RETURN(auto info, src.IdentifySystem());
  ASSIGN_OR_RETURN(uint32_t seg_size, src.SegmentSize());
  if (sink_ && (info.system_id != sysid_ || seg_size != seg_size_)) {
    return InvalidArgument(
        "the server at DB_HOST is another cluster now (system identifier or segment size "
        "changed): restart wal-receive");
  }
  if (!sink_) {
    sysid_ = info.system_id;
    seg_size_ = seg_size;
    store_ = std::make_unique<WalStore>(repo_, WalStore::ClusterOf(repo_, sysid_), o_.compression);
    sink_ = std::make_unique<WalSink>(*store_, local_, sysid_, seg_size_);
    std::vector<WalSink::Listener*> to;
    for (const auto& loc : offsite_) {
      shippers_.push_back(std::make_unique<WalShipper>(repo_, *store_, local_, loc, sysid_, seg_size_, o_.outbox_dir,
                                                       o_.offsite_interval_ms));
      to.push_back(shippers_.back().get());
    }
    fanout_ = std::make_unique<Fanout>(std::move(to));
    sink_->set_listener(fanout_.get());
  }
  RETURN_IF_ERROR(src.CreatePhysicalSlot(o_.slot));
  RETURN_IF_ERROR(StoreHistory(src, info.timeline));
  behind_limit_ = o_.behind_bytes;
  auto keep = src.SlotKeepSize();  // the slot is invalidated past it: warn at half
  if (keep.ok() && *keep && **keep / 2 < behind_limit_) behind_limit_ = **keep / 2;
  // Invalidated by PostgreSQL (wal_status lost), not merely without a restart_lsn: a slot made
  // elsewhere without reserving WAL has none and has lost nothing.
  ASSIGN_OR_RETURN(auto restart, src.ReadSlotRestartLsn(o_.slot));
  ASSIGN_OR_RETURN(bool slot_lost, src.SlotLost(o_.slot));
  bool lost = slot_lost || lost_pending_;
  std::string why = slot_lost ? "slot " + o_.slot + " was invalidated (wal_status lost)"
                              : "the server had removed it when streaming resumed";
  lost_pending_ = false;
  auto resume = [&](uint64_t from, uint32_t on_tli) -> Status {
    *start = from, *tli = on_tli;
    if (lost) {
      RETURN_IF_ERROR(LoseWal(src, from, on_tli, why));
      *start = sink_->received(), *tli = sink_->tli();
    }
    if (offsite_base_ == 0) offsite_base_ = *start;
    return Status::Ok();
  };
  if (sink_->started()) {  // a reconnect: on from what is durable
    sink_->Rewind();
    return resume(sink_->flushed(), sink_->tli());
  }
  ASSIGN_OR_RETURN(WalListing listing, store_->List(local_, seg_size_));
  for (auto it = listing.timelines.rbegin(); it != listing.timelines.rend(); ++it) {
    if (it->first > info.timeline) continue;
    uint64_t seg = 0;
    bool any = false, complete = false;
    if (!it->second.segments.empty()) seg = it->second.segments.rbegin()->first, any = complete = true;
    if (!it->second.parts.empty() && (!any || it->second.parts.rbegin()->first > seg)) {
      seg = it->second.parts.rbegin()->first, any = true, complete = false;
    }
    if (!any) continue;
    uint64_t from = (seg + (complete ? 1 : 0)) * seg_size_;
    sink_->Begin(it->first, from);
    return resume(from, it->first);
  }
  if (slot_lost) {  // nothing stored yet, so nothing lost: a usable slot is all we need
    LogWarn("wal-receive: " + why + "; recreating it");
    RETURN_IF_ERROR(src.DropSlot(o_.slot));
    RETURN_IF_ERROR(src.CreatePhysicalSlot(o_.slot));
    ASSIGN_OR_RETURN(restart, src.ReadSlotRestartLsn(o_.slot));
  }
  *tli = info.timeline;
  *start = restart ? *restart : info.xlogpos;
  sink_->Begin(*tli, *start);
  *start = sink_->received();
  return Status::Ok();
}

Status WalReceiver::Start(WalSource& src, uint64_t start, uint32_t tli) {
  Status st = src.StartReplication(o_.slot, start, tli);
  if (st.code() != Code::kNotFound) return st;
  RETURN_IF_ERROR(LoseWal(src, start, tli, st.message()));
  return src.StartReplication(o_.slot, sink_->received(), sink_->tli());
}

Status WalReceiver::LoseWal(WalSource& src, uint64_t from, uint32_t tli, const std::string& why) {
  // The WAL is lost for good. Say which, and go on from what the server still has, so that the
  // next base backup restarts the recovery window (schedule takes one, check fails until then).
  ASSIGN_OR_RETURN(auto info, src.IdentifySystem());
  ASSIGN_OR_RETURN(auto restart, src.ReadSlotRestartLsn(o_.slot));
  auto seg_of = [&](uint64_t lsn) { return lsn - lsn % seg_size_; };
  if (!restart || seg_of(*restart) <= seg_of(from)) {  // invalidated, or no help past `from`
    RETURN_IF_ERROR(src.DropSlot(o_.slot));
    RETURN_IF_ERROR(src.CreatePhysicalSlot(o_.slot));
    ASSIGN_OR_RETURN(restart, src.ReadSlotRestartLsn(o_.slot));
  }
  WalLoss loss;
  loss.cluster = WalStore::ClusterOf(repo_, sysid_);
  loss.slot = o_.slot;
  loss.tli = tli;
  loss.from_lsn = from;
  loss.to_lsn = seg_of(restart ? *restart : info.xlogpos);
  loss.at = NowSeconds();
  std::string msg = "WAL " + FormatLsn(loss.from_lsn) + ".." + FormatLsn(loss.to_lsn) + " on timeline " +
                    std::to_string(tli) + " was removed by the server before wal-receive got it (" + why + "; slot " +
                    o_.slot + " recreated); point-in-time recovery cannot cross this range: take a " +
                    "physical full backup";
  if (alert_) {
    alert_("wal_slot_lost", "critical", msg);  // logged there
  } else {
    LogError("wal_slot_lost: " + msg);
  }
  if (o_.on_loss) o_.on_loss(loss);
  sink_->Begin(info.timeline, loss.to_lsn);
  return Status::Ok();
}

void WalReceiver::WatchBehind() {
  auto watch = [&](const std::string& key, uint64_t lag, const std::string& what) {
    bool& raised = behind_[key];
    std::string mib = std::to_string(lag >> 20) + " MiB";
    if (!raised && lag > behind_limit_) {
      raised = true;
      std::string msg = what + " " + mib + " of WAL behind (limit " + std::to_string(behind_limit_ >> 20) +
                        " MiB, WAL_BEHIND_BYTES or half max_slot_wal_keep_size)";
      LogWarn("wal_behind: " + msg);
      if (alert_) alert_("wal_behind", "warning", msg);
    } else if (raised && lag < behind_limit_ / 2) {
      raised = false;
      LogInfo("wal-receive: " + what + " caught up (" + mib + " behind)");
    }
  };
  uint64_t durable = sink_->durable();
  watch("slot", server_end_ > durable ? server_end_ - durable : 0, "slot " + o_.slot + ": the local repository is");
  for (size_t i = 0; i < shippers_.size() && i < offsite_.size(); ++i) {
    uint64_t base = std::max(offsite_base_, shippers_[i]->shipped_lsn());
    watch(offsite_[i].name, durable > base ? durable - base : 0, "location " + offsite_[i].name + " is");
  }
}

Status WalReceiver::Report(WalSource& src, bool reply_now) {
  uint64_t pos = sink_->durable();
  return src.Send(EncodeStandbyStatus(pos, pos, 0, NowPgTime(), reply_now));
}

Status WalReceiver::FlushAndReport(WalSource& src, bool reply_now) {
  RETURN_IF_ERROR(sink_->Flush());
  return Report(src, reply_now);
}

Status WalReceiver::Handle(const Bytes& raw, bool* reply) {
  ASSIGN_OR_RETURN(WalStreamMessage m, ParseWalStreamMessage(raw));
  server_end_ = std::max(server_end_, m.wal_end);
  if (m.type == WalStreamMessage::kKeepalive) {
    *reply = *reply || m.reply_requested;
    return Status::Ok();
  }
  return sink_->Append(m.data_start, m.data);
}

Status WalReceiver::Stream(WalSource& src) {
  auto flush_at = Clock::now() + std::chrono::milliseconds(o_.flush_ms);
  auto status_at = Clock::now() + std::chrono::milliseconds(o_.status_interval_ms);
  size_t batch = 0;
  uint64_t last_reported = sink_->durable();
  while (!stop_.stopped()) {
    int wait = batch > 0 ? 0 : std::min(MsUntil(flush_at), MsUntil(status_at));
    ASSIGN_OR_RETURN(auto r, src.Receive(o_.sync && batch > 0 ? 0 : wait));
    bool reply = false;
    if (r.kind == WalSource::Received::kEndOfTimeline) {
      RETURN_IF_ERROR(FlushAndReport(src, false));
      auto next = src.FinishTimeline();
      if (next.status().code() == Code::kNotFound) lost_pending_ = true;  // the next Setup says what
      if (!next.ok()) return next.status();
      LogInfo("wal-receive: timeline " + std::to_string(sink_->tli()) + " ended; following timeline " +
              std::to_string(next->first) + " from " + FormatLsn(next->second));
      RETURN_IF_ERROR(StoreHistory(src, next->first));
      sink_->Begin(next->first, next->second);
      RETURN_IF_ERROR(Start(src, sink_->received(), next->first));
      continue;
    }
    if (r.kind == WalSource::Received::kMessage) {
      RETURN_IF_ERROR(Handle(r.message, &reply));
      ++batch;
    }
    bool drained = r.kind == WalSource::Received::kNothing;
    auto now = Clock::now();
    bool flush = now >= flush_at || (o_.sync && (drained || batch >= 64) && batch > 0);
    if (flush) {
      RETURN_IF_ERROR(sink_->Flush());
      flush_at = now + std::chrono::milliseconds(o_.flush_ms);
    }
    // Tell the server as soon as more is durable (the slot and synchronous commits wait for it).
    if (now >= status_at) WatchBehind();
    if (reply || now >= status_at || sink_->durable() != last_reported) {
      RETURN_IF_ERROR(Report(src, false));
      last_reported = sink_->durable();
      status_at = now + std::chrono::milliseconds(o_.status_interval_ms);
    }
    if (drained || flush) batch = 0;
  }
  return FlushAndReport(src, false);
}

Status WalReceiver::RunSession(WalSource& src) {
  uint64_t start = 0;
  uint32_t tli = 0;
  RETURN_IF_ERROR(Setup(src, &start, &tli));
  LogInfo("wal-receive: streaming from " + FormatLsn(start) + " on timeline " + std::to_string(tli) + " (slot " +
          o_.slot + ")");
  RETURN_IF_ERROR(Start(src, start, tli));
  return Stream(src);
}

Status WalReceiver::Run(const WalSourceFactory& connect) {
  Backoff backoff(BackoffPolicy{.base_seconds = 1, .max_seconds = o_.max_backoff_seconds});
  while (!stop_.stopped()) {
    auto began = Clock::now();
    auto src = connect();
    Status st = src.ok() ? RunSession(**src) : src.status();
    if (stop_.stopped() && st.ok()) break;
    // What arrived before the connection broke is the server's flushed WAL: keep it (the server
    // that just died may not come back).
    if (sink_ && !st.ok()) {
      Status f = sink_->Flush();
      if (!f.ok()) LogWarn("wal-receive: " + f.message());
    }
    if (stop_.stopped()) break;
    if (st.code() == Code::kInvalidArgument) return st;  // needs the operator
    if (st.code() == Code::kAlreadyExists && alert_) alert_("wal_conflict", "critical", st.message());
    if (Clock::now() - began > std::chrono::seconds(60))
      backoff = Backoff(BackoffPolicy{.base_seconds = 1, .max_seconds = o_.max_backoff_seconds});
    double wait = backoff.Next();
    LogWarn("wal-receive: " + st.message() + "; reconnecting in " + std::to_string(static_cast<int>(wait + 0.5)) +
            " s");
    SleepUnlessStopped(stop_, wait);
  }
  FinishShipping();
  return Status::Ok();
}

void WalReceiver::FinishShipping() {
  for (auto& s : shippers_) s->Stop(true);
}

}  // namespace stb
