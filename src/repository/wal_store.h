// WAL objects of PostgreSQL clusters in the repository (doc/design.md, "WAL objects"): their
// names, the sealed object format, and create-only storing, reading and listing of them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
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

// Objects are held in memory whole: larger segments are refused.
constexpr uint32_t kWalMaxSegmentSize = 64u << 20;
constexpr size_t kWalHeaderSize = 68;
constexpr std::string_view kAadWalPrefix = "spacetime-backup wal v1:";
constexpr uint16_t kWalPageMagicPg15 = 0xD110;
// The largest sealed WAL object (zstd is used only when smaller): readers refuse more unread.
constexpr uint64_t kWalMaxSealedSize = kSealOverhead + kWalHeaderSize + kWalMaxSegmentSize;

// "X/Y", each half 1 to 8 hex digits.
StatusOr<uint64_t> ParseLsn(std::string_view text);
std::string FormatLsn(uint64_t lsn);
// A power of two from 1 MiB to 1 GiB (PostgreSQL's range of wal_segment_size).
bool ValidSegmentSize(uint64_t seg_size);

struct WalName {
  enum Kind : uint8_t { kSegment = 0, kPart = 1, kPgPartial = 2, kHistory = 3, kBackupHistory = 4 };
  Kind kind = kSegment;
  uint32_t tli = 0;
  uint32_t log = 0, seg = 0;    // the segment's file name fields (not used by kHistory)
  uint32_t begin = 0, end = 0;  // kPart: bytes [begin, end); kBackupHistory: the offset in its name
  // log * (2^32 / seg_size) + seg.
  uint64_t Segno(uint32_t seg_size) const;
  std::string SegmentName() const;  // TTTTTTTTLLLLLLLLSSSSSSSS
  std::string FileName() const;     // what PostgreSQL calls the file (%f); a part: its object basename
  bool operator==(const WalName&) const = default;
};

WalName SegmentWalName(uint32_t tli, uint64_t segno, uint32_t seg_size, WalName::Kind kind = WalName::kSegment);
// PostgreSQL's XLogFileName.
std::string SegmentFileName(uint32_t tli, uint64_t segno, uint32_t seg_size);
// The %f forms: 24 hex digits [".partial"], 8 hex ".history", 24 hex "." 8 hex ".backup"; upper
// case only, timeline >= 1, as PostgreSQL writes them.
StatusOr<WalName> ParsePgWalFileName(std::string_view f);
// wal/<cluster>/<first 16 hex of the segment>/<file>, or wal/<cluster>/history/<TTTTTTTT>.history.
std::string WalObjectName(const std::string& cluster, const WalName& n);
StatusOr<WalName> ParseWalObjectName(std::string_view object, std::string* cluster);

struct TimelineHistoryEntry {
  uint32_t tli = 0;
  uint64_t switch_lsn = 0;
};
// "<tli>\t<X/Y>\t<reason>" lines; blank and '#' lines skipped; timelines must increase.
StatusOr<std::vector<TimelineHistoryEntry>> ParseTimelineHistory(std::string_view text);

// The first page's XLogLongPageHeaderData.
struct WalPageHeader {
  uint16_t magic = 0;
  uint16_t info = 0;
  uint32_t tli = 0;
  uint64_t pageaddr = 0;
  uint64_t sysid = 0;
  uint32_t seg_size = 0;
};
StatusOr<WalPageHeader> ParseWalPageHeader(std::span<const uint8_t> data);
// A segment (or PostgreSQL's .partial) as it must be before it is stored: PG15's magic, the
// name's timeline, the page address of its number, a size equal to the header's seg size, and
// expected_sysid when it is non-zero. Returns the header.
StatusOr<WalPageHeader> ValidateSegment(const WalName& name, std::span<const uint8_t> data, uint64_t expected_sysid);

// One object, opened.
struct WalObject {
  WalName::Kind kind = WalName::kSegment;
  uint64_t sysid = 0;
  uint32_t seg_size = 0;  // 0 for history and backup-history files
  uint32_t offset = 0;    // parts: where in the segment the bytes start
  int64_t written_ms = 0;
  Id content_id;
  Bytes raw;
};
// The plaintext of an object (header and body). The body is zstd only when that is smaller
// (level 0: never). Sets o.content_id; o.raw is not used (raw is).
Bytes EncodeWalPlaintext(WalObject& o, std::span<const uint8_t> raw, int compression, const Hmac& hmac);
// Checks the header, decompresses, verifies the content id. Pure: fuzzed.
StatusOr<WalObject> DecodeWalPlaintext(const Bytes& plain, const Hmac& hmac);

struct WalSealed {
  std::string name;
  Bytes sealed;
  Id content_id;
};

// What one cluster folder holds, from a listing (no object read).
struct WalTimeline {
  std::map<uint64_t, uint64_t> segments;                                 // segno -> stored size
  std::map<uint64_t, std::vector<std::pair<uint32_t, uint32_t>>> parts;  // segno -> [begin, end)
  std::set<uint64_t> pg_partials;
  size_t backup_histories = 0;
};
struct WalListing {
  uint32_t seg_size = 0;
  std::map<uint32_t, WalTimeline> timelines;
  std::set<uint32_t> histories;
  std::map<std::string, uint64_t> objects;  // every object of the cluster, with its size
  std::vector<std::string> unknown;         // names that are not WAL object names of this cluster
};

class WalStore {
 public:
  WalStore(const Repository& repo, std::string cluster, int compression = 1);
  // 16 hex digits of HMAC(blob-id key, "wal-cluster:" || system identifier in decimal).
  static std::string ClusterOf(const Repository& repo, uint64_t system_id);
  // The cluster folders of a location ("wal/<c>/").
  static StatusOr<std::vector<std::string>> ListClusters(Storage& from);
  const std::string& cluster() const { return cluster_; }
  std::string ObjectName(const WalName& n) const { return WalObjectName(cluster_, n); }

  // written_ms < 0: now.
  WalSealed Seal(const WalName& n, uint64_t sysid, uint32_t seg_size, std::span<const uint8_t> raw,
                 int64_t written_ms = -1) const;
  // Create-only. An object already there with the same content id is success; with another
  // content, AlreadyExists("... different content"); it is never overwritten.
  Status PutSealed(Storage& where, const WalSealed& s) const;
  // Opened and verified; kNotFound when absent, kCorrupt when it fails authentication.
  StatusOr<WalObject> Read(Storage& from, const WalName& n) const;
  StatusOr<WalObject> ReadObject(Storage& from, const std::string& object) const;
  // The complete segment; else the contiguous prefix from offset 0 assembled from parts (parts
  // that overlap must agree); nullopt when neither exists.
  StatusOr<std::optional<Bytes>> ReadSegmentOrPrefix(Storage& from, uint32_t tli, uint64_t segno,
                                                     uint32_t seg_size) const;
  // The segment size of the cluster, from one stored segment; 0 when it has none.
  StatusOr<uint32_t> ProbeSegmentSize(Storage& from) const;
  // seg_size 0: ProbeSegmentSize first.
  StatusOr<WalListing> List(Storage& from, uint32_t seg_size = 0) const;

 private:
  const Repository& repo_;
  std::string cluster_;
  int compression_;
};

}  // namespace stb
