#include "fault_storage.h"

namespace stb {

void FaultStorage::Arm(FaultMode mode, uint64_t after, bool writes_only) {
  std::lock_guard lk(mu_);
  mode_ = mode;
  writes_only_ = writes_only;
  trigger_ = counted_ + after;
  fired_ = false;
  crashed_ = false;
}

void FaultStorage::SetHook(std::function<Status(FaultOp, const std::string&)> hook) {
  std::lock_guard lk(mu_);
  hook_ = std::move(hook);
}

FaultMode FaultStorage::Enter(FaultOp op, const std::string& name, Status& hook_status) {
  std::function<Status(FaultOp, const std::string&)> hook;
  {
    std::lock_guard lk(mu_);
    hook = hook_;
  }
  if (hook) {
    hook_status = hook(op, name);
    if (!hook_status.ok()) return FaultMode::kNone;
  }
  std::lock_guard lk(mu_);
  if (crashed_) return FaultMode::kCrash;
  bool counts = !writes_only_ || op == FaultOp::kPut || op == FaultOp::kRemove;
  if (!counts) return FaultMode::kNone;
  uint64_t n = counted_++;
  if (mode_ == FaultMode::kNone || n != trigger_) return FaultMode::kNone;
  fired_ = true;
  if (mode_ == FaultMode::kCrash) crashed_ = true;
  return mode_;
}

namespace {
Status Crashed(const std::string& name) { return Unavailable("injected crash before " + name); }
}  // namespace

Status FaultStorage::Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) {
  Status hook;
  FaultMode m = Enter(FaultOp::kPut, name, hook);
  if (!hook.ok()) return hook;
  if (m == FaultMode::kCrash) return Crashed("put " + name);
  if (m == FaultMode::kFail) return Unavailable("injected failure of put " + name);
  if (m == FaultMode::kCutShort) {
    inner_->Put(name, data, n / 2, mode).IgnoreError();
    return Unavailable("injected cut-short put " + name);
  }
  return inner_->Put(name, data, n, mode);
}

StatusOr<Bytes> FaultStorage::Get(const std::string& name, uint64_t offset, uint64_t length) {
  Status hook;
  FaultMode m = Enter(FaultOp::kGet, name, hook);
  if (!hook.ok()) return hook;
  if (m == FaultMode::kCrash) return Crashed("get " + name);
  if (m == FaultMode::kFail) return Unavailable("injected failure of get " + name);
  auto b = inner_->Get(name, offset, length);
  if (m == FaultMode::kCutShort && b.ok()) b->resize(b->size() / 2);
  return b;
}

StatusOr<uint64_t> FaultStorage::Stat(const std::string& name) {
  Status hook;
  FaultMode m = Enter(FaultOp::kStat, name, hook);
  if (!hook.ok()) return hook;
  if (m == FaultMode::kCrash) return Crashed("stat " + name);
  if (m == FaultMode::kFail) return Unavailable("injected failure of stat " + name);
  return inner_->Stat(name);
}

StatusOr<std::vector<ObjectInfo>> FaultStorage::List(const std::string& prefix) {
  Status hook;
  FaultMode m = Enter(FaultOp::kList, prefix, hook);
  if (!hook.ok()) return hook;
  if (m == FaultMode::kCrash) return Crashed("list " + prefix);
  if (m == FaultMode::kFail || m == FaultMode::kCutShort) return Unavailable("injected failure of list " + prefix);
  return inner_->List(prefix);
}

Status FaultStorage::Remove(const std::string& name) {
  Status hook;
  FaultMode m = Enter(FaultOp::kRemove, name, hook);
  if (!hook.ok()) return hook;
  if (m == FaultMode::kCrash) return Crashed("remove " + name);
  if (m == FaultMode::kFail || m == FaultMode::kCutShort) return Unavailable("injected failure of remove " + name);
  return inner_->Remove(name);
}

}  // namespace stb
