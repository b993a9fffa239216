// Create-only writing of sealed objects whose name fixes what they hold (WAL and Redis stream
// objects): a retry with the same content succeeds, other content is never overwritten.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"
#include "storage/storage.h"

namespace stb {

// Writes `sealed` as `name` unless it exists. If it does, existing_id opens it: the same content
// id is success; another is AlreadyExists("<name> is already in <where> with different content;
// not overwritten (<why_hint>)"); unreadable is Corrupt. Without atomic create, Stat then Put.
Status PutSealedCreateOnly(Storage& where, const std::string& name, const Bytes& sealed, const Id& content_id,
                           const std::function<StatusOr<Id>()>& existing_id, std::string_view why_hint);

}  // namespace stb
