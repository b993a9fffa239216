#include "redisstream/capture.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "components/redis/resp.h"
#include "core/parse.h"

namespace stb {

namespace {

int64_t SystemMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Retryable(const Status& s) { return s.code() == Code::kUnavailable || s.code() == Code::kIo; }

// Time index offsets are u32 from a segment's start: the buffer (bounded by max_command_bytes
// plus one read) must stay far below 4 GiB.
static_assert(kRedisStreamMaxBody < (uint64_t{1} << 31));

}  // namespace

StatusOr<RedisServerInfo> ParseRedisServerInfo(std::string_view text) {
  RedisServerInfo info;
  for (const auto& [key, value] : ParseInfo(std::string(text))) {
    if (key == "redis_version") info.version = value.substr(0, 32);
    if (key == "run_id") info.run_id = value.substr(0, 64);
    if (key == "role") info.role = value.substr(0, 16);
    if (key == "cluster_enabled") info.cluster = value == "1";
  }
  if (info.version.empty()) return Corrupt("INFO did not name redis_version");
  return info;
}

Status CheckStreamSource(const RedisServerInfo& info) {
  const std::string_view v = info.version;
  const size_t dot = v.find('.');
  auto major = ParseUint(v.substr(0, dot), 1000, "redis_version");
  if (!major.ok()) return Corrupt("INFO redis_version is not a version: '" + info.version.substr(0, 32) + "'");
  if (*major < 7) {
    return InvalidArgument("redis-stream needs Redis 7.0+ (found " + info.version +
                           "): older servers replicate relative TTLs, which a replay would re-arm");
  }
  if (info.cluster)
    return InvalidArgument("redis-stream: the source runs in cluster mode (capture each shard: not supported)");
  return Status::Ok();
}

RedisStreamCapture::RedisStreamCapture(const Repository& repo, const RedisStreamStore& store, Storage& local,
                                       RedisStreamOptions opt, const StopToken& stop)
    : repo_(repo), store_(store), local_(local), opt_(std::move(opt)), stop_(stop) {
  if (!opt_.now_ms) opt_.now_ms = SystemMs;
  if (!opt_.sleep_ms) {
    opt_.sleep_ms = [this](int ms) {
      for (int left = ms; left > 0 && !stop_.stopped(); left -= 50) {
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, 50)));
      }
    };
  }
  if (!opt_.log) opt_.log = [](const std::string&) {};
  opt_.max_command_bytes = std::min<size_t>(opt_.max_command_bytes, kRedisStreamMaxBody);
}

Status RedisStreamCapture::Store(const RedisSealed& s) {
  RETURN_IF_ERROR(store_.PutSealed(local_, s));
  if (opt_.on_stored) opt_.on_stored(s.name);
  return Status::Ok();
}

int64_t RedisStreamCapture::Now() const { return opt_.now_ms(); }

Status RedisStreamCapture::Resume() {
  ASSIGN_OR_RETURN(RedisStreamListing listing, store_.List(local_));
  for (auto it = listing.chains.rbegin(); it != listing.chains.rend(); ++it) {
    if (!it->second.has_meta) continue;
    ASSIGN_OR_RETURN(RedisChainMeta meta, store_.ReadMeta(local_, it->first));
    const RedisContiguity c = ChainContiguity(meta.base_offset, it->second.Ranges());
    st_.chain = it->first;
    st_.replid = meta.replid;
    st_.base_offset = meta.base_offset;
    st_.durable = c.durable_end;
    st_.run_id_hash = meta.run_id_hash;
    st_.db = -1;
    st_.multi_depth = 0;
    st_.last_arrival_ms = meta.base_ms;
    // After a failover the master continued under a new id (an ids/ object at S): PSYNC must
    // name the newest id at or before the durable end, else the master answers with a full
    // resync, or refuses the old id past its second_replid_offset (review finding M1).
    for (auto sw = it->second.replid_switches.rbegin(); sw != it->second.replid_switches.rend(); ++sw) {
      if (*sw > c.durable_end) continue;
      ASSIGN_OR_RETURN(st_.replid, store_.ReadReplidSwitch(local_, it->first, *sw));
      break;
    }
    // The db and MULTI depth at the durable end: replay the last stored segment of the run.
    for (const RedisSegmentRef& seg : it->second.segments) {
      if (seg.range.end != c.durable_end) continue;
      ASSIGN_OR_RETURN(RedisStreamObject o, store_.ReadObject(local_, seg.name));
      RespCommandSplitter split(o.start, o.db, static_cast<int>(o.multi_depth));
      RETURN_IF_ERROR(split.Feed(o.raw, [](const RespCommandInfo&) {}).Context("replaying " + seg.name));
      st_.db = split.db();
      st_.multi_depth = split.multi_depth();
      st_.last_arrival_ms = o.last_arrival_ms;
      break;
    }
    opt_.log("resuming chain " + st_.chain + " at offset " + std::to_string(st_.durable));
    return Status::Ok();
  }
  return Status::Ok();
}

