// The one narrow interface every location implements (local, mem; later s3, azure, gcs).
// Objects are written once and never modified; names are '/'-separated relative paths.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/status.h"

namespace stb {

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
};

struct StorageCaps {
  bool atomic_create = false;  // Put(kCreateOnly) fails with kAlreadyExists atomically
  int parallelism = 1;         // requests worth running at once
};

enum class PutMode { kReplace, kCreateOnly };

// An object written piece by piece whose name is known only at the end (a pack is named by the
// hash of its bytes). Destroying it uncommitted discards it.
class PendingObject {
 public:
  virtual ~PendingObject() = default;
  virtual Status Append(const uint8_t* data, size_t n) = 0;
  virtual uint64_t size() const = 0;
  // Makes the object durable under name (replacing any object of that name).
  virtual Status Commit(const std::string& name) = 0;
};

// Errors: kNotFound for a missing object; kUnavailable for retryable failures; anything else is
// permanent. Implementations are thread-safe.
class Storage {
 public:
  static constexpr uint64_t kToEnd = ~uint64_t{0};
  virtual ~Storage() = default;
  // For messages: "local /var/backups/spacetime". Never contains a secret.
  virtual std::string Describe() const = 0;
  virtual StorageCaps Caps() const = 0;
  virtual Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) = 0;
  Status Put(const std::string& name, const Bytes& b, PutMode mode = PutMode::kReplace) {
    return Put(name, b.data(), b.size(), mode);
  }
  // Reads [offset, offset+length) (clamped to the object's end).
  virtual StatusOr<Bytes> Get(const std::string& name, uint64_t offset = 0, uint64_t length = kToEnd) = 0;
  virtual StatusOr<uint64_t> Stat(const std::string& name) = 0;
  // Every object whose name starts with prefix (a folder such as "data/"), in no set order.
  virtual StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Removing a missing object is not an error.
  virtual Status Remove(const std::string& name) = 0;
  // The default buffers in memory and Puts on commit; a local directory spools to a file.
  virtual StatusOr<std::unique_ptr<PendingObject>> CreatePending();
};

// Object names are relative: no leading '/', no "..", not empty. Every driver checks them.
inline Status CheckObjectName(const std::string& name) {
  if (name.empty() || name[0] == '/' || name.find("..") != std::string::npos) {
    return InvalidArgument("bad object name '" + name + "'");
  }
  return Status::Ok();
}

// Opens a directory as a location; creates it when create is set.
StatusOr<std::unique_ptr<Storage>> OpenLocalStorage(const std::string& root, bool create);
std::unique_ptr<Storage> NewMemStorage();

}  // namespace stb
