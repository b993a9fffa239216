// Create-only writing and size-bounded reading of sealed objects whose name fixes what they hold
// (WAL and Redis stream objects): a retry with the same content succeeds, nothing is overwritten.
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
// not overwritten (<why_hint>)"); damaged (existing_id says Corrupt) is Corrupt; any other failure
// to read it (network, timeout) keeps its own code, so callers retry it. Without atomic create,
// Stat then Put.
Status PutSealedCreateOnly(Storage& where, const std::string& name, const Bytes& sealed, const Id& content_id,
                           const std::function<StatusOr<Id>()>& existing_id, std::string_view why_hint);

// Reads `name` whole, but never more than max_bytes of it: one byte more is asked for (a ranged
// read) and an object that has it is Corrupt naming its size limit, so a damaged or hostile
// location cannot make a reader allocate more than its format allows.
StatusOr<Bytes> GetSealedBounded(Storage& from, const std::string& name, uint64_t max_bytes);

}  // namespace stb