Status RedisStreamCapture::WriteEvent(RedisChainEvent::Type type, const std::string& next_chain,
                                      const std::string& detail) {
  if (st_.chain.empty()) return Status::Ok();
  RedisChainEvent e{.type = type,
                    .at_ms = std::max(Now(), last_event_ms_ + 1),
                    .offset = st_.durable,
                    .last_arrival_ms = st_.last_arrival_ms,
                    .next_chain = next_chain,
                    .detail = detail.substr(0, 200)};
  // Event names are per ms: a name taken (by an earlier run) moves the event on by a ms.
  for (int attempt = 0; attempt < 100; ++attempt, ++e.at_ms) {
    ASSIGN_OR_RETURN(RedisSealed s, store_.SealEvent(st_.chain, e));
    Status put = Store(s);
    if (put.code() == Code::kAlreadyExists) continue;
    RETURN_IF_ERROR(put);
    last_event_ms_ = e.at_ms;
    return Status::Ok();
  }
  return Internal("no free event name for chain " + st_.chain);
}

Status RedisStreamCapture::StartChain(ReplicaLink& link, const PsyncReply& reply, const RedisServerInfo& info) {
  const int64_t base_ms = Now();
  const std::string chain = RedisStreamStore::ChainOf(repo_, base_ms, reply.replid, reply.offset);
  RedisChainMeta meta{.replid = reply.replid,
                      .base_offset = reply.offset,
                      .base_ms = base_ms,
                      .redis_version = info.version,
                      .run_id_hash = RedisStreamStore::RunIdHash(repo_, info.run_id)};
  Bytes piece(opt_.piece_bytes);
  for (uint32_t n = 0;; ++n) {
    size_t have = 0;
    bool end = false;
    while (have < piece.size()) {
      ASSIGN_OR_RETURN(size_t got, link.ReadRdb(piece.data() + have, piece.size() - have));
      if (got == 0) {
        end = true;
        break;
      }
      have += got;
    }
    if (have > 0) {
      if (n >= kRedisMaxPieces) return InvalidArgument("the base RDB has too many pieces");
      RedisStreamObject o{.kind = RedisObjectKind::kBasePiece,
                          .start = meta.rdb_size,
                          .written_ms = -1,
                          .first_arrival_ms = Now(),
                          .last_arrival_ms = Now()};
      ASSIGN_OR_RETURN(RedisSealed s, store_.Seal({.kind = RedisObjectKind::kBasePiece, .chain = chain, .piece = n}, o,
                                                  std::span(piece.data(), have)));
      RETURN_IF_ERROR(Store(s));
      meta.pieces.push_back({.size = have, .content_id = s.content_id});
      meta.rdb_size += have;
    }
    if (end) break;
  }
  ASSIGN_OR_RETURN(RedisSealed m, store_.SealMeta(chain, meta));
  RETURN_IF_ERROR(Store(m));
  if (!st_.chain.empty()) {
    // A restarted master starts a new replication id and run id: nothing was written meanwhile.
    const bool restart = peer_lost_ && meta.run_id_hash != st_.run_id_hash && gap_detail_.empty();
    RETURN_IF_ERROR(WriteEvent(restart ? RedisChainEvent::kRestart : RedisChainEvent::kGap, chain,
                               restart               ? "the source restarted"
                               : gap_detail_.empty() ? "full resync by the same server"
                                                     : gap_detail_));
    if (!restart) opt_.log("redis_stream_gap: chain " + st_.chain + " ends at " + std::to_string(st_.durable));
  }
  st_.chain = chain;
  st_.replid = reply.replid;
  st_.base_offset = reply.offset;
  st_.durable = reply.offset;
  st_.run_id_hash = meta.run_id_hash;
  st_.last_arrival_ms = base_ms;
  st_.db = -1;
  st_.multi_depth = 0;
  force_full_ = false;
  gap_detail_.clear();
  ++st_.chains_started;
  if (opt_.on_point) opt_.on_point(base_ms);
  opt_.log("chain " + chain + " started at offset " + std::to_string(reply.offset) + " (" +
           std::to_string(meta.rdb_size) + " RDB bytes)");
  return Status::Ok();
}

