// Redis stream objects in the repository (doc/design.md §2b): names, the sealed object format,
// chain meta and events, create-only storing, listing and the contiguity of a chain's segments.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"
#include "crypto/crypto.h"
#include "repository/repository.h"
#include "storage/storage.h"

namespace stb {

// Objects are held in memory whole: a longer body is refused (a segment cut held back by an open
// MULTI may reach 4x REDIS_STREAM_SEGMENT_MB, so that setting must stay <= 32).
constexpr uint64_t kRedisStreamMaxBody = 128u << 20;
constexpr size_t kRedisStreamHeaderSize = 92;
constexpr size_t kRedisTimeIndexEntrySize = 12;
// A segment's time index has at most this many entries (the capture coarsens past it).
constexpr size_t kRedisMaxTimeIndexEntries = size_t{1} << 20;
// The largest sealed object (zstd is used only when smaller): readers refuse more unread.
constexpr uint64_t kRedisStreamMaxSealed =
    kSealOverhead + kRedisStreamHeaderSize + kRedisMaxTimeIndexEntries * kRedisTimeIndexEntrySize + kRedisStreamMaxBody;
constexpr std::string_view kAadRedisStreamPrefix = "spacetime-backup redis stream v1:";
// Piece numbers are 6 decimal digits.
constexpr uint32_t kRedisMaxPieces = 1000000;

enum class RedisObjectKind : uint8_t { kSegment = 0, kBasePiece = 1, kChainMeta = 2, kEvent = 3, kReplidSwitch = 4 };

// <base arrival Unix ms, 12 hex>-<8 hex>: chains of a source sort by time.
struct RedisChainId {
  int64_t base_ms = 0;
  uint32_t tag = 0;
  std::string Str() const;
  bool operator==(const RedisChainId&) const = default;
};
StatusOr<RedisChainId> ParseRedisChainId(std::string_view text);

// A parsed object name, redis/<source>/...; the fields that kind does not use stay 0.
struct RedisStreamName {
  RedisObjectKind kind = RedisObjectKind::kSegment;
  std::string source;           // 16 lower-case hex
  std::string chain;            // a valid RedisChainId::Str()
  uint32_t piece = 0;           // kBasePiece
  int64_t hour = 0;             // kSegment: Unix hour (UTC) of its first arrival
  uint64_t start = 0, end = 0;  // kSegment: [S, E); kReplidSwitch: S
  int64_t event_ms = 0;         // kEvent
  bool operator==(const RedisStreamName&) const = default;
};
// redis/<s>/chains/<C>, base/<C>/<NNNNNN>, seg/<C>/<YYYYMMDDHH>/<S>-<E>, ids/<C>/<S>, events/<C>/<ms>.
std::string RedisObjectName(const RedisStreamName& n);
// Exactly those forms (lower-case hex of the stated lengths, S < E, a real UTC hour); anything
// else, from a hostile listing, is an error.
StatusOr<RedisStreamName> ParseRedisObjectName(std::string_view object);
// YYYYMMDDHH of a Unix hour from 1970 to 9999 (others: "0000000000", which no parser accepts);
// ms of a time -> its Unix hour (floor, also before 1970).
std::string FormatRedisHour(int64_t hour);
StatusOr<int64_t> ParseRedisHour(std::string_view text);
int64_t RedisHourOfMs(int64_t ms);

struct RedisTimeIndexEntry {
  uint32_t offset = 0;  // from the object's start
  int64_t arrival_ms = 0;
  bool operator==(const RedisTimeIndexEntry&) const = default;
};

// One object, opened (or to be sealed: everything but content_id and raw).
struct RedisStreamObject {
  RedisObjectKind kind = RedisObjectKind::kSegment;
  bool cut_in_multi = false;  // flags bit0: the cut fell inside MULTI, forced by size
  uint64_t start = 0;         // segment: S; piece: its offset in the RDB; others 0
  uint64_t end = 0;           // start + body length, for every kind
  int64_t written_ms = 0;
  int64_t first_arrival_ms = 0, last_arrival_ms = 0;
  int32_t db = 0;                               // segment: the selected db at S, -1 when none is selected yet
  uint32_t multi_depth = 0;                     // segment: MULTI open at S
  std::vector<RedisTimeIndexEntry> time_index;  // segments only; offsets increase, times do not decrease
  Id content_id;
  Bytes raw;
};
// The plaintext (header, time index, raw or its zstd frame when smaller; compression 0: never).
// Sets o.end = o.start + raw.size() and o.content_id. Refuses a header Open would refuse.
StatusOr<Bytes> EncodeRedisPlaintext(RedisStreamObject& o, std::span<const uint8_t> raw, int compression,
                                     const Hmac& hmac);
// Checks every field, decompresses (bounded), verifies the content id. Pure: fuzzed.
StatusOr<RedisStreamObject> DecodeRedisPlaintext(std::span<const uint8_t> plain, const Hmac& hmac);

// Body of kChainMeta (JSON). Unknown fields are ignored when read (fields are added, never renamed).
struct RedisBasePiece {
  uint64_t size = 0;
  Id content_id;
  bool operator==(const RedisBasePiece&) const = default;
};
struct RedisKeyspaceDb {
  uint32_t db = 0;
  uint64_t keys = 0, expires = 0;
  bool operator==(const RedisKeyspaceDb&) const = default;
};
struct RedisChainMeta {
  std::string replid;  // 40 lower-case hex
  uint64_t base_offset = 0;
  int64_t base_ms = 0;
  std::string redis_version;  // letters, digits, '.', '-', '+'; <= 32
  std::string run_id_hash;    // 16 lower-case hex (RedisStreamStore::RunIdHash)
  std::vector<RedisBasePiece> pieces;
  uint64_t rdb_size = 0;                  // the sum of the pieces
  std::vector<RedisKeyspaceDb> keyspace;  // before the transfer
  bool operator==(const RedisChainMeta&) const = default;
};
std::string EncodeRedisChainMeta(const RedisChainMeta& m);
StatusOr<RedisChainMeta> ParseRedisChainMeta(std::string_view json);

// Body of kEvent (JSON).
struct RedisChainEvent {
  enum Type { kLinkLost, kResumed, kStopped, kRestart, kGap };
  Type type = kLinkLost;
  int64_t at_ms = 0;
  uint64_t offset = 0;          // the chain's durable end when it happened
  int64_t last_arrival_ms = 0;  // of that end
  std::string next_chain;       // restart, gap: the chain that follows (else empty)
  std::string detail;           // <= 200 printable ASCII, no secrets
  bool operator==(const RedisChainEvent&) const = default;
};
std::string_view RedisEventTypeName(RedisChainEvent::Type t);
std::string EncodeRedisChainEvent(const RedisChainEvent& e);
StatusOr<RedisChainEvent> ParseRedisChainEvent(std::string_view json);
// 40 lower-case hex (Redis's replication ids).
bool ValidReplid(std::string_view s);

// Contiguity of a chain from its listing: the run of segments from the base offset, and what
// is missing after it (each gap up to the next stored segment).
struct RedisRange {
  uint64_t start = 0, end = 0;
  bool operator==(const RedisRange&) const = default;
};
struct RedisContiguity {
  uint64_t durable_end = 0;  // the base offset when no segment starts there
  std::vector<RedisRange> missing;
};
RedisContiguity ChainContiguity(uint64_t base_offset, std::vector<RedisRange> segments);

struct RedisSegmentRef {
  RedisRange range;
  int64_t hour = 0;
  std::string name;
  uint64_t size = 0;  // stored (sealed) size
};
struct RedisChainListing {
  bool has_meta = false;
  std::map<uint32_t, uint64_t> pieces;    // piece -> stored size
  std::vector<RedisSegmentRef> segments;  // by start, then end
  std::vector<uint64_t> replid_switches;  // S, ascending
  std::vector<int64_t> events;            // ms, ascending
  std::vector<RedisRange> Ranges() const;
};
struct RedisStreamListing {
  std::map<std::string, RedisChainListing> chains;  // by id: oldest first
  std::map<std::string, uint64_t> objects;          // every object under redis/<s>/, with its size
  std::vector<std::string> unknown;                 // names that are not this source's objects
};

struct RedisSealed {
  std::string name;
  Bytes sealed;
  Id content_id;
};

class RedisStreamStore {
 public:
  RedisStreamStore(const Repository& repo, std::string source, int compression = 1);
  // 16 hex of HMAC(blob-id key, "redis-source:" || source).
  static std::string SourceOf(const Repository& repo, std::string_view source);
  // base_ms as 12 hex, '-', 8 hex of HMAC(blob-id key, "redis-chain:" || replid || ":" || offset).
  static std::string ChainOf(const Repository& repo, int64_t base_ms, std::string_view replid, uint64_t base_offset);
  // 16 hex of HMAC(blob-id key, "redis-run-id:" || run_id): a restart shows, the id does not.
  static std::string RunIdHash(const Repository& repo, std::string_view run_id);
  // The sources of a location ("redis/<s>/").
  static StatusOr<std::vector<std::string>> ListSources(Storage& from);
  const std::string& source() const { return source_; }

