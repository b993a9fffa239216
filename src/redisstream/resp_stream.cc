#include "redisstream/resp_stream.h"

#include <cctype>
#include <limits>

#include "core/parse.h"

namespace stb {

namespace {

char Upper(uint8_t c) { return static_cast<char>(std::toupper(c)); }

std::string UpperCopy(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(Upper(static_cast<uint8_t>(c)));
  return out;
}

}  // namespace

RespCommandSplitter::RespCommandSplitter(uint64_t start_offset, int64_t db, int multi_depth)
    : offset_(start_offset),
      boundary_(start_offset),
      db_(db < 0 ? -1 : db),
      multi_depth_(multi_depth > 0 ? static_cast<uint32_t>(multi_depth) : 0) {}

Status RespCommandSplitter::Fail(const std::string& what) {
  error_ = Corrupt("replication stream at offset " + std::to_string(offset_) + ": " + what);
  return error_;
}

// One byte of a "<digits>\r\n" line; done with its value once the '\n' arrives.
Status RespCommandSplitter::LineByte(uint8_t c, int64_t lo, int64_t hi, const char* what, bool& done, int64_t& value) {
  if (!line_.empty() && line_.back() == '\r') {
    if (c != '\n') return Fail(std::string(what) + " line does not end with CRLF");
    line_.pop_back();
    auto v = ParseInt(line_, lo, hi, what);
    if (!v.ok()) return Fail(v.status().message());
    value = *v;
    done = true;
    return Status::Ok();
  }
  if (c != '\r' && !std::isdigit(c) && c != '-') return Fail(std::string(what) + " is not a number");
  if (c != '\r' && line_.size() >= 20) return Fail(std::string(what) + " line is too long");
  line_.push_back(static_cast<char>(c));
  return Status::Ok();
}

Status RespCommandSplitter::Complete(const std::function<void(const RespCommandInfo&)>& on_command) {
  RespCommandInfo info;
  info.begin = command_begin_;
  info.end = offset_;
  info.name = name_;
  info.argc = argc_;
  if (name_ == "SELECT") {
    if (argc_ != 2 || arg1_cut_) return Fail("SELECT without one db index");
    auto v = ParseInt(arg1_, 0, std::numeric_limits<int32_t>::max(), "SELECT db index");
    if (!v.ok()) return Fail(v.status().message());
    db_ = *v;
    info.db = *v;
  } else if (name_ == "MULTI") {
    if (multi_depth_ < std::numeric_limits<uint32_t>::max()) ++multi_depth_;
  } else if (name_ == "EXEC" || name_ == "DISCARD") {
    if (multi_depth_ > 0) --multi_depth_;
  } else if (name_ == "REPLCONF") {
    info.getack = argc_ >= 2 && !arg1_cut_ && UpperCopy(arg1_) == "GETACK";
  }
  boundary_ = offset_;
  state_ = State::kStart;
  on_command(info);
  return Status::Ok();
}

Status RespCommandSplitter::Feed(std::span<const uint8_t> bytes,
                                 const std::function<void(const RespCommandInfo&)>& on_command) {
  if (!error_.ok()) return error_;
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const uint8_t c = bytes[i];
    bool done = false;
    int64_t value = 0;
    switch (state_) {
      case State::kStart:
        // A master sends only multibulk commands; an inline one ("PING\r\n") means this is no master.
        if (c != '*') return Fail(std::isalpha(c) ? "an inline command (not from a master)" : "not a RESP command");
        command_begin_ = offset_;
        line_.clear();
        state_ = State::kCount;
        break;
      case State::kCount:
        RETURN_IF_ERROR(LineByte(c, 1, kMaxArgs, "argument count", done, value));
        if (done) {
          argc_ = value;
          arg_ = 0;
          name_.clear();
          arg1_.clear();
          arg1_cut_ = false;
          state_ = State::kBulkStart;
        }
        break;
      case State::kBulkStart:
        if (c != '$') return Fail("an argument is not a bulk string");
        line_.clear();
        state_ = State::kBulkLen;
        break;
      case State::kBulkLen:
        RETURN_IF_ERROR(LineByte(c, 0, kMaxBulk, "argument length", done, value));
        if (done) {
          bulk_left_ = value;
          state_ = State::kBulkData;
        }
        break;
      case State::kBulkData: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(n - i, static_cast<uint64_t>(bulk_left_)));
        if (arg_ == 0) {
          for (size_t k = 0; k < take && name_.size() < kMaxNameBytes; ++k) name_.push_back(Upper(bytes[i + k]));
        } else if (arg_ == 1) {
          size_t room = kMaxArg1Bytes - arg1_.size();
          arg1_.append(reinterpret_cast<const char*>(bytes.data() + i), std::min(room, take));
          if (take > room) arg1_cut_ = true;
        }
        i += take;
        offset_ += take;
        bulk_left_ -= static_cast<int64_t>(take);
        if (bulk_left_ == 0) state_ = State::kBulkCr;
        continue;  // offset and position already advanced
      }
      case State::kBulkCr:
        if (c != '\r') return Fail("an argument is longer than its length");
        state_ = State::kBulkLf;
        break;
      case State::kBulkLf:
        if (c != '\n') return Fail("an argument does not end with CRLF");
        ++i;
        ++offset_;
        if (++arg_ == argc_) {
          RETURN_IF_ERROR(Complete(on_command));
        } else {
          state_ = State::kBulkStart;
        }
        continue;
    }
    ++i;
    ++offset_;
  }
  return Status::Ok();
}

bool IsReplId(std::string_view s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

StatusOr<PsyncReply> ParsePsyncReply(std::string_view line) {
  auto bad = [&] { return Corrupt("unexpected answer to PSYNC: " + QuoteForError(line)); };
  constexpr std::string_view kFull = "+FULLRESYNC ", kContinue = "+CONTINUE";
  PsyncReply r;
  if (line.starts_with(kFull)) {
    std::string_view rest = line.substr(kFull.size());
    if (rest.size() < 42 || !IsReplId(rest.substr(0, 40)) || rest[40] != ' ') return bad();
    auto offset = ParseUint(rest.substr(41), std::numeric_limits<int64_t>::max(), "PSYNC offset");
    if (!offset.ok()) return bad();
    r.kind = PsyncReply::Kind::kFullResync;
    r.replid = rest.substr(0, 40);
    r.offset = *offset;
    return r;
  }
  if (line.starts_with(kContinue)) {
    std::string_view rest = line.substr(kContinue.size());
    if (!rest.empty() && (rest[0] != ' ' || !IsReplId(rest.substr(1)))) return bad();
    r.kind = PsyncReply::Kind::kContinue;
    if (!rest.empty()) r.replid = rest.substr(1);
    return r;
  }
  if (line.size() < 2 || line[0] != '-') return bad();
  for (char c : line.substr(1, 200)) r.error.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
  std::string_view code =
      line.substr(1, line.find(' ') == std::string_view::npos ? std::string_view::npos : line.find(' ') - 1);
  r.kind = code == "NOMASTERLINK" ? PsyncReply::Kind::kNoMasterLink
           : code == "LOADING"    ? PsyncReply::Kind::kLoading
           : code == "NOPERM"     ? PsyncReply::Kind::kNoPerm
                                  : PsyncReply::Kind::kError;
  return r;
}

}  // namespace stb