Status RedisStreamCapture::RunSession(ReplicaLink& link) {
  ASSIGN_OR_RETURN(RedisServerInfo info, link.Info());
  RETURN_IF_ERROR(CheckStreamSource(info));
  const bool full = st_.chain.empty() || force_full_;
  ASSIGN_OR_RETURN(PsyncReply reply, link.Psync(full ? "" : st_.replid, st_.durable + 1));
  switch (reply.kind) {
    case PsyncReply::Kind::kFullResync:
      RETURN_IF_ERROR(StartChain(link, reply, info));
      break;
    case PsyncReply::Kind::kContinue:
      if (full) return Corrupt("+CONTINUE to PSYNC ? -1");
      if (!reply.replid.empty() && reply.replid != st_.replid) {
        ASSIGN_OR_RETURN(RedisSealed s, store_.SealReplidSwitch(st_.chain, st_.durable, reply.replid));
        RETURN_IF_ERROR(Store(s));
        st_.replid = reply.replid;
      }
      RETURN_IF_ERROR(WriteEvent(RedisChainEvent::kResumed, "", "continued"));
      break;
    case PsyncReply::Kind::kNoMasterLink:
    case PsyncReply::Kind::kLoading:
      peer_lost_ = true;
      return Unavailable("PSYNC: " + reply.error);
    case PsyncReply::Kind::kNoPerm:
      return PermissionDenied("PSYNC refused (" + reply.error + "): the user needs +psync +replconf +info +ping");
    case PsyncReply::Kind::kError:
      return InvalidArgument("PSYNC refused: " + reply.error);
  }
  peer_lost_ = false;
  return Stream(link);
}

Status RedisStreamCapture::Cut(ReplicaLink& link, bool force_in_multi) {
  const CutPoint at = force_in_multi ? any_ : safe_;
  if (at.end <= st_.durable) return Status::Ok();
  const uint64_t len = at.end - st_.durable;
  RedisStreamObject o{.kind = RedisObjectKind::kSegment,
                      .cut_in_multi = at.depth > 0,
                      .start = st_.durable,
                      .written_ms = -1,
                      .first_arrival_ms = first_arrival_,
                      .db = static_cast<int32_t>(st_.db),
                      .multi_depth = static_cast<uint32_t>(st_.multi_depth)};
  std::vector<RedisTimeIndexEntry> rest;
  for (const RedisTimeIndexEntry& e : index_) {
    if (e.offset < len) {
      o.time_index.push_back(e);
      o.last_arrival_ms = e.arrival_ms;
    } else {
      rest.push_back({static_cast<uint32_t>(e.offset - len), e.arrival_ms});
    }
  }
  // The bytes after the cut arrived in the batch of the last entry kept.
  if (len < pending_.size() && (rest.empty() || rest.front().offset != 0)) {
    rest.insert(rest.begin(), {0, o.last_arrival_ms});
  }
  if (!o.time_index.empty()) o.first_arrival_ms = o.time_index.front().arrival_ms;
  if (o.first_arrival_ms == 0) o.first_arrival_ms = o.last_arrival_ms = Now();
  RedisStreamName n{.kind = RedisObjectKind::kSegment,
                    .chain = st_.chain,
                    .hour = RedisHourOfMs(o.first_arrival_ms),
                    .start = st_.durable,
                    .end = at.end};
  ASSIGN_OR_RETURN(RedisSealed s, store_.Seal(n, o, std::span(pending_.data(), len)));
  RETURN_IF_ERROR(Store(s));
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(len));
  index_ = std::move(rest);
  first_arrival_ = index_.empty() ? 0 : index_.front().arrival_ms;
  st_.durable = at.end;
  st_.db = at.db;
  st_.multi_depth = at.depth;
  st_.last_arrival_ms = o.last_arrival_ms;
  ++st_.segments_stored;
  if (opt_.on_point) opt_.on_point(st_.last_arrival_ms);
  // Only now, with the segment durable, may the master hear of it.
  st_.max_ack = std::max(st_.max_ack, st_.durable);
  RETURN_IF_ERROR(link.SendAck(st_.durable));
  ++st_.acks_sent;
  return Status::Ok();
}

Status RedisStreamCapture::LinkLost(ReplicaLink& link, const Status& why) {
  if (!Retryable(why)) return why;
  // Keep what is complete; the master resends the rest on CONTINUE.
  peer_lost_ = true;
  Status cut = Cut(link, false);  // its ACK cannot reach a lost link
  if (!cut.ok() && !Retryable(cut)) return cut;
  RETURN_IF_ERROR(WriteEvent(RedisChainEvent::kLinkLost, "", "link lost"));
  opt_.log("link lost at offset " + std::to_string(st_.durable) + ": " + why.message());
  return why;
}