  // The name's kind, start and (segments) end and the object's must agree. written_ms < 0: now.
  StatusOr<RedisSealed> Seal(const RedisStreamName& n, RedisStreamObject o, std::span<const uint8_t> raw) const;
  StatusOr<RedisSealed> SealMeta(const std::string& chain, const RedisChainMeta& m) const;
  StatusOr<RedisSealed> SealEvent(const std::string& chain, const RedisChainEvent& e) const;
  StatusOr<RedisSealed> SealReplidSwitch(const std::string& chain, uint64_t at, std::string_view new_replid) const;
  // Create-only: the same name with the same content id is success; another content is
  // AlreadyExists naming the object; nothing is overwritten.
  Status PutSealed(Storage& where, const RedisSealed& s) const;
  // Opened and verified against its name; kNotFound when absent, kCorrupt when damaged or swapped.
  StatusOr<RedisStreamObject> ReadObject(Storage& from, const std::string& object) const;
  // ReadObject that also keeps the sealed bytes as stored (a copy ships them unchanged).
  StatusOr<RedisStreamObject> ReadObject(Storage& from, const std::string& object, RedisSealed* sealed) const;
  StatusOr<RedisChainMeta> ReadMeta(Storage& from, const std::string& chain) const;
  StatusOr<RedisChainEvent> ReadEvent(Storage& from, const std::string& chain, int64_t ms) const;
  StatusOr<std::string> ReadReplidSwitch(Storage& from, const std::string& chain, uint64_t at) const;

  StatusOr<RedisStreamListing> List(Storage& from) const;
  StatusOr<RedisChainListing> ListChain(Storage& from, const std::string& chain) const;
  // One hour folder of a chain's segments (a planner lists at most ~3600 names).
  StatusOr<std::vector<RedisSegmentRef>> ListHour(Storage& from, const std::string& chain, int64_t hour) const;

 private:
  std::string Prefix() const { return "redis/" + source_ + "/"; }
  StatusOr<RedisSealed> SealText(const RedisStreamName& n, int64_t arrival_ms, std::string_view body) const;
  const Repository& repo_;
  std::string source_;
  int compression_;
};

}  // namespace stb
