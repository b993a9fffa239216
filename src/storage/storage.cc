#include "storage/storage.h"

namespace stb {

namespace {

class BufferedObject final : public PendingObject {
 public:
  explicit BufferedObject(Storage& s) : storage_(s) {}
  Status Append(const uint8_t* data, size_t n) override {
    buf_.insert(buf_.end(), data, data + n);
    return Status::Ok();
  }
  uint64_t size() const override { return buf_.size(); }
  Status Commit(const std::string& name) override { return storage_.Put(name, buf_, PutMode::kReplace); }

 private:
  Storage& storage_;
  Bytes buf_;
};

}  // namespace

StatusOr<std::unique_ptr<PendingObject>> Storage::CreatePending() {
  return std::unique_ptr<PendingObject>(new BufferedObject(*this));
}

}  // namespace stb
