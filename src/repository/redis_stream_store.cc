#include "repository/redis_stream_store.h"

#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "compress/zstd_codec.h"
#include "core/parse.h"
#include "repository/create_only.h"

namespace stb {

namespace {

using json = nlohmann::json;

constexpr uint8_t kMagic[4] = {'S', 'T', 'B', 'R'};
constexpr uint8_t kKnownFlags = 1;
// Arrival and write times: 0 to the year 9999 (names carry 12 hex digits of ms).
constexpr int64_t kMaxMs = int64_t{253402300799999};
constexpr size_t kMaxPieces = 65536;
constexpr size_t kMaxKeyspaceDbs = 65536;

std::string Aad(const std::string& name) { return std::string(kAadRedisStreamPrefix) + name; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Hex16Of(const Repository& repo, const std::string& msg) {
  return repo.hmac().Compute(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()).Hex().substr(0, 16);
}

bool ValidMs(int64_t ms) { return ms >= 0 && ms <= kMaxMs; }

// Every header field but the body: shared by Encode (refuse to write) and Decode (refuse to read).
Status CheckHeader(const RedisStreamObject& o) {
  if (o.end < o.start) return Corrupt("Redis stream object ends before it starts");
  if (o.end - o.start > kRedisStreamMaxBody) {
    return Corrupt("Redis stream object claims " + std::to_string(o.end - o.start) + " bytes");
  }
  if (!ValidMs(o.written_ms) || !ValidMs(o.first_arrival_ms) || !ValidMs(o.last_arrival_ms) ||
      o.first_arrival_ms > o.last_arrival_ms) {
    return Corrupt("Redis stream object with impossible times");
  }
  if (o.kind != RedisObjectKind::kSegment) {
    if (o.cut_in_multi || o.db != 0 || o.multi_depth != 0 || !o.time_index.empty()) {
      return Corrupt("Redis stream object: segment fields set on another kind");
    }
    if (o.kind != RedisObjectKind::kBasePiece && o.start != 0) {
      return Corrupt("Redis stream object: a start offset on a meta, event or id object");
    }
    return Status::Ok();
  }
  if (o.db < -1) return Corrupt("Redis stream segment with db " + std::to_string(o.db));
  if (o.time_index.size() > kRedisMaxTimeIndexEntries) return Corrupt("Redis stream segment: time index too long");
  const uint64_t len = o.end - o.start;
  for (size_t i = 0; i < o.time_index.size(); ++i) {
    const RedisTimeIndexEntry& e = o.time_index[i];
    if (e.offset > len || (i > 0 && e.offset <= o.time_index[i - 1].offset)) {
      return Corrupt("Redis stream segment: time index offsets are not increasing within the segment");
    }
    if (e.arrival_ms < o.first_arrival_ms || e.arrival_ms > o.last_arrival_ms ||
        (i > 0 && e.arrival_ms < o.time_index[i - 1].arrival_ms)) {
      return Corrupt("Redis stream segment: time index times go back or leave its arrival range");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> JsonString(const json& j, const char* key, size_t max, bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (!required) return std::string();
    return InvalidArgument(std::string(key) + " is missing");
  }
  if (!it->is_string()) return InvalidArgument(std::string(key) + " is not a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > max) return InvalidArgument(std::string(key) + " is longer than " + std::to_string(max));
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
    return InvalidArgument(std::string(key) + " is not printable ASCII");
  }
  return s;
}

StatusOr<uint64_t> JsonU64(const json& j, const char* key, uint64_t max = UINT64_MAX) {
  auto it = j.find(key);
  if (it == j.end()) return InvalidArgument(std::string(key) + " is missing");
  return JsonUint(*it, max, key);
}

StatusOr<int64_t> JsonMs(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return InvalidArgument(std::string(key) + " is missing");
  return JsonInt(*it, 0, kMaxMs, key);
}

bool ValidReplidSwitchBody(std::span<const uint8_t> raw) {
  return ValidReplid(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

bool IsHex16(std::string_view s) {
  return s.size() == 16 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

StatusOr<RedisChainMeta> ParseMetaJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  RedisChainMeta m;
  ASSIGN_OR_RETURN(m.replid, JsonString(j, "replid", 40));
  if (!ValidReplid(m.replid)) return InvalidArgument("replid is not 40 lower-case hex digits");
  ASSIGN_OR_RETURN(m.base_offset, JsonU64(j, "base_offset"));
  ASSIGN_OR_RETURN(m.base_ms, JsonMs(j, "base_ms"));
  ASSIGN_OR_RETURN(m.redis_version, JsonString(j, "redis_version", 32));
  if (m.redis_version.empty() || !std::all_of(m.redis_version.begin(), m.redis_version.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+';
      })) {
    return InvalidArgument("redis_version is not letters, digits, '.', '-' and '+'");
  }
  ASSIGN_OR_RETURN(m.run_id_hash, JsonString(j, "run_id_hash", 16));
  if (!IsHex16(m.run_id_hash)) return InvalidArgument("run_id_hash is not 16 lower-case hex digits");
  auto pieces = j.find("pieces");
  if (pieces == j.end() || !pieces->is_array() || pieces->size() > kMaxPieces) {
    return InvalidArgument("pieces is not a list of at most " + std::to_string(kMaxPieces));
  }
  uint64_t total = 0;
  for (const json& p : *pieces) {
    if (!p.is_object()) return InvalidArgument("a piece is not an object");
    RedisBasePiece b;
    ASSIGN_OR_RETURN(b.size, JsonU64(p, "size", kRedisStreamMaxBody));
    ASSIGN_OR_RETURN(std::string id, JsonString(p, "content_id", 64));
    auto cid = Id::FromHex(id);
    if (!cid || id.size() != 64) return InvalidArgument("a piece's content_id is not 64 hex digits");
    b.content_id = *cid;
    total += b.size;  // at most 65536 * 128 MiB: no overflow
    m.pieces.push_back(b);
  }
  ASSIGN_OR_RETURN(m.rdb_size, JsonU64(j, "rdb_size"));
  if (m.rdb_size != total) return InvalidArgument("rdb_size is not the sum of the pieces");
  auto ks = j.find("keyspace");
  if (ks == j.end() || !ks->is_array() || ks->size() > kMaxKeyspaceDbs) {
    return InvalidArgument("keyspace is not a list of at most " + std::to_string(kMaxKeyspaceDbs));
  }
  for (const json& k : *ks) {
    if (!k.is_object()) return InvalidArgument("a keyspace entry is not an object");
    RedisKeyspaceDb d;
    ASSIGN_OR_RETURN(uint64_t db, JsonU64(k, "db", INT32_MAX));
    d.db = static_cast<uint32_t>(db);
    ASSIGN_OR_RETURN(d.keys, JsonU64(k, "keys"));
    ASSIGN_OR_RETURN(d.expires, JsonU64(k, "expires"));
    m.keyspace.push_back(d);
  }
  return m;
}

constexpr RedisChainEvent::Type kEventTypes[] = {RedisChainEvent::kLinkLost, RedisChainEvent::kResumed,
                                                 RedisChainEvent::kStopped, RedisChainEvent::kRestart,
                                                 RedisChainEvent::kGap};

StatusOr<RedisChainEvent> ParseEventJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  RedisChainEvent e;
  ASSIGN_OR_RETURN(std::string type, JsonString(j, "type", 16));
  bool known = false;
  for (auto t : kEventTypes) {
    if (RedisEventTypeName(t) == type) {
      e.type = t;
      known = true;
    }
  }
  if (!known) return InvalidArgument("type '" + QuoteForError(type) + "' is not a Redis chain event");
  ASSIGN_OR_RETURN(e.at_ms, JsonMs(j, "at_ms"));
  ASSIGN_OR_RETURN(e.offset, JsonU64(j, "offset"));
  ASSIGN_OR_RETURN(e.last_arrival_ms, JsonMs(j, "last_arrival_ms"));
  ASSIGN_OR_RETURN(e.next_chain, JsonString(j, "next_chain", 21, false));
  bool wants_next = e.type == RedisChainEvent::kRestart || e.type == RedisChainEvent::kGap;
  if (wants_next != !e.next_chain.empty()) {
    return InvalidArgument("next_chain must be set exactly for restart and gap events");
  }
  if (wants_next) RETURN_IF_ERROR(ParseRedisChainId(e.next_chain).status());
  ASSIGN_OR_RETURN(e.detail, JsonString(j, "detail", 200, false));
  return e;
}

template <typename T, typename F>
StatusOr<T> ParseJsonBody(std::string_view text, const char* what, F parse) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Corrupt(std::string(what) + " is not JSON");
  auto r = parse(j);
  if (!r.ok()) return Corrupt(std::string(what) + ": " + r.status().message());
  return r;
}

}  // namespace

StatusOr<Bytes> EncodeRedisPlaintext(RedisStreamObject& o, std::span<const uint8_t> raw, int compression,
                                     const Hmac& hmac) {
  o.end = o.start + raw.size();
  if (o.end < o.start) return InvalidArgument("Redis stream object: start + length overflows");
  RETURN_IF_ERROR(CheckHeader(o));
  o.content_id = hmac.Compute(raw.data(), raw.size());
  const size_t head = kRedisStreamHeaderSize + o.time_index.size() * kRedisTimeIndexEntrySize;
  Bytes out;
  out.reserve(head + raw.size());
  out.insert(out.end(), kMagic, kMagic + 4);
  out.push_back(1);
  out.push_back(static_cast<uint8_t>(o.kind));
  out.push_back(0);  // body encoding, set below
  out.push_back(o.cut_in_multi ? 1 : 0);
  PutU64(out, o.start);
  PutU64(out, o.end);
  PutU64(out, static_cast<uint64_t>(o.written_ms));
  PutU64(out, static_cast<uint64_t>(o.first_arrival_ms));
  PutU64(out, static_cast<uint64_t>(o.last_arrival_ms));
  PutU32(out, static_cast<uint32_t>(o.db));
  PutU32(out, o.multi_depth);
  PutU32(out, static_cast<uint32_t>(o.time_index.size()));
  out.insert(out.end(), o.content_id.b.begin(), o.content_id.b.end());
  for (const auto& e : o.time_index) {
    PutU32(out, e.offset);
    PutU64(out, static_cast<uint64_t>(e.arrival_ms));
  }
  out.resize(head + raw.size());
  size_t body = compression > 0 && !raw.empty()
                    ? CompressIntoIfSmaller(raw.data(), raw.size(), compression, out.data() + head)
                    : 0;
  if (body == 0) {
    if (!raw.empty()) std::memcpy(out.data() + head, raw.data(), raw.size());
  } else {
    out.resize(head + body);
    out[6] = 1;
  }
  return out;
}

StatusOr<RedisStreamObject> DecodeRedisPlaintext(std::span<const uint8_t> plain, const Hmac& hmac) {
  if (plain.size() < kRedisStreamHeaderSize || std::memcmp(plain.data(), kMagic, 4) != 0) {
    return Corrupt("not a Redis stream object (no STBR header)");
  }
  const uint8_t* p = plain.data();
  if (p[4] != 1) return Corrupt("Redis stream object version " + std::to_string(p[4]) + " is not supported");
  if (p[5] > static_cast<uint8_t>(RedisObjectKind::kReplidSwitch)) {
    return Corrupt("Redis stream object of unknown kind " + std::to_string(p[5]));
  }
  if (p[6] > 1) return Corrupt("Redis stream object with an unknown body encoding");
  if ((p[7] & ~kKnownFlags) != 0) return Corrupt("Redis stream object with unknown flags");
  RedisStreamObject o;
  o.kind = static_cast<RedisObjectKind>(p[5]);
  o.cut_in_multi = (p[7] & 1) != 0;
  o.start = GetU64(p + 8);
  o.end = GetU64(p + 16);
  o.written_ms = static_cast<int64_t>(GetU64(p + 24));
  o.first_arrival_ms = static_cast<int64_t>(GetU64(p + 32));
  o.last_arrival_ms = static_cast<int64_t>(GetU64(p + 40));
  o.db = static_cast<int32_t>(GetU32(p + 48));
  o.multi_depth = GetU32(p + 52);
  const uint32_t n = GetU32(p + 56);
  std::memcpy(o.content_id.b.data(), p + 60, 32);
  // The count is bounded by what follows before anything is allocated for it.
  const size_t after_header = plain.size() - kRedisStreamHeaderSize;
  if (n > after_header / kRedisTimeIndexEntrySize) return Corrupt("Redis stream object: time index past its end");
  const uint8_t* q = p + kRedisStreamHeaderSize;
  o.time_index.resize(n);
  for (uint32_t i = 0; i < n; ++i, q += kRedisTimeIndexEntrySize) {
    o.time_index[i].offset = GetU32(q);
    o.time_index[i].arrival_ms = static_cast<int64_t>(GetU64(q + 4));
  }
  RETURN_IF_ERROR(CheckHeader(o));
  const uint64_t raw_len = o.end - o.start;
  const size_t body_len = plain.size() - kRedisStreamHeaderSize - size_t{n} * kRedisTimeIndexEntrySize;
  if (p[6] == 1) {
    // The frame must state its size, and state ours, before a buffer of that size is made.
    unsigned long long framed = ZSTD_getFrameContentSize(q, body_len);
    if (framed != raw_len) return Corrupt("Redis stream object: the zstd frame is not its stated length");
    RETURN_IF_ERROR(Decompress(q, body_len, raw_len, o.raw).Context("Redis stream object body"));
  } else {
    if (body_len != raw_len) return Corrupt("Redis stream object body is not its stated length");
    o.raw.assign(q, q + body_len);
  }
  if (hmac.Compute(o.raw.data(), o.raw.size()) != o.content_id) {
    return Corrupt("Redis stream object content does not match its content id");
  }
  return o;
}

std::string_view RedisEventTypeName(RedisChainEvent::Type t) {
  switch (t) {
    case RedisChainEvent::kLinkLost:
      return "link-lost";
    case RedisChainEvent::kResumed:
      return "resumed";
    case RedisChainEvent::kStopped:
      return "stopped";
    case RedisChainEvent::kRestart:
      return "restart";
    case RedisChainEvent::kGap:
      return "gap";
  }
  return "";
}

std::string EncodeRedisChainMeta(const RedisChainMeta& m) {
  json pieces = json::array();
  for (const auto& p : m.pieces) pieces.push_back({{"size", p.size}, {"content_id", p.content_id.Hex()}});
  json ks = json::array();
  for (const auto& k : m.keyspace) ks.push_back({{"db", k.db}, {"keys", k.keys}, {"expires", k.expires}});
  json j = {{"replid", m.replid},           {"base_offset", m.base_offset},
            {"base_ms", m.base_ms},         {"redis_version", m.redis_version},
            {"run_id_hash", m.run_id_hash}, {"pieces", pieces},
            {"rdb_size", m.rdb_size},       {"keyspace", ks}};
  return j.dump();
}

StatusOr<RedisChainMeta> ParseRedisChainMeta(std::string_view text) {
  return ParseJsonBody<RedisChainMeta>(text, "Redis chain meta", ParseMetaJson);
}

std::string EncodeRedisChainEvent(const RedisChainEvent& e) {
  json j = {{"type", RedisEventTypeName(e.type)},
            {"at_ms", e.at_ms},
            {"offset", e.offset},
            {"last_arrival_ms", e.last_arrival_ms}};
  if (!e.next_chain.empty()) j["next_chain"] = e.next_chain;
  if (!e.detail.empty()) j["detail"] = e.detail;
  return j.dump();
}

StatusOr<RedisChainEvent> ParseRedisChainEvent(std::string_view text) {
  return ParseJsonBody<RedisChainEvent>(text, "Redis chain event", ParseEventJson);
}

RedisStreamStore::RedisStreamStore(const Repository& repo, std::string source, int compression)
    : repo_(repo), source_(std::move(source)), compression_(compression) {}

std::string RedisStreamStore::SourceOf(const Repository& repo, std::string_view source) {
  return Hex16Of(repo, "redis-source:" + std::string(source));
}

std::string RedisStreamStore::ChainOf(const Repository& repo, int64_t base_ms, std::string_view replid,
                                      uint64_t base_offset) {
  std::string msg = "redis-chain:" + std::string(replid) + ":" + std::to_string(base_offset);
  Id h = repo.hmac().Compute(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  RedisChainId c;
  c.base_ms = base_ms;
  c.tag = static_cast<uint32_t>(h.b[0]) << 24 | static_cast<uint32_t>(h.b[1]) << 16 |
          static_cast<uint32_t>(h.b[2]) << 8 | h.b[3];
  return c.Str();
}

std::string RedisStreamStore::RunIdHash(const Repository& repo, std::string_view run_id) {
  return Hex16Of(repo, "redis-run-id:" + std::string(run_id));
}

StatusOr<std::vector<std::string>> RedisStreamStore::ListSources(Storage& from) {
  ASSIGN_OR_RETURN(auto objs, from.List("redis/"));
  std::vector<std::string> out;
  for (const auto& o : objs) {
    auto n = ParseRedisObjectName(o.name);
    if (n.ok() && (out.empty() || out.back() != n->source)) out.push_back(n->source);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

StatusOr<RedisSealed> RedisStreamStore::Seal(const RedisStreamName& name, RedisStreamObject o,
                                             std::span<const uint8_t> raw) const {
  RedisStreamName n = name;
  n.source = source_;
  const std::string object = RedisObjectName(n);
  auto back = ParseRedisObjectName(object);
  if (!back.ok() || !(*back == n)) return InvalidArgument("not a valid Redis stream object name: " + object);
  if (o.kind != n.kind) return InvalidArgument(object + ": the object is not of the name's kind");
  if (n.kind == RedisObjectKind::kSegment && (o.start != n.start || raw.size() != n.end - n.start)) {
    return InvalidArgument(object + ": the bytes are not the range the name says");
  }
  if (o.written_ms < 0) o.written_ms = NowMs();
  ASSIGN_OR_RETURN(Bytes plain, EncodeRedisPlaintext(o, raw, compression_, repo_.hmac()));
  RedisSealed s;
  s.name = object;
  s.sealed = repo_.aead().Seal(plain, Aad(object));
  s.content_id = o.content_id;
  return s;
}

StatusOr<RedisSealed> RedisStreamStore::SealText(const RedisStreamName& n, int64_t arrival_ms,
                                                 std::string_view body) const {
  RedisStreamObject o{.kind = n.kind, .first_arrival_ms = arrival_ms, .last_arrival_ms = arrival_ms};
  return Seal(n, o, std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
}

StatusOr<RedisSealed> RedisStreamStore::SealMeta(const std::string& chain, const RedisChainMeta& m) const {
  std::string body = EncodeRedisChainMeta(m);
  RETURN_IF_ERROR(ParseRedisChainMeta(body).status());
  return SealText({.kind = RedisObjectKind::kChainMeta, .chain = chain}, m.base_ms, body);
}

StatusOr<RedisSealed> RedisStreamStore::SealEvent(const std::string& chain, const RedisChainEvent& e) const {
  std::string body = EncodeRedisChainEvent(e);
  RETURN_IF_ERROR(ParseRedisChainEvent(body).status());
  return SealText({.kind = RedisObjectKind::kEvent, .chain = chain, .event_ms = e.at_ms}, e.at_ms, body);
}

StatusOr<RedisSealed> RedisStreamStore::SealReplidSwitch(const std::string& chain, uint64_t at,
                                                         std::string_view new_replid) const {
  if (!ValidReplid(new_replid)) return InvalidArgument("a replication id is 40 lower-case hex digits");
  return SealText({.kind = RedisObjectKind::kReplidSwitch, .chain = chain, .start = at}, 0, new_replid);
}

Status RedisStreamStore::PutSealed(Storage& where, const RedisSealed& s) const {
  auto existing = [&]() -> StatusOr<Id> {
    ASSIGN_OR_RETURN(RedisStreamObject o, ReadObject(where, s.name));
    return o.content_id;
  };
  return PutSealedCreateOnly(where, s.name, s.sealed, s.content_id, existing, "two captures of the same source?");
}

StatusOr<RedisStreamObject> RedisStreamStore::ReadObject(Storage& from, const std::string& object) const {
  return ReadObject(from, object, nullptr);
}

StatusOr<RedisStreamObject> RedisStreamStore::ReadObject(Storage& from, const std::string& object,
                                                         RedisSealed* keep) const {
  ASSIGN_OR_RETURN(RedisStreamName n, ParseRedisObjectName(object));
  ASSIGN_OR_RETURN(Bytes sealed, GetSealedBounded(from, object, kRedisStreamMaxSealed));
  auto plain = repo_.aead().Open(sealed, Aad(object));
  if (!plain.ok()) return Corrupt(object + " in " + from.Describe() + " fails authentication (damaged or swapped)");
  auto o = DecodeRedisPlaintext(*plain, repo_.hmac());
  if (!o.ok()) return o.status().Context(object);
  if (o->kind != n.kind) return Corrupt(object + ": its header says another kind of Redis stream object");
  if (n.kind == RedisObjectKind::kSegment && (o->start != n.start || o->end != n.end)) {
    return Corrupt(object + ": its bytes are not the range its name says");
  }
  if (n.kind == RedisObjectKind::kReplidSwitch && !ValidReplidSwitchBody(o->raw)) {
    return Corrupt(object + ": not a replication id");
  }
  if (keep) *keep = RedisSealed{.name = object, .sealed = std::move(sealed), .content_id = o->content_id};
  return o;
}

namespace {

template <typename T>
StatusOr<T> ReadJson(const RedisStreamStore& store, Storage& from, const RedisStreamName& n,
                     StatusOr<T> (*parse)(std::string_view)) {
  std::string object = RedisObjectName(n);
  ASSIGN_OR_RETURN(RedisStreamObject o, store.ReadObject(from, object));
  auto v = parse(AsString(o.raw));
  if (!v.ok()) return v.status().Context(object);
  return v;
}

}  // namespace

StatusOr<RedisChainMeta> RedisStreamStore::ReadMeta(Storage& from, const std::string& chain) const {
  RedisStreamName n{.kind = RedisObjectKind::kChainMeta, .source = source_, .chain = chain};
  return ReadJson(*this, from, n, ParseRedisChainMeta);
}

StatusOr<RedisChainEvent> RedisStreamStore::ReadEvent(Storage& from, const std::string& chain, int64_t ms) const {
  RedisStreamName n{.kind = RedisObjectKind::kEvent, .source = source_, .chain = chain, .event_ms = ms};
  return ReadJson(*this, from, n, ParseRedisChainEvent);
}

StatusOr<std::string> RedisStreamStore::ReadReplidSwitch(Storage& from, const std::string& chain, uint64_t at) const {
  RedisStreamName n;
  n.kind = RedisObjectKind::kReplidSwitch;
  n.source = source_;
  n.chain = chain;
  n.start = at;
  ASSIGN_OR_RETURN(RedisStreamObject o, ReadObject(from, RedisObjectName(n)));
  return std::string(AsString(o.raw));
}

namespace {

void AddToChain(const RedisStreamName& n, const ObjectInfo& o, RedisChainListing& c) {
  switch (n.kind) {
    case RedisObjectKind::kChainMeta:
      c.has_meta = true;
      break;
    case RedisObjectKind::kBasePiece:
      c.pieces[n.piece] = o.size;
      break;
    case RedisObjectKind::kSegment:
      c.segments.push_back({{n.start, n.end}, n.hour, o.name, o.size});
      break;
    case RedisObjectKind::kReplidSwitch:
      c.replid_switches.push_back(n.start);
      break;
    case RedisObjectKind::kEvent:
      c.events.push_back(n.event_ms);
      break;
  }
}

void SortChain(RedisChainListing& c) {
  std::sort(c.segments.begin(), c.segments.end(), [](const RedisSegmentRef& a, const RedisSegmentRef& b) {
    return a.range.start != b.range.start ? a.range.start < b.range.start : a.range.end < b.range.end;
  });
  std::sort(c.replid_switches.begin(), c.replid_switches.end());
  std::sort(c.events.begin(), c.events.end());
}

}  // namespace

StatusOr<RedisStreamListing> RedisStreamStore::List(Storage& from) const {
  ASSIGN_OR_RETURN(auto objs, from.List(Prefix()));
  RedisStreamListing out;
  for (const auto& o : objs) {
    out.objects[o.name] = o.size;
    auto n = ParseRedisObjectName(o.name);
    if (!n.ok() || n->source != source_) {
      out.unknown.push_back(o.name);
      continue;
    }
    AddToChain(*n, o, out.chains[n->chain]);
  }
  for (auto& [id, c] : out.chains) SortChain(c);
  return out;
}

StatusOr<RedisChainListing> RedisStreamStore::ListChain(Storage& from, const std::string& chain) const {
  RETURN_IF_ERROR(ParseRedisChainId(chain).status());
  RedisChainListing out;
  for (const char* folder : {"chains/", "base/", "seg/", "ids/", "events/"}) {
    std::string prefix = Prefix() + folder + chain + (std::string_view(folder) == "chains/" ? "" : "/");
    ASSIGN_OR_RETURN(auto objs, from.List(prefix));
    for (const auto& o : objs) {
      auto n = ParseRedisObjectName(o.name);
      if (n.ok() && n->source == source_ && n->chain == chain) AddToChain(*n, o, out);
    }
  }
  SortChain(out);
  return out;
}

StatusOr<std::vector<RedisSegmentRef>> RedisStreamStore::ListHour(Storage& from, const std::string& chain,
                                                                  int64_t hour) const {
  RETURN_IF_ERROR(ParseRedisChainId(chain).status());
  ASSIGN_OR_RETURN(auto objs, from.List(Prefix() + "seg/" + chain + "/" + FormatRedisHour(hour) + "/"));
  RedisChainListing c;
  for (const auto& o : objs) {
    auto n = ParseRedisObjectName(o.name);
    if (n.ok() && n->kind == RedisObjectKind::kSegment && n->source == source_ && n->chain == chain &&
        n->hour == hour) {
      AddToChain(*n, o, c);
    }
  }
  SortChain(c);
  return c.segments;
}

}  // namespace stb
