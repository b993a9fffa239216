#include "redisstream/shipper.h"

#include <algorithm>
#include <chrono>

namespace stb {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A content conflict or damage is not cured by retrying: it is logged and skipped, never
// overwritten; anything else (the location down, slow, refusing, a read cut short) is retried
// with backoff, so a passing fault never leaves a hole in the copy.
bool Skippable(const Status& s) { return s.code() == Code::kAlreadyExists || s.code() == Code::kCorrupt; }

// Reads with `read` from `from`, then from `fallback` when `from` lacks the object. NotFound
// (both lack it) and, from the fallback, Corrupt are reported as NotFound: the caller skips it.
template <typename T, typename F>
StatusOr<T> ReadEither(Storage& from, Storage* fallback, F read) {
  StatusOr<T> r = read(from);
  if (r.ok() || r.status().code() != Code::kNotFound || !fallback) return r;
  r = read(*fallback);
  if (!r.ok() && r.status().code() == Code::kCorrupt) return NotFound(r.status().message());
  return r;
}

}  // namespace

// ---- RedisPointTracker ----

void RedisPointTracker::AddListed(const RedisStreamName& n, const std::string& object) {
  Chain& c = chains_[n.chain];
  switch (n.kind) {
    case RedisObjectKind::kChainMeta:
      c.meta_listed = true;
      break;
    case RedisObjectKind::kBasePiece:
      c.pieces.insert(n.piece);
      break;
    case RedisObjectKind::kSegment: {
      Chain::Ahead& a = c.ahead[n.start];
      if (n.end > a.end) a = {n.end, -1, object};
      break;
    }
    default:
      return;
  }
  Advance(c);
}

void RedisPointTracker::AddOpened(const RedisStreamName& n, const std::string& object, const RedisStreamObject& o) {
  Chain& c = chains_[n.chain];
  if (n.kind == RedisObjectKind::kChainMeta) {
    auto m = ParseRedisChainMeta(AsString(o.raw));
    if (!m.ok()) return;
    c.meta_listed = c.meta_known = true;
    c.base_offset = m->base_offset;
    c.base_ms = m->base_ms;
    c.pieces_needed = m->pieces.size();
    c.end = m->base_offset;
    c.end_ms = m->base_ms;
    c.end_name.clear();
  } else if (n.kind == RedisObjectKind::kSegment) {
    Chain::Ahead& a = c.ahead[n.start];
    if (n.end >= a.end) a = {n.end, o.last_arrival_ms, object};
  } else if (n.kind == RedisObjectKind::kBasePiece) {
    c.pieces.insert(n.piece);
  }
  Advance(c);
}

void RedisPointTracker::Advance(Chain& c) {
  if (!c.meta_known) return;
  while (!c.ahead.empty() && c.ahead.begin()->first <= c.end) {
    Chain::Ahead a = c.ahead.begin()->second;
    c.ahead.erase(c.ahead.begin());
    if (a.end > c.end) {
      c.end = a.end;
      c.end_ms = a.last_ms;
      c.end_name = a.name;
    }
  }
}

Status RedisPointTracker::Resolve(const RedisStreamStore& store, Storage& from, Storage* fallback) {
  for (auto& [id, c] : chains_) {
    if (c.meta_listed && !c.meta_known) {
      auto mr = ReadEither<RedisChainMeta>(from, fallback, [&](Storage& s) { return store.ReadMeta(s, id); });
      if (!mr.ok() && mr.status().code() == Code::kNotFound) continue;  // meta unknown: not in the point
      RETURN_IF_ERROR(mr.status());
      const RedisChainMeta& m = *mr;
      c.meta_known = true;
      c.base_offset = m.base_offset;
      c.base_ms = m.base_ms;
      c.pieces_needed = m.pieces.size();
      c.end = m.base_offset;
      c.end_ms = m.base_ms;
      c.end_name.clear();
      Advance(c);
    }
    if (c.meta_known && c.end_ms < 0 && !c.end_name.empty()) {
      const std::string& name = c.end_name;
      auto o = ReadEither<RedisStreamObject>(from, fallback, [&](Storage& s) { return store.ReadObject(s, name); });
      if (!o.ok() && o.status().code() == Code::kNotFound) continue;  // end time unknown: not in the point
      RETURN_IF_ERROR(o.status());
      c.end_ms = o->last_arrival_ms;
    }
  }
  return Status::Ok();
}

