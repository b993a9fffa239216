// In-memory location, for tests and as a reference for the storage contract.
#include <map>
#include <mutex>

#include "storage/storage.h"

namespace stb {
namespace {

class MemStorage final : public Storage {
 public:
  std::string Describe() const override { return "mem"; }
  StorageCaps Caps() const override { return {.atomic_create = true, .parallelism = 4}; }

  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    std::lock_guard<std::mutex> g(mu_);
    if (mode == PutMode::kCreateOnly && objects_.count(name)) return AlreadyExists(name + " already exists in mem");
    objects_[name] = Bytes(data, data + n);
    return Status::Ok();
  }
  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return NotFound(name + " in mem: no such object");
    const Bytes& b = it->second;
    if (offset > b.size()) return InvalidArgument("read past the end of " + name);
    uint64_t n = std::min<uint64_t>(length, b.size() - offset);
    return Bytes(b.begin() + static_cast<ptrdiff_t>(offset), b.begin() + static_cast<ptrdiff_t>(offset + n));
  }
  StatusOr<uint64_t> Stat(const std::string& name) override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = objects_.find(name);
    if (it == objects_.end()) return NotFound(name + " in mem: no such object");
    return static_cast<uint64_t>(it->second.size());
  }
  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<ObjectInfo> out;
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      out.push_back({it->first, it->second.size()});
    }
    return out;
  }
  Status Remove(const std::string& name) override {
    std::lock_guard<std::mutex> g(mu_);
    objects_.erase(name);
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  std::map<std::string, Bytes> objects_;
};

}  // namespace

std::unique_ptr<Storage> NewMemStorage() { return std::make_unique<MemStorage>(); }

}  // namespace stb
