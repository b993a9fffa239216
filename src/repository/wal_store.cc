#include "repository/wal_store.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "compress/zstd_codec.h"
#include "repository/create_only.h"

namespace stb {

namespace {

constexpr uint8_t kMagic[4] = {'S', 'T', 'B', 'W'};

std::string Aad(const std::string& name) { return std::string(kAadWalPrefix) + name; }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

namespace {

// Appends the plaintext (header, then raw or its zstd frame, compressed straight into place).
void AppendWalPlaintext(WalObject& o, std::span<const uint8_t> raw, int compression, const Hmac& hmac, Bytes& out) {
  o.content_id = hmac.Compute(raw.data(), raw.size());
  size_t base = out.size();
  out.resize(base + kWalHeaderSize + raw.size());
  size_t body = compression > 0
                    ? CompressIntoIfSmaller(raw.data(), raw.size(), compression, out.data() + base + kWalHeaderSize)
                    : 0;
  if (body == 0) {
    if (!raw.empty()) std::memcpy(out.data() + base + kWalHeaderSize, raw.data(), raw.size());
  } else {
    out.resize(base + kWalHeaderSize + body);
  }
  Bytes h;
  h.insert(h.end(), kMagic, kMagic + 4);
  h.push_back(1);
  h.push_back(static_cast<uint8_t>(o.kind));
  h.push_back(body != 0 ? 1 : 0);
  h.push_back(0);
  PutU64(h, o.sysid);
  PutU32(h, o.seg_size);
  PutU32(h, o.offset);
  PutU32(h, static_cast<uint32_t>(raw.size()));
  PutU64(h, static_cast<uint64_t>(o.written_ms));
  h.insert(h.end(), o.content_id.b.begin(), o.content_id.b.end());
  std::memcpy(out.data() + base, h.data(), kWalHeaderSize);
}

}  // namespace

Bytes EncodeWalPlaintext(WalObject& o, std::span<const uint8_t> raw, int compression, const Hmac& hmac) {
  Bytes out;
  AppendWalPlaintext(o, raw, compression, hmac, out);
  return out;
}

StatusOr<WalObject> DecodeWalPlaintext(const Bytes& plain, const Hmac& hmac) {
  if (plain.size() < kWalHeaderSize || std::memcmp(plain.data(), kMagic, 4) != 0) {
    return Corrupt("not a WAL object (no STBW header)");
  }
  const uint8_t* p = plain.data();
  if (p[4] != 1) return Corrupt("WAL object version " + std::to_string(p[4]) + " is not supported");
  if (p[5] > WalName::kBackupHistory) return Corrupt("WAL object of unknown kind " + std::to_string(p[5]));
  if (p[6] > 1 || p[7] != 0) return Corrupt("WAL object with an unknown body encoding");
  WalObject o;
  o.kind = static_cast<WalName::Kind>(p[5]);
  o.sysid = GetU64(p + 8);
  o.seg_size = GetU32(p + 16);
  o.offset = GetU32(p + 20);
  uint32_t raw_len = GetU32(p + 24);
  o.written_ms = static_cast<int64_t>(GetU64(p + 28));
  std::memcpy(o.content_id.b.data(), p + 36, 32);
  if (raw_len > kWalMaxSegmentSize) return Corrupt("WAL object claims " + std::to_string(raw_len) + " bytes");
  if (o.seg_size != 0 && (!ValidSegmentSize(o.seg_size) || o.seg_size > kWalMaxSegmentSize)) {
    return Corrupt("WAL object with an invalid segment size " + std::to_string(o.seg_size));
  }
  const uint8_t* body = p + kWalHeaderSize;
  size_t body_len = plain.size() - kWalHeaderSize;
  if (p[6] == 1) {
    RETURN_IF_ERROR(Decompress(body, body_len, raw_len, o.raw).Context("WAL object body"));
  } else {
    if (body_len != raw_len) return Corrupt("WAL object body is not its stated length");
    o.raw.assign(body, body + body_len);
  }
  if (o.raw.size() != raw_len) return Corrupt("WAL object body is not its stated length");
  if (hmac.Compute(o.raw.data(), o.raw.size()) != o.content_id) {
    return Corrupt("WAL object content does not match its content id");
  }
  return o;
}

WalStore::WalStore(const Repository& repo, std::string cluster, int compression)
    : repo_(repo), cluster_(std::move(cluster)), compression_(compression) {}

std::string WalStore::ClusterOf(const Repository& repo, uint64_t system_id) {
  std::string msg = "wal-cluster:" + std::to_string(system_id);
  Id h = repo.hmac().Compute(reinterpret_cast<const uint8_t*>(msg.data()), msg.size());
  return h.Hex().substr(0, 16);
}

StatusOr<std::vector<std::string>> WalStore::ListClusters(Storage& from) {
  ASSIGN_OR_RETURN(auto objs, from.List("wal/"));
  std::set<std::string> out;
  for (const auto& o : objs) {
    std::string c;
    if (ParseWalObjectName(o.name, &c).ok()) out.insert(c);
  }
  return std::vector<std::string>(out.begin(), out.end());
}

WalSealed WalStore::Seal(const WalName& n, uint64_t sysid, uint32_t seg_size, std::span<const uint8_t> raw,
                         int64_t written_ms) const {
  WalObject o;
  o.kind = n.kind;
  o.sysid = sysid;
  o.seg_size = (n.kind == WalName::kHistory || n.kind == WalName::kBackupHistory) ? 0 : seg_size;
  o.offset = n.kind == WalName::kPart ? n.begin : 0;
  o.written_ms = written_ms < 0 ? NowMs() : written_ms;
  WalSealed s;
  s.name = ObjectName(n);
  // One buffer from plaintext to sealed object: a segment is 16 MiB, and every extra buffer costs
  // its page faults and a copy (measured: most of wal-push's time besides zstd and SHA-256).
  s.sealed.resize(kNonceSize);
  AppendWalPlaintext(o, raw, compression_, repo_.hmac(), s.sealed);
  repo_.aead().SealInPlace(s.sealed, Aad(s.name));
  s.content_id = o.content_id;
  return s;
}

Status WalStore::PutSealed(Storage& where, const WalSealed& s) const {
  auto existing = [&]() -> StatusOr<Id> {
    ASSIGN_OR_RETURN(WalObject o, ReadObject(where, s.name));
    return o.content_id;
  };
  return PutSealedCreateOnly(where, s.name, s.sealed, s.content_id, existing,
                             "two clusters or timelines wrote the same WAL file name?");
}

StatusOr<WalObject> WalStore::ReadObject(Storage& from, const std::string& object) const {
  std::string c;
  ASSIGN_OR_RETURN(WalName n, ParseWalObjectName(object, &c));
  ASSIGN_OR_RETURN(Bytes sealed, GetSealedBounded(from, object, kWalMaxSealedSize));
  auto plain = repo_.aead().Open(sealed, Aad(object));
  if (!plain.ok()) return Corrupt(object + " in " + from.Describe() + " fails authentication (damaged or swapped)");
  auto o = DecodeWalPlaintext(*plain, repo_.hmac());
  if (!o.ok()) return o.status().Context(object);
  if (o->kind != n.kind) return Corrupt(object + ": its header says another kind of WAL object");
  if (n.kind == WalName::kSegment && o->raw.size() != o->seg_size) {
    return Corrupt(object + ": a segment of " + std::to_string(o->raw.size()) + " bytes, not " +
                   std::to_string(o->seg_size));
  }
  if (n.kind == WalName::kPart && (o->offset != n.begin || o->raw.size() != n.end - n.begin)) {
    return Corrupt(object + ": its bytes are not the range its name says");
  }
  return o;
}

StatusOr<WalObject> WalStore::Read(Storage& from, const WalName& n) const { return ReadObject(from, ObjectName(n)); }

StatusOr<std::optional<Bytes>> WalStore::ReadSegmentOrPrefix(Storage& from, uint32_t tli, uint64_t segno,
                                                             uint32_t seg_size) const {
  WalName whole = SegmentWalName(tli, segno, seg_size);
  auto o = Read(from, whole);
  if (o.ok()) return std::optional<Bytes>(std::move(o->raw));
  if (o.status().code() != Code::kNotFound) return o.status();
  std::string prefix = ObjectName(whole) + ".r";
  ASSIGN_OR_RETURN(auto objs, from.List(prefix));
  std::vector<std::pair<WalName, std::string>> parts;
  for (const auto& ob : objs) {
    auto n = ParseWalObjectName(ob.name, nullptr);
    if (n.ok() && n->kind == WalName::kPart) parts.push_back({*n, ob.name});
  }
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.first.begin < b.first.begin; });
  Bytes out;
  for (const auto& [n, name] : parts) {
    if (n.begin > out.size()) break;  // a gap: the prefix ends here
    if (n.end <= out.size()) continue;
    ASSIGN_OR_RETURN(WalObject part, ReadObject(from, name));
    size_t overlap = out.size() - n.begin;
    if (!std::equal(part.raw.begin(), part.raw.begin() + overlap, out.begin() + n.begin)) {
      return Corrupt(name + ": overlaps an earlier part with different bytes");
    }
    out.insert(out.end(), part.raw.begin() + overlap, part.raw.end());
  }
  if (out.empty()) return std::optional<Bytes>();
  if (out.size() > seg_size) return Corrupt(ObjectName(whole) + ": parts extend past the segment's end");
  return std::optional<Bytes>(std::move(out));
}