Status RedisStreamCapture::Stream(ReplicaLink& link) {
  pending_.clear();
  index_.clear();
  first_arrival_ = 0;
  safe_ = any_ = {st_.durable, st_.db, st_.multi_depth};
  if (st_.multi_depth > 0) safe_.end = 0;
  RespCommandSplitter split(st_.durable, st_.db, st_.multi_depth);
  auto on_command = [&](const RespCommandInfo& c) {
    any_ = {c.end, split.db(), split.multi_depth()};
    if (!split.in_multi()) safe_ = any_;
    if (c.getack) getack_ = true;
  };
  // One read at most `chunk`, the buffer at most hold_max after a cut: no segment is ever longer
  // than max_command_bytes.
  const size_t chunk = std::clamp<size_t>(opt_.max_command_bytes / 4, 1, 64 << 10);
  const size_t hold_max = opt_.max_command_bytes - chunk;
  Bytes buf(chunk);
  int64_t next_cut = Now() + opt_.interval_ms, next_ack = Now() + opt_.ack_interval_ms;
  for (;;) {
    if (stop_.stopped()) {
      RETURN_IF_ERROR(Cut(link, false));
      (void)link.SendAck(st_.durable);
      return WriteEvent(RedisChainEvent::kStopped, "", "stopped");
    }
    const int wait = static_cast<int>(std::clamp<int64_t>(next_cut - Now(), 1, 100));
    StatusOr<size_t> got = link.Receive(buf.data(), buf.size(), wait);
    if (!got.ok()) return LinkLost(link, got.status());
    const int64_t now = Now();
    if (*got > 0) {
      const uint64_t at = pending_.size();
      // Past the format's bound the index only gets coarser (a MULTI held open for hours).
      if (index_.empty() || (now - index_.back().arrival_ms >= opt_.time_resolution_ms &&
                             index_.size() < kRedisMaxTimeIndexEntries - 1)) {
        index_.push_back({static_cast<uint32_t>(at), now});
      }
      if (first_arrival_ == 0) first_arrival_ = now;
      pending_.insert(pending_.end(), buf.begin(), buf.begin() + static_cast<ptrdiff_t>(*got));
      RETURN_IF_ERROR(split.Feed(std::span(buf.data(), *got), on_command));
    }
    if (pending_.size() > hold_max) {
      // Store every complete command (inside MULTI too): at most hold_max plus one read, so at
      // most max_command_bytes. What is left is one command longer than that.
      RETURN_IF_ERROR(Cut(link, true));
      if (pending_.size() > hold_max) return CommandTooLong(hold_max);
      next_cut = now + opt_.interval_ms;
    } else if (pending_.size() >= opt_.segment_bytes) {
      RETURN_IF_ERROR(Cut(link, pending_.size() >= 4 * opt_.segment_bytes));
      next_cut = now + opt_.interval_ms;
    } else if (now >= next_cut) {
      RETURN_IF_ERROR(Cut(link, false));
      next_cut = now + opt_.interval_ms;
    }
    if (getack_ || now >= next_ack) {
      getack_ = false;
      if (Status ack = link.SendAck(st_.durable); !ack.ok()) return LinkLost(link, ack);
      ++st_.acks_sent;
      st_.max_ack = std::max(st_.max_ack, st_.durable);
      next_ack = now + opt_.ack_interval_ms;
    }
  }
}

// Review finding H1: held whole, such a command grew the buffer without bound, and stored it
// could not be (a segment holds at most kRedisStreamMaxBody), so the capture failed, restarted,
// resumed before it and failed again. Now: what is complete is stored and acknowledged, the
// chain ends with a gap event, and the next session asks for a full resync, whose base RDB holds
// the command's effect. The bytes in between cannot be restored to a time; nothing loops.
Status RedisStreamCapture::CommandTooLong(size_t limit) {
  const std::string why = "a command longer than " + std::to_string(limit) + " bytes at offset " +
                          std::to_string(st_.durable) + " cannot be stored";
  opt_.log("redis_stream_gap: " + why + "; taking a new base");
  if (opt_.alert) {
    opt_.alert("redis_stream_gap",
               "redis-stream: " + why + "; a new base RDB is taken (no point between them can be restored to)");
  }
  force_full_ = true;
  gap_detail_ = "a command too long to store at offset " + std::to_string(st_.durable);
  pending_.clear();
  pending_.shrink_to_fit();
  index_.clear();
  return Unavailable(why);
}

Status RedisStreamCapture::Run(const std::function<StatusOr<std::unique_ptr<ReplicaLink>>()>& connect) {
  int backoff = opt_.backoff_min_ms;
  while (!stop_.stopped()) {
    StatusOr<std::unique_ptr<ReplicaLink>> link = connect();
    Status s = link.ok() ? RunSession(**link) : link.status();
    if (s.ok()) return s;
    if (!Retryable(s)) return s;
    if (!link.ok()) peer_lost_ = true;
    if (link.ok() && st_.segments_stored > 0) backoff = opt_.backoff_min_ms;
    opt_.log("reconnecting in " + std::to_string(backoff) + " ms: " + s.message());
    opt_.sleep_ms(backoff);
    backoff = std::min(backoff * 2, opt_.backoff_max_ms);
  }
  return Status::Ok();
}

}  // namespace stb
