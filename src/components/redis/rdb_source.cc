#include "components/redis/rdb_source.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/parse.h"

namespace stb {

Status RdbSource::Start() {
  // Redis sends bare "\n" keep-alives while it prepares the snapshot.
  std::string line;
  do {
    ASSIGN_OR_RETURN(line, conn_.ReadLine());
    while (!line.empty() && line[0] == '\n') line.erase(0, 1);
  } while (line.empty());
  if (line.rfind("$EOF:", 0) == 0) {
    mark_ = line.substr(5);
    if (mark_.size() != kEofMarkLen) return Corrupt("bad diskless EOF mark from Redis");
    return Status::Ok();
  }
  if (line[0] != '$') return InvalidArgument("unexpected reply to the sync request: " + line.substr(0, 40));
  auto n = ParseUint(std::string_view(line).substr(1), std::numeric_limits<int64_t>::max(), "snapshot length");
  if (!n.ok()) return Corrupt("bad snapshot length from Redis: " + n.status().message());
  remaining_ = *n;
  return Status::Ok();
}

StatusOr<size_t> RdbSource::Read(uint8_t* out, size_t n) {
  if (done_) return size_t{0};
  if (mark_.empty()) {
    if (remaining_ == 0) {
      done_ = true;
      return size_t{0};
    }
    ASSIGN_OR_RETURN(size_t k, conn_.ReadSome(out, std::min<uint64_t>(n, remaining_)));
    remaining_ -= k;
    return k;
  }
  // Diskless: the mark may begin in the last 39 bytes seen, so those wait for more data.
  for (;;) {
    auto it = std::search(pending_.begin(), pending_.end(), mark_.begin(), mark_.end());
    size_t safe = it != pending_.end()             ? static_cast<size_t>(it - pending_.begin())
                  : pending_.size() >= kEofMarkLen ? pending_.size() - (kEofMarkLen - 1)
                                                   : 0;
    if (safe > 0) {
      size_t k = std::min(n, safe);
      std::memcpy(out, pending_.data(), k);
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(k));
      return k;
    }
    if (it != pending_.end()) {  // the mark is next: the snapshot is complete
      done_ = true;
      return size_t{0};
    }
    uint8_t tmp[64 << 10];
    ASSIGN_OR_RETURN(size_t got, conn_.ReadSome(tmp, sizeof tmp));
    pending_.insert(pending_.end(), tmp, tmp + got);
  }
}

}  // namespace stb