int64_t RedisPointTracker::point_ms() const {
  int64_t best = 0;
  for (const auto& [id, c] : chains_) {
    if (!c.meta_known || c.end_ms < 0) continue;
    const size_t have = static_cast<size_t>(
        std::count_if(c.pieces.begin(), c.pieces.end(), [&](uint32_t p) { return p < c.pieces_needed; }));
    if (have == c.pieces_needed) best = std::max(best, c.end_ms);
  }
  return best;
}

// ---- comparing a location with the local repository ----

namespace {

void AddListing(const RedisStreamStore& store, const RedisStreamListing& l, RedisPointTracker& t) {
  for (const auto& [name, size] : l.objects) {
    auto n = ParseRedisObjectName(name);
    if (n.ok() && n->source == store.source()) t.AddListed(*n, name);
  }
}

}  // namespace

StatusOr<RedisLocationView> CompareRedisLocation(const RedisStreamStore& store, Storage& local,
                                                 const RedisStreamListing& local_listing, Storage& remote,
                                                 RedisPointTracker* tracker) {
  ASSIGN_OR_RETURN(RedisStreamListing there, store.List(remote));
  RedisLocationView v;
  v.objects = there.objects.size();
  RedisPointTracker own;
  RedisPointTracker& t = tracker ? *tracker : own;
  AddListing(store, there, t);
  // Objects there are the local ones (create-only, same names): what is unknown is read locally,
  // or from the location itself when the local repository no longer has it (pruned, rebuilt).
  RETURN_IF_ERROR(t.Resolve(store, local, &remote));
  v.point_ms = t.point_ms();
  auto want = [&](RedisStreamName n) {
    n.source = store.source();
    std::string name = RedisObjectName(n);
    if (!there.objects.count(name) && local_listing.objects.count(name)) v.missing.push_back(std::move(name));
  };
  // The newest chain first: it is what a restore --latest needs.
  for (auto it = local_listing.chains.rbegin(); it != local_listing.chains.rend(); ++it) {
    const std::string& chain = it->first;
    const RedisChainListing& c = it->second;
    for (const auto& [piece, size] : c.pieces)
      want({.kind = RedisObjectKind::kBasePiece, .chain = chain, .piece = piece});
    if (c.has_meta) want({.kind = RedisObjectKind::kChainMeta, .chain = chain});
    for (uint64_t at : c.replid_switches) want({.kind = RedisObjectKind::kReplidSwitch, .chain = chain, .start = at});
    for (const RedisSegmentRef& s : c.segments) {
      if (!there.objects.count(s.name)) v.missing.push_back(s.name);
    }
    for (int64_t ms : c.events) want({.kind = RedisObjectKind::kEvent, .chain = chain, .event_ms = ms});
  }
  return v;
}

StatusOr<int64_t> LocalRedisPoint(const RedisStreamStore& store, Storage& local, const RedisStreamListing& listing) {
  RedisPointTracker t;
  AddListing(store, listing, t);
  RETURN_IF_ERROR(t.Resolve(store, local));
  return t.point_ms();
}

// ---- RedisStreamShipper ----

RedisStreamShipper::RedisStreamShipper(const RedisStreamStore& store, Storage& local, std::string location,
                                       std::shared_ptr<Storage> remote, RedisShipperOptions o,
                                       std::function<void(const std::string&, int64_t)> on_point)
    : store_(store),
      local_(local),
      location_(std::move(location)),
      remote_(std::move(remote)),
      o_(std::move(o)),
      on_point_(std::move(on_point)) {
  if (!o_.log) o_.log = [](const std::string&) {};
  st_.location = location_;
  backoff_ms_ = o_.backoff_min_ms;
}

RedisStreamShipper::~RedisStreamShipper() { Stop(0); }

void RedisStreamShipper::Start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

void RedisStreamShipper::Enqueue(const std::string& object) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (queue_.size() >= o_.queue_max) {
      // The location is far behind: the names are dropped (the objects are local) and the
      // listings say later what it lacks. Memory stays bounded however long it is down.
      if (!need_catchup_)
        o_.log(location_ + ": " + std::to_string(queue_.size()) +
               " objects waiting; catching up from the listings later");
      queue_.clear();
      need_catchup_ = true;
    } else {
      queue_.push_back(object);
    }
  }
  cv_.notify_all();
}

void RedisStreamShipper::Stop(int drain_ms) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!stop_) drain_until_ms_ = SteadyMs() + drain_ms;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

