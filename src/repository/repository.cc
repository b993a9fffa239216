#include "repository/repository.h"

#include <sodium.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "compress/zstd_codec.h"
#include "core/file_util.h"
#include "core/log.h"
#include "core/parse.h"

namespace stb {

using json = nlohmann::json;

namespace {

constexpr uint64_t kArgonOps = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr size_t kArgonMem = crypto_pwhash_MEMLIMIT_INTERACTIVE;

// Key-encryption key from a key source and a key object's salt.
StatusOr<Bytes> DeriveKek(const KeySource& src, const std::string& kdf, const Bytes& salt, uint64_t ops, size_t mem) {
  if (kdf == "keyfile" && src.kind == KeySource::Kind::kKeyFile)
    return Hkdf(src.secret, salt, "spacetime-backup key file v1", 32);
  if (kdf == "argon2id" && src.kind == KeySource::Kind::kPassphrase) {
    return Argon2id(AsString(src.secret), salt, ops, mem);
  }
  return NotFound("key kind does not match");
}

// version 2 key objects wrap under kAadKeyV2 and belong to repositories with an authenticated config.
json MakeKeyObject(const KeySource& src, const Bytes& master, int version) {
  json k;
  Bytes salt = RandomBytes(src.kind == KeySource::Kind::kKeyFile ? 32 : crypto_pwhash_SALTBYTES);
  k["version"] = version;
  k["kdf"] = src.kind == KeySource::Kind::kKeyFile ? "keyfile" : "argon2id";
  k["salt"] = ToHex(salt);
  if (src.kind == KeySource::Kind::kPassphrase) {
    k["ops"] = kArgonOps;
    k["mem"] = kArgonMem;
  }
  Bytes kek = DeriveKek(src, k["kdf"], salt, kArgonOps, kArgonMem).value();
  k["wrapped"] = ToHex(Aead(kek).Seal(master, version >= 2 ? kAadKeyV2 : kAadKey));
  k["created"] = IsoTimestamp(NowSeconds());
  k["host"] = Hostname();
  return k;
}

// Names the master key without revealing it: stored in config, compared on open.
std::string KeyCheckOf(const Bytes& master, const std::string& repo_id) {
  return ToHex(Hkdf(master, *FromHex(repo_id), "spacetime-backup key check v1", 16));
}

// The MAC over every field of config but "mac" itself (compact, keys sorted: nlohmann's order).
std::string ConfigMacOf(const Bytes& master, const std::string& repo_id, json c) {
  c.erase("mac");
  std::string text = c.dump();
  Hmac h(Hkdf(master, *FromHex(repo_id), "spacetime-backup config mac v1", 32));
  return h.Compute(reinterpret_cast<const uint8_t*>(text.data()), text.size()).Hex();
}

bool IsHex(const std::string& s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) || std::isupper(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

Chunker Repository::MakeChunker(const ChunkerParams& params) const {
  return Chunker(Hkdf(master_, *FromHex(config_.id), "spacetime-backup chunker v1", 32), params);
}

std::string Repository::DeriveSecretHex(std::string_view purpose) const {
  return ToHex(Hkdf(master_, *FromHex(config_.id), "spacetime-backup " + std::string(purpose) + " v1", 32));
}

std::string FormatBackupId(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  localtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%d_%H%M%S", &tm);
  return buf;
}

bool IsBackupId(std::string_view s) {
  if (s.size() != 15 || s[8] != '_') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i != 8 && !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

std::string IsoTimestamp(double t) {
  time_t secs = static_cast<time_t>(t);
  long micros = static_cast<long>((t - static_cast<double>(secs)) * 1e6);
  struct tm tm;
  localtime_r(&secs, &tm);
  char buf[48];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%06ld", micros);
  return buf;
}

Status ValidateConfig(const RepoConfig& c) {
  if (!IsHex(c.id, 64)) return Corrupt("its id is not 64 lowercase hex digits");
  const ChunkerParams& k = c.chunker;
  if (k.min_size < (4u << 10) || k.max_size > (64u << 20) || !(k.min_size < k.avg_size && k.avg_size < k.max_size) ||
      (k.avg_size & (k.avg_size - 1)) != 0) {
    return Corrupt("its chunker sizes are out of bounds (need 4 KiB <= min < avg < max <= 64 MiB, avg a power of two)");
  }
  if (c.pack_size < (1u << 20) || c.pack_size > (1u << 30)) {
    return Corrupt("its pack_size " + std::to_string(c.pack_size) + " is out of bounds (1 MiB to 1 GiB)");
  }
  if (!c.key_check.empty() && !IsHex(c.key_check, 32)) return Corrupt("its key_check is not 32 hex digits");
  return Status::Ok();
}

Status Repository::Init(Storage& storage, const KeySource& key, const RepoConfig& cfg_in) {
  if (!storage.Caps().atomic_create) {
    return InvalidArgument(storage.Describe() + " cannot create objects atomically: init a local directory and " +
                           "replicate to it instead");
  }
  auto existing = storage.Stat("config");
  if (existing.ok()) return AlreadyExists(storage.Describe() + " already holds a repository");
  RepoConfig cfg = cfg_in;
  if (cfg.id.empty()) cfg.id = ToHex(RandomBytes(32));
  if (Status st = ValidateConfig(cfg); !st.ok()) return InvalidArgument("config: " + st.message());
  Bytes master = RandomBytes(32);
  json c = {
      {"version", cfg.version},
      {"id", cfg.id},
      {"chunker",
       {{"min_size", cfg.chunker.min_size}, {"avg_size", cfg.chunker.avg_size}, {"max_size", cfg.chunker.max_size}}},
      {"pack_size", cfg.pack_size},
      {"created", IsoTimestamp(NowSeconds())},
      {"key_check", KeyCheckOf(master, cfg.id)}};
  c["mac"] = ConfigMacOf(master, cfg.id, c);
  // config first, create-only: of two racing inits exactly one gets it, and the other stops here
  // having written nothing, so no second master key can ever appear. A crash before the key
  // below leaves a config without keys, which open names as an interrupted init.
  Status st = storage.Put("config", ToBytes(c.dump(2)), PutMode::kCreateOnly);
  if (st.code() == Code::kAlreadyExists) return AlreadyExists(storage.Describe() + " already holds a repository");
  RETURN_IF_ERROR(st);
  return storage.Put("keys/" + ToHex(RandomBytes(16)), ToBytes(MakeKeyObject(key, master, 2).dump(2)),
                     PutMode::kCreateOnly);
}

StatusOr<std::unique_ptr<Repository>> Repository::Open(std::shared_ptr<Storage> storage, const KeySource& key) {
  auto raw = storage->Get("config");
  if (!raw.ok()) {
    if (raw.status().code() == Code::kNotFound) {
      return NotFound("no repository at " + storage->Describe() + " (run `spacetime-backup init` first)");
    }
    return raw.status().Context("reading the repository config");
  }
  std::unique_ptr<Repository> repo(new Repository());
  repo->storage_ = std::move(storage);
  // The config is not sealed: every field is checked (type, range, hex id) before use.
  const std::string where = repo->storage_->Describe();
  json c;
  std::string mac;
  Status bad_config = Status::Ok();
  try {
    c = json::parse(AsString(*raw));
    auto u32 = [&](const json& v, const char* what) -> uint32_t {
      auto n = JsonUint(v, UINT32_MAX, what);
      if (!n.ok() && bad_config.ok()) bad_config = n.status();
      return n.ok() ? static_cast<uint32_t>(*n) : 0;
    };
    repo->config_.version = static_cast<int>(u32(c.at("version"), "version"));
    repo->config_.id = c.at("id").get<std::string>();
    repo->config_.chunker.min_size = u32(c.at("chunker").at("min_size"), "chunker.min_size");
    repo->config_.chunker.avg_size = u32(c.at("chunker").at("avg_size"), "chunker.avg_size");
    repo->config_.chunker.max_size = u32(c.at("chunker").at("max_size"), "chunker.max_size");
    repo->config_.pack_size = u32(c.at("pack_size"), "pack_size");
    repo->config_.key_check = c.value("key_check", "");
    mac = c.value("mac", "");
  } catch (const std::exception& e) {
    bad_config = Corrupt(e.what());
  }
  if (!bad_config.ok()) {
    return Corrupt("config of " + where + " is damaged: " + bad_config.message());
  }
  if (repo->config_.version != kFormatVersion) {
    return InvalidArgument("repository format version " + std::to_string(repo->config_.version) +
                           " is not supported by this build (it reads version " + std::to_string(kFormatVersion) + ")");
  }
  if (Status st = ValidateConfig(repo->config_); !st.ok()) {
    return Corrupt("config of " + where + " is damaged or was altered: " + st.message());
  }
  RETURN_IF_ERROR(repo->SelectMaster(key));
  if (!mac.empty() || !repo->config_.key_check.empty()) {
    if (mac != ConfigMacOf(repo->master_, repo->config_.id, c)) {
      return Corrupt("config of " + where +
                     " was altered: its MAC does not verify under the master key (restore the config object from " +
                     "another location)");
    }
    repo->config_.authenticated = true;
  } else {
    LogWarn("config of " + where + " predates config authentication (no key check or MAC): accepted as written " +
            "by an older version; it is not protected against tampering");
  }
  Bytes salt = *FromHex(repo->config_.id);
  repo->aead_ = std::make_unique<Aead>(Hkdf(repo->master_, salt, "spacetime-backup encryption v1", 32));
  repo->hmac_ = std::make_unique<Hmac>(Hkdf(repo->master_, salt, "spacetime-backup blob id v1", 32));
  try {
    repo->chunker_ =
        std::make_unique<Chunker>(Hkdf(repo->master_, salt, "spacetime-backup chunker v1", 32), repo->config_.chunker);
  } catch (const std::exception& e) {
    return Corrupt(std::string("config: ") + e.what());
  }
  return repo;
}

Status Repository::SelectMaster(const KeySource& key) {
  const std::string where = storage_->Describe();
  ASSIGN_OR_RETURN(auto keys, storage_->List("keys/"));
  if (keys.empty()) {
    return Corrupt(where + " has a config but no keys/ objects (an init that was interrupted? If no init is " +
                   "running, remove its config and run init again)");
  }
  // Every key this secret unwraps, not just the first: two that disagree are two repositories'
  // worth of master keys (a racing or planted key), and listing order must never pick one.
  struct Unwrapped {
    std::string id;
    Bytes master;
    int version;
  };
  std::vector<Unwrapped> opened;
  for (const auto& obj : keys) {
    auto body = storage_->Get(obj.name);
    if (!body.ok()) continue;
    try {
      json k = json::parse(AsString(*body));
      // Numbers of a key object come from the location: checked, never cast (a float such as
      // 1e51 converted to int is undefined behaviour; the fuzzer found it).
      auto number = [&](const char* name, uint64_t fallback, uint64_t max) -> std::optional<uint64_t> {
        if (!k.contains(name)) return fallback;
        auto n = JsonUint(k[name], max, name);
        return n.ok() ? std::optional<uint64_t>(*n) : std::nullopt;
      };
      auto version = number("version", 1, 1000);
      auto ops = number("ops", kArgonOps, UINT32_MAX);
      auto mem = number("mem", kArgonMem, SIZE_MAX);
      if (!version || !ops || !mem) continue;
      auto salt = FromHex(k.at("salt").get<std::string>());
      auto wrapped = FromHex(k.at("wrapped").get<std::string>());
      if (!salt || !wrapped) continue;
      auto kek = DeriveKek(key, k.at("kdf"), *salt, *ops, static_cast<size_t>(*mem));
      if (!kek.ok()) continue;
      auto master = Aead(*kek).Open(*wrapped, *version >= 2 ? kAadKeyV2 : kAadKey);
      if (!master.ok() || master->size() != 32) continue;
      opened.push_back({obj.name.substr(5), std::move(*master), static_cast<int>(*version)});
    } catch (const std::exception&) {
      continue;  // a damaged key object must not stop another key from opening the repository
    }
  }
  if (opened.empty()) {
    return PermissionDenied(key.Describe() + " does not unlock the repository at " + where + ": none of its " +
                            std::to_string(keys.size()) + " key(s) matches");
  }
  const std::string& check = config_.key_check;
  std::vector<std::string> right, wrong;
  for (const auto& u : opened) {
    bool ok = check.empty() ? u.master == opened.front().master : KeyCheckOf(u.master, config_.id) == check;
    (ok ? right : wrong).push_back(u.id);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
  };
  if (!wrong.empty()) {
    std::string msg = "keys of " + where + " unwrap to different master keys: ";
    if (check.empty()) {
      msg += join(right) + " and " + join(wrong) + " (this config has no key check to tell which is right)";
    } else {
      msg += (right.empty() ? std::string("none") : join(right)) + " matching the config's key check, " + join(wrong) +
             " not (left by a racing init, or planted)";
    }
    return PermissionDenied(msg + "; refusing to guess: remove the wrong keys/ object(s) by hand");
  }
  for (const auto& u : opened) {
    if (u.version >= 2 && check.empty()) {
      return Corrupt("config of " + where + " was altered: key " + u.id +
                     " belongs to a repository with an authenticated config, but the config has no key check or MAC");
    }
  }
  master_ = opened.front().master;
  key_id_ = opened.front().id;
  return Status::Ok();
}

StatusOr<std::vector<KeyInfo>> Repository::ListKeys() {
  ASSIGN_OR_RETURN(auto objs, storage_->List("keys/"));
  std::vector<KeyInfo> out;
  for (const auto& o : objs) {
    KeyInfo ki;
    ki.id = o.name.substr(5);
    ki.current = ki.id == key_id_;
    auto body = storage_->Get(o.name);
    if (body.ok()) {
      try {
        json k = json::parse(AsString(*body));
        ki.kdf = k.value("kdf", "");
        ki.created = k.value("created", "");
        ki.host = k.value("host", "");
      } catch (const std::exception&) {
        ki.kdf = "(damaged)";
      }
    }
    out.push_back(ki);
  }
  return out;
}

StatusOr<std::string> Repository::AddKey(const KeySource& key) {
  std::string id = ToHex(RandomBytes(16));
  // A legacy repository (config without MAC) keeps version 1 keys: a version 2 key would demand
  // a MAC its config does not have.
  int version = config_.authenticated ? 2 : 1;
  RETURN_IF_ERROR(
      storage_->Put("keys/" + id, ToBytes(MakeKeyObject(key, master_, version).dump(2)), PutMode::kCreateOnly));
  return id;
}

Status Repository::RemoveKey(const std::string& key_id) {
  ASSIGN_OR_RETURN(auto keys, ListKeys());
  bool found = false;
  for (const auto& k : keys) found |= k.id == key_id;
  if (!found) return NotFound("no key " + key_id + " in " + storage_->Describe());
  if (keys.size() == 1)
    return InvalidArgument("refusing to remove the last key: the repository could never be opened again");
  return storage_->Remove("keys/" + key_id);
}

Bytes Repository::SealJson(std::string_view kind, const json& doc) const {
  // replace: a non-UTF-8 string must not abort a backup (trees store such names as hex).
  return SealText(kind, doc.dump(-1, ' ', false, json::error_handler_t::replace));
}

Bytes Repository::SealText(std::string_view kind, std::string_view text) const {
  Bytes plain;
  plain.push_back(0);
  Bytes packed;
  if (CompressIfSmaller(reinterpret_cast<const uint8_t*>(text.data()), text.size(), 3, packed)) {
    plain[0] = 1;
    PutU32(plain, static_cast<uint32_t>(text.size()));
    plain.insert(plain.end(), packed.begin(), packed.end());
  } else {
    plain.insert(plain.end(), text.begin(), text.end());
  }
  Bytes out;
  aead_->Seal(plain.data(), plain.size(), reinterpret_cast<const uint8_t*>(kind.data()), kind.size(), out);
  return out;
}

StatusOr<Bytes> Repository::OpenText(const Bytes& sealed, std::string_view kind) const {
  Bytes plain;
  RETURN_IF_ERROR(
      aead_->Open(sealed.data(), sealed.size(), reinterpret_cast<const uint8_t*>(kind.data()), kind.size(), plain));
  if (plain.empty()) return Corrupt("empty object");
  Bytes text;
  if (plain[0] == 1) {
    if (plain.size() < 5) return Corrupt("truncated object");
    uint32_t raw_size = GetU32(plain.data() + 1);
    text.reserve(size_t{raw_size} + kTextSlack);  // the index parser pads the text in place, not in a copy
    RETURN_IF_ERROR(Decompress(plain.data() + 5, plain.size() - 5, raw_size, text));
  } else if (plain[0] == 0) {
    plain.erase(plain.begin());
    text = std::move(plain);
  } else {
    return Corrupt("unknown object encoding");
  }
  return text;
}

StatusOr<json> Repository::OpenJson(const Bytes& sealed, std::string_view kind) const {
  ASSIGN_OR_RETURN(Bytes text, OpenText(sealed, kind));
  try {
    return json::parse(AsString(text));
  } catch (const std::exception& e) {
    return Corrupt(std::string("bad JSON: ") + e.what());
  }
}

StatusOr<std::string> Repository::SaveObject(const std::string& folder, std::string_view kind, const json& doc) {
  return SaveSealed(folder, SealJson(kind, doc));
}

StatusOr<std::string> Repository::SaveObjectText(const std::string& folder, std::string_view kind,
                                                 std::string_view text) {
  return SaveSealed(folder, SealText(kind, text));
}

StatusOr<std::string> Repository::SaveSealed(const std::string& folder, const Bytes& sealed) {
  std::string name = folder + "/" + Sha256(sealed).Hex();
  RETURN_IF_ERROR(storage_->Put(name, sealed, PutMode::kReplace));
  return name;
}

StatusOr<json> Repository::LoadObject(const std::string& name, std::string_view kind) {
  ASSIGN_OR_RETURN(Bytes sealed, storage_->Get(name));
  auto doc = OpenJson(sealed, kind);
  if (!doc.ok()) return doc.status().Context(name + " in " + storage_->Describe());
  return doc;
}

// Written as text directly: an index object of a few hundred thousand entries as a JSON document
// costs ~250 bytes an entry, most of a full backup's memory when it was written.
std::string Repository::IndexToText(const std::vector<std::pair<Id, BlobLocation>>& blobs) {
  std::vector<uint32_t> order(blobs.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return blobs[a].second.pack.b < blobs[b].second.pack.b; });
  std::string out = "{\"packs\":[";
  out.reserve(blobs.size() * 100 + 64);
  for (size_t i = 0; i < order.size(); ++i) {
    const BlobLocation& loc = blobs[order[i]].second;
    bool first_of_pack = i == 0 || blobs[order[i - 1]].second.pack != loc.pack;
    if (first_of_pack)
      out += i == 0 ? "{\"blobs\":[" : "],\"id\":\"" + blobs[order[i - 1]].second.pack.Hex() + "\"},{\"blobs\":[";
    if (!first_of_pack) out += ',';
    out += "[\"" + blobs[order[i]].first.Hex() + "\"," + std::to_string(static_cast<int>(loc.type)) + "," +
           std::to_string(loc.offset) + "," + std::to_string(loc.length) + "," + std::to_string(loc.raw_length) + "]";
  }
  if (!order.empty()) out += "],\"id\":\"" + blobs[order.back()].second.pack.Hex() + "\"}";
  out += "],\"version\":1}";
  return out;
}

json Repository::IndexToJson(const std::vector<std::pair<Id, BlobLocation>>& blobs) {
  return json::parse(IndexToText(blobs));
}

Status Repository::LoadIndex(std::vector<std::string>* problems) {
  index_.clear();
  ASSIGN_OR_RETURN(auto objs, storage_->List("index/"));
  BlobIndex::Builder built;  // keeps the first copy of an id, in listing order (design.md §8)
  // Reserved from the objects' sizes (an entry takes well over 24 sealed bytes, compressed): the
  // records are never copied to grow, and pages reserved beyond the last record are never touched.
  uint64_t sealed_bytes = 0;
  for (const auto& o : objs) sealed_bytes += o.size;
  built.Reserve(static_cast<size_t>(std::min<uint64_t>(sealed_bytes / 24, uint64_t{1} << 32)));

  // Objects are fetched, opened and parsed on a few threads (parsing is most of a large index's
  // load time, and every backup waits for it); each joins the builder whole and in listing order,
  // so the first copy of an id still wins and nothing of a damaged object joins.
  std::mutex mu;
  std::condition_variable cv;
  size_t next_take = 0, next_join = 0;
  Status failed;
  auto work = [&] {
    std::vector<std::pair<Id, BlobLocation>> part;
    for (;;) {
      size_t i;
      {
        std::lock_guard<std::mutex> g(mu);
        if (!failed.ok() || next_take == objs.size()) return;
        i = next_take++;
      }
      part.clear();
      Status st =
          ReadIndexObject(objs[i].name, [&](const Id& id, const BlobLocation& loc) { part.emplace_back(id, loc); });
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return next_join == i || !failed.ok(); });
      if (!failed.ok()) return;
      if (st.ok()) {
        for (const auto& [id, loc] : part) built.Add(id, loc);
      } else if (problems) {
        problems->push_back(st.message());
      } else {
        failed = st;
      }
      ++next_join;
      cv.notify_all();
    }
  };
  size_t threads = std::min<size_t>(objs.size(), std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  RETURN_IF_ERROR(failed);
  index_ = std::move(built).Build();
  return Status::Ok();
}

Status Repository::DecodeBlob(const Id& id, const BlobLocation& loc, const uint8_t* sealed, Bytes& out,
                              Bytes& scratch) const {
  Bytes& body = loc.compressed() ? scratch : out;
  Status st = aead_->Open(sealed, loc.length, id.b.data(), id.b.size(), body);
  if (st.ok() && loc.compressed()) st = Decompress(scratch.data(), scratch.size(), loc.raw_length, out);
  if (st.ok() && out.size() != loc.raw_length) st = Corrupt("length differs from the index");
  if (st.ok() && hmac_->Compute(out.data(), out.size()) != id) st = Corrupt("content does not match its id");
  if (!st.ok()) return st.Context("blob " + id.Hex().substr(0, 16) + " in " + PackName(loc.pack));
  return Status::Ok();
}

StatusOr<Bytes> Repository::ReadBlob(const Id& id) {
  auto found = index_.find(id);
  if (!found) return NotFound("blob " + id.Hex() + " is not in the index");
  const BlobLocation& loc = *found;
  ASSIGN_OR_RETURN(Bytes sealed, storage_->Get(PackName(loc.pack), loc.offset, loc.length));
  if (sealed.size() != loc.length) return Corrupt(PackName(loc.pack) + " is shorter than the index says");
  Bytes out, scratch;
  RETURN_IF_ERROR(DecodeBlob(id, loc, sealed.data(), out, scratch));
  return out;
}

std::string Repository::BackupIdObject(const std::string& backup_id) const {
  std::string msg = "backup-id:" + backup_id;
  return "ids/" + hmac_->Compute(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()).Hex();
}

StatusOr<std::string> Repository::ReserveBackupId(int64_t start) {
  for (int64_t t = start; t < start + 3600; ++t) {
    std::string id = FormatBackupId(t);
    Bytes body = SealJson(kKindBackupId, json{{"backup_id", id}});
    Status st = storage_->Put(BackupIdObject(id), body, PutMode::kCreateOnly);
    if (st.ok()) return id;
    if (st.code() != Code::kAlreadyExists) return st.Context("reserving backup id " + id);
  }
  return Internal("no free backup id within an hour of the start time");
}

}  // namespace stb