StatusOr<uint32_t> WalStore::ProbeSegmentSize(Storage& from) const {
  ASSIGN_OR_RETURN(auto objs, from.List("wal/" + cluster_ + "/"));
  for (const auto& o : objs) {
    auto n = ParseWalObjectName(o.name, nullptr);
    if (!n.ok() || (n->kind != WalName::kSegment && n->kind != WalName::kPart)) continue;
    ASSIGN_OR_RETURN(WalObject w, ReadObject(from, o.name));
    return w.seg_size;
  }
  return 0u;
}

StatusOr<WalListing> WalStore::List(Storage& from, uint32_t seg_size) const {
  if (seg_size == 0) {
    ASSIGN_OR_RETURN(seg_size, ProbeSegmentSize(from));
  }
  WalListing out;
  out.seg_size = seg_size;
  ASSIGN_OR_RETURN(auto objs, from.List("wal/" + cluster_ + "/"));
  for (const auto& o : objs) {
    out.objects[o.name] = o.size;
    std::string c;
    auto n = ParseWalObjectName(o.name, &c);
    if (!n.ok() || c != cluster_ || (n->kind != WalName::kHistory && seg_size == 0) ||
        (n->kind != WalName::kHistory && n->seg >= (uint64_t(1) << 32) / seg_size)) {
      out.unknown.push_back(o.name);
      continue;
    }
    if (n->kind == WalName::kHistory) {
      out.histories.insert(n->tli);
      continue;
    }
    WalTimeline& t = out.timelines[n->tli];
    uint64_t segno = n->Segno(seg_size);
    switch (n->kind) {
      case WalName::kSegment:
        t.segments[segno] = o.size;
        break;
      case WalName::kPart:
        t.parts[segno].push_back({n->begin, n->end});
        break;
      case WalName::kPgPartial:
        t.pg_partials.insert(segno);
        break;
      default:
        t.backup_histories++;
    }
  }
  return out;
}

}  // namespace stb
