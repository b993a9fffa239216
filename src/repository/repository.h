// The repository: opens a location with a key, and reads and writes its objects (config, keys,
// sealed JSON objects, index, blobs). The only code that knows the format; see doc/design.md.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "chunker/fastcdc.h"
#include "core/bytes.h"
#include "core/env.h"  // NowSeconds, which callers of this header use
#include "core/status.h"
#include "crypto/crypto.h"
#include "crypto/key_source.h"
#include "repository/blob_index.h"
#include "repository/format.h"
#include "storage/storage.h"

namespace stb {

struct RepoConfig {
  int version = kFormatVersion;
  std::string id;  // 64 hex digits
  ChunkerParams chunker;
  uint32_t pack_size = kDefaultPackSize;
  // Written by init since issue 12: which master key is the right one, and a MAC over the whole
  // config under that master key. A config without them (older repositories) is accepted.
  std::string key_check;
  bool authenticated = false;  // the config carried a MAC and it verified
};

// The sane bounds a config must keep (a tampered or damaged one is refused before use).
Status ValidateConfig(const RepoConfig& c);

struct KeyInfo {
  std::string id, kdf, created, host;
  bool current = false;  // the key that opened this repository
};

using IndexSink = std::function<void(const Id& id, const BlobLocation& loc)>;

class Repository {
 public:
  // Creates config (create-only, first: of two racing inits exactly one wins it, and the loser
  // writes nothing) and then the first key. Fails with kAlreadyExists if the location has a
  // config; needs a location with atomic create.
  static Status Init(Storage& storage, const KeySource& key, const RepoConfig& cfg = {});
  // Refuses keys that unwrap to different master keys (naming them), a master key that the
  // config's key check does not name, and a config whose MAC does not verify.
  static StatusOr<std::unique_ptr<Repository>> Open(std::shared_ptr<Storage> storage, const KeySource& key);

  Storage& storage() { return *storage_; }
  const RepoConfig& config() const { return config_; }
  const Aead& aead() const { return *aead_; }
  const Chunker& chunker() const { return *chunker_; }
  // A chunker with the repository's secret gear table but other sizes (database dumps use
  // smaller chunks: their changes are small and scattered).
  Chunker MakeChunker(const ChunkerParams& params) const;
  const Hmac& hmac() const { return *hmac_; }  // blob ids; Compute is safe from several threads

  // Keys (several may unlock one repository; see `key add|list|remove|rotate`).
  StatusOr<std::vector<KeyInfo>> ListKeys();
  StatusOr<std::string> AddKey(const KeySource& key);
  Status RemoveKey(const std::string& key_id);
  const std::string& current_key_id() const { return key_id_; }
  // A secret for another system (CockroachDB's encryption_passphrase), derived from the master
  // key and the repository id, so every key that opens this repository gives the same one.
  std::string DeriveSecretHex(std::string_view purpose) const;

  // Sealed JSON objects stored as folder/<sha256 of the sealed bytes>; returns the name.
  StatusOr<std::string> SaveObject(const std::string& folder, std::string_view kind, const nlohmann::json& doc);
  StatusOr<nlohmann::json> LoadObject(const std::string& name, std::string_view kind);
  StatusOr<std::string> SaveObjectText(const std::string& folder, std::string_view kind, std::string_view json_text);
  Bytes SealJson(std::string_view kind, const nlohmann::json& doc) const;
  Bytes SealText(std::string_view kind, std::string_view json_text) const;
  StatusOr<nlohmann::json> OpenJson(const Bytes& sealed, std::string_view kind) const;
  // The JSON text of a sealed object, unparsed (for parsers that stream it). A decompressed text
  // has room for kTextSlack more bytes, so a parser that needs padding adds it without a copy.
  static constexpr size_t kTextSlack = 64;
  StatusOr<Bytes> OpenText(const Bytes& sealed, std::string_view kind) const;

  // Loads every index/ object. Damaged ones are named in problems (and skipped) when given,
  // otherwise they fail the call.
  Status LoadIndex(std::vector<std::string>* problems = nullptr);
  const BlobIndex& index() const { return index_; }
  static nlohmann::json IndexToJson(const std::vector<std::pair<Id, BlobLocation>>& blobs);
  static std::string IndexToText(const std::vector<std::pair<Id, BlobLocation>>& blobs);
  // The entries of one index object, duplicates included (prune needs every copy).
  static StatusOr<std::vector<std::pair<Id, BlobLocation>>> ParseIndex(const nlohmann::json& doc);
  // The same from the object's JSON text, entry by entry into sink, without building a document
  // (src/repository/index_parse.cc). On an error, entries already passed to sink stay passed.
  static Status ParseIndexText(std::string_view text, const IndexSink& sink);
  // Reads one index/ object and parses it into sink; errors name the object and the location.
  Status ReadIndexObject(const std::string& name, const IndexSink& sink);

  // Decrypts, decompresses and verifies (HMAC of the plaintext == id) one sealed blob.
  Status DecodeBlob(const Id& id, const BlobLocation& loc, const uint8_t* sealed, Bytes& out, Bytes& scratch) const;
  // Reads one blob through the index.
  StatusOr<Bytes> ReadBlob(const Id& id);

  // Claims a unique backup id "YYYYMMDD_HHMMSS" (local time) at or after start: two backups in
  // the same second get consecutive seconds. Needs a location with atomic create.
  StatusOr<std::string> ReserveBackupId(int64_t start_unix);
  std::string BackupIdObject(const std::string& backup_id) const;

 private:
  Repository() = default;
  Status SelectMaster(const KeySource& key);
  StatusOr<std::string> SaveSealed(const std::string& folder, const Bytes& sealed);
  std::shared_ptr<Storage> storage_;
  RepoConfig config_;
  std::string key_id_;
  Bytes master_;
  std::unique_ptr<Aead> aead_;
  std::unique_ptr<Hmac> hmac_;
  std::unique_ptr<Chunker> chunker_;
  BlobIndex index_;
};

std::string FormatBackupId(int64_t unix_seconds);
// True for "YYYYMMDD_HHMMSS".
bool IsBackupId(std::string_view s);
// Local time with microseconds, as the guide's reports print it: 2024-01-03T14:25:30.123456
std::string IsoTimestamp(double unix_seconds);

}  // namespace stb
