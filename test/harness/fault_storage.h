// Fault injection for tests: a storage wrapper that, after N operations, fails one, cuts one
// short, or "crashes" (that one and every later one fail, as if the process had died), plus a
// hook that runs before chosen operations to interleave another process's work at an exact point.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "storage/storage.h"

namespace stb {

enum class FaultOp { kPut, kGet, kStat, kList, kRemove };

enum class FaultMode {
  kNone,
  kFail,      // the armed operation alone fails (kUnavailable)
  kCutShort,  // a read returns only the first half; a write stores only the first half and fails
              // (listings are not cut: a store lists completely or fails, so List just fails)
  kCrash,     // the armed operation and every later one fail: nothing more reaches the location
};

// A listing's objects by value (a loop over *storage.List(...) would outlive the temporary).
inline std::vector<ObjectInfo> Listed(StatusOr<std::vector<ObjectInfo>> l) {
  return l.ok() ? std::move(*l) : std::vector<ObjectInfo>{};
}

class FaultStorage final : public Storage {
 public:
  explicit FaultStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}

  // The fault hits the operation after `after` counted ones (0: the next). Only writes (Put,
  // Remove) are counted when writes_only: they are what changes the location.
  void Arm(FaultMode mode, uint64_t after, bool writes_only = true);
  // Runs before every operation (outside any lock of this wrapper); a non-ok status fails it.
  void SetHook(std::function<Status(FaultOp, const std::string&)> hook);
  uint64_t counted() const { return counted_; }  // operations counted so far
  bool crashed() const { return crashed_; }
  bool fired() const { return fired_; }  // the armed fault has happened

  std::string Describe() const override { return "fault(" + inner_->Describe() + ")"; }
  StorageCaps Caps() const override { return inner_->Caps(); }
  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override;
  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override;
  StatusOr<uint64_t> Stat(const std::string& name) override;
  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Remove(const std::string& name) override;

 private:
  // What to do with this operation: kNone (pass through) or the armed mode.
  FaultMode Enter(FaultOp op, const std::string& name, Status& hook_status);

  std::shared_ptr<Storage> inner_;
  std::mutex mu_;
  std::function<Status(FaultOp, const std::string&)> hook_;
  FaultMode mode_ = FaultMode::kNone;
  uint64_t trigger_ = 0;
  bool writes_only_ = true;
  std::atomic<uint64_t> counted_{0};
  std::atomic<bool> crashed_{false}, fired_{false};
};

}  // namespace stb