RedisShipStatus RedisStreamShipper::status() const {
  std::lock_guard<std::mutex> g(mu_);
  RedisShipStatus s = st_;
  s.queued = queue_.size();
  s.catching_up = need_catchup_;
  return s;
}

void RedisStreamShipper::NotePoint() {
  const int64_t p = tracker_.point_ms();
  {
    std::lock_guard<std::mutex> g(mu_);
    if (p <= st_.point_ms) return;
    st_.point_ms = p;
  }
  if (on_point_) on_point_(location_, p);
}

Status RedisStreamShipper::ShipOne(const std::string& object) {
  auto n = ParseRedisObjectName(object);
  if (!n.ok()) return Status::Ok();
  RedisSealed s;
  auto o = store_.ReadObject(local_, object, &s);
  if (!o.ok()) {
    if (o.status().code() == Code::kNotFound) return Status::Ok();  // pruned meanwhile
    if (o.status().code() != Code::kCorrupt) return o.status();     // a passing local fault: retried
    o_.log(location_ + ": not copying " + object + ": " + o.status().message());
    return Status::Ok();
  }
  Status put = store_.PutSealed(*remote_, s);
  if (!put.ok()) {
    if (!Skippable(put)) return put;
    o_.log(location_ + ": " + put.message());
    return Status::Ok();
  }
  tracker_.AddOpened(*n, object, *o);
  std::lock_guard<std::mutex> g(mu_);
  ++st_.shipped;
  return Status::Ok();
}

Status RedisStreamShipper::CatchUp() {
  ASSIGN_OR_RETURN(RedisStreamListing here, store_.List(local_));
  RedisPointTracker fresh;
  ASSIGN_OR_RETURN(RedisLocationView v, CompareRedisLocation(store_, local_, here, *remote_, &fresh));
  tracker_ = std::move(fresh);
  NotePoint();
  if (!v.missing.empty()) o_.log(location_ + ": copying " + std::to_string(v.missing.size()) + " objects it lacks");
  int64_t next_note = SteadyMs() + 1000;
  for (const std::string& name : v.missing) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (stop_ && SteadyMs() >= drain_until_ms_) return Unavailable("stopped");
    }
    RETURN_IF_ERROR(ShipOne(name));
    if (SteadyMs() >= next_note) {
      NotePoint();
      next_note = SteadyMs() + 1000;
    }
  }
  NotePoint();
  return Status::Ok();
}

void RedisStreamShipper::Backoff(std::unique_lock<std::mutex>& g) {
  // A Stop meanwhile shortens the wait to its drain deadline: Stop's caller is waiting on this thread.
  const int64_t until = SteadyMs() + backoff_ms_;
  for (;;) {
    const int64_t end = stop_ ? std::min(until, drain_until_ms_) : until;
    const int64_t now = SteadyMs();
    if (now >= end) break;
    cv_.wait_for(g, std::chrono::milliseconds(end - now));
  }
  backoff_ms_ = std::min(backoff_ms_ * 2, o_.backoff_max_ms);
}

void RedisStreamShipper::Loop() {
  std::unique_lock<std::mutex> g(mu_);
  for (;;) {
    const bool idle = queue_.empty() && !need_catchup_;
    if (stop_ && (idle || SteadyMs() >= drain_until_ms_)) break;
    if (idle) {
      cv_.wait(g, [&] { return stop_ || !queue_.empty() || need_catchup_; });
      continue;
    }
    Status s;
    if (need_catchup_) {
      need_catchup_ = false;  // an overflow meanwhile sets it again
      g.unlock();
      s = CatchUp();
      g.lock();
      if (!s.ok()) need_catchup_ = true;
    } else {
      const std::string name = queue_.front();
      g.unlock();
      s = ShipOne(name);
      if (s.ok()) NotePoint();
      g.lock();
      if (s.ok() && !queue_.empty() && queue_.front() == name) queue_.pop_front();
    }
    if (s.ok()) {
      if (!st_.last_error.empty()) o_.log(location_ + ": copying again");
      st_.last_error.clear();
      backoff_ms_ = o_.backoff_min_ms;
      continue;
    }
    ++st_.failures;
    if (st_.last_error.empty()) o_.log(location_ + ": copy failed, retrying (the capture goes on): " + s.message());
    st_.last_error = s.message();
    Backoff(g);
  }
}

}  // namespace stb
