#include "repository/create_only.h"

namespace stb {

Status PutSealedCreateOnly(Storage& where, const std::string& name, const Bytes& sealed, const Id& content_id,
                           const std::function<StatusOr<Id>()>& existing_id, std::string_view why_hint) {
  if (where.Caps().atomic_create) {
    Status st = where.Put(name, sealed, PutMode::kCreateOnly);
    if (st.ok() || st.code() != Code::kAlreadyExists) return st;
  } else {
    auto size = where.Stat(name);
    if (!size.ok() && size.status().code() == Code::kNotFound) return where.Put(name, sealed, PutMode::kReplace);
    if (!size.ok()) return size.status();
  }
  auto existing = existing_id();
  if (!existing.ok()) {
    // Only a read that found damage is a verdict; a read that failed (network, timeout) is retried.
    if (existing.status().code() != Code::kCorrupt) {
      return Status(existing.status().code(),
                    "checking " + name + " already in " + where.Describe() + ": " + existing.status().message());
    }
    return Corrupt(name + " is already in " + where.Describe() + " but cannot be read (" + existing.status().message() +
                   "); not overwritten");
  }
  if (*existing == content_id) return Status::Ok();
  return AlreadyExists(name + " is already in " + where.Describe() + " with different content; not overwritten (" +
                       std::string(why_hint) + ")");
}

StatusOr<Bytes> GetSealedBounded(Storage& from, const std::string& name, uint64_t max_bytes) {
  ASSIGN_OR_RETURN(Bytes b, from.Get(name, 0, max_bytes + 1));
  if (b.size() > max_bytes) {
    return Corrupt(name + " in " + from.Describe() + " is larger than " + std::to_string(max_bytes) +
                   " bytes, the most its format allows; not read");
  }
  return b;
}

}  // namespace stb
