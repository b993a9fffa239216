// The replication stream as a master sends it to a replica: whole RESP multibulk commands found in
// bytes that arrive in arbitrary pieces (no copy of the data, state kept between pieces), with the
// SELECT db and MULTI depth at each command end; and the master's one-line answer to PSYNC.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace stb {

struct RespCommandInfo {
  uint64_t begin = 0;     // stream offset of the command's first byte
  uint64_t end = 0;       // stream offset just past the command
  std::string_view name;  // the command name upper-cased (at most kMaxNameBytes of it), valid during the call
  int64_t argc = 0;
  int64_t db = -1;      // SELECT's argument; -1 for any other command
  bool getack = false;  // REPLCONF GETACK: the master asks for our offset
};

class RespCommandSplitter {
 public:
  // Bounds (a master never exceeds them): arguments of one command, bytes of one argument (Redis'
  // proto-max-bulk-len default); names longer than kMaxNameBytes are cut (no command is that long).
  static constexpr int64_t kMaxArgs = 1 << 20;
  static constexpr int64_t kMaxBulk = int64_t{512} << 20;
  static constexpr size_t kMaxNameBytes = 64;

  // start_offset: the stream offset of the first byte fed; db and multi_depth: the state there
  // (-1: no SELECT seen yet).
  RespCommandSplitter(uint64_t start_offset, int64_t db, int multi_depth);

  // Parses bytes, calling on_command at each command completed by them. Anything that is not a
  // multibulk command (inline commands, other RESP types, bad lengths or terminators, a SELECT
  // without a valid db) is kCorrupt naming the stream offset, and so is every later call.
  Status Feed(std::span<const uint8_t> bytes, const std::function<void(const RespCommandInfo&)>& on_command);

  uint64_t boundary() const { return boundary_; }  // just past the last whole command
  uint64_t offset() const { return offset_; }      // just past the last byte fed
  int64_t db() const { return db_; }
  int multi_depth() const { return static_cast<int>(multi_depth_); }
  bool in_multi() const { return multi_depth_ > 0; }

 private:
  enum class State { kStart, kCount, kBulkStart, kBulkLen, kBulkData, kBulkCr, kBulkLf };
  Status Fail(const std::string& what);
  Status LineByte(uint8_t c, int64_t lo, int64_t hi, const char* what, bool& done, int64_t& value);
  Status Complete(const std::function<void(const RespCommandInfo&)>& on_command);

  State state_ = State::kStart;
  uint64_t offset_;
  uint64_t boundary_;
  uint64_t command_begin_ = 0;
  int64_t db_;
  uint32_t multi_depth_;
  Status error_;
  // The command in progress.
  int64_t argc_ = 0, arg_ = 0, bulk_left_ = 0;
  std::string line_;  // the digits of a *<n> or $<n> line, then its '\r'
  std::string name_;  // argument 0, upper-cased, cut at kMaxNameBytes
  std::string arg1_;  // argument 1 (SELECT's db, REPLCONF's subcommand), cut at kMaxArg1Bytes
  bool arg1_cut_ = false;
  static constexpr size_t kMaxArg1Bytes = 24;
};

// PSYNC's answer, one line without its CRLF.
struct PsyncReply {
  enum class Kind {
    kFullResync,    // +FULLRESYNC <replid> <offset>: an RDB follows
    kContinue,      // +CONTINUE [<new replid>]: the stream goes on where asked
    kNoMasterLink,  // -NOMASTERLINK: a replica without its master (retry)
    kLoading,       // -LOADING: the server is loading its data set (retry)
    kNoPerm,        // -NOPERM: the user may not replicate
    kError,         // any other error reply (e.g. an old server without PSYNC)
  };
  Kind kind = Kind::kError;
  std::string replid;   // FULLRESYNC's id; CONTINUE's new id ("" when the id stays)
  uint64_t offset = 0;  // FULLRESYNC's offset: the stream continues at offset + 1
  std::string error;    // an error reply's text without '-', control bytes as '?', at most 200 bytes
};

// Replication ids are exactly 40 hex digits.
bool IsReplId(std::string_view s);

// Parses the line; anything else (another reply, a malformed id or offset, trailing bytes) is
// kCorrupt quoting at most 40 characters of it.
StatusOr<PsyncReply> ParsePsyncReply(std::string_view line);

}  // namespace stb
