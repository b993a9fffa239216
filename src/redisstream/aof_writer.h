// Redis 7's multi-part AOF written from a base RDB and the replicated commands up to a cut (design
// §2): the incr file's bytes (pure) and the directory laid down beside the live one, then swapped in.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/file_util.h"
#include "core/status.h"
#include "redisstream/resp_stream.h"
#include "repository/redis_stream_store.h"

namespace stb {

// The incr file from stream segments fed in order: the commands in [base, cut), PING and REPLCONF
// dropped, SELECT of the db at base first unless the first command is one, "#TS:<unix s>" before a
// command whose arrival second differs from the last annotated (as Redis' aof-timestamp-enabled).
class AofIncrEncoder {
 public:
  AofIncrEncoder(uint64_t base_offset, uint64_t cut) : base_(base_offset), cut_(cut) {}
  // Appends to out; the segments must follow each other without a hole.
  Status Add(const RedisStreamObject& seg, std::string& out);
  uint64_t commands() const { return commands_; }
  uint64_t position() const { return split_ ? split_->boundary() : 0; }

 private:
  uint64_t base_, cut_;
  std::unique_ptr<RespCommandSplitter> split_;
  std::string carry_;  // stream bytes from carry_start_ to the splitter's offset
  uint64_t carry_start_ = 0;
  bool started_ = false;  // a command has been written
  int64_t last_ts_ = -1;
  uint64_t commands_ = 0;
};

struct AofNames {
  std::string dirname = "appendonlydir";
  std::string filename = "appendonly.aof";
};

// <dirname>.stb-<rand>/ under an open directory: base, incr and manifest created O_EXCL|O_NOFOLLOW
// through the new directory's descriptor; Commit fsyncs them and swaps the directory into place.
class AofDirWriter {
 public:
  // Names must be single path components.
  static StatusOr<std::unique_ptr<AofDirWriter>> Create(int parent_fd, AofNames names);
  Status AppendBase(std::span<const uint8_t> bytes);
  Status AppendIncr(std::string_view bytes);
  // Writes the manifest and fsyncs the three files and the directory (redis-check-aof may then
  // read temp_name() before the swap). Commit calls it when not yet done.
  Status Seal();
  // Swaps the directory into place atomically (see aof_writer.cc) and fsyncs the parent. Returns
  // the name an existing <dirname> now has ("" when there was none); it is never deleted.
  StatusOr<std::string> Commit();
  // Before Commit: removes the temporary directory and the three files it may hold.
  void Abandon();
  const std::string& temp_name() const { return temp_; }

 private:
  AofDirWriter() = default;
  int parent_ = -1;
  AofNames names_;
  std::string temp_, tag_;
  Fd dir_, base_, incr_;
  bool sealed_ = false, committed_ = false;
};

}  // namespace stb
