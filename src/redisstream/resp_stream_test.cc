#include "redisstream/resp_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stb {
namespace {

std::string Cmd(std::vector<std::string> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

struct Seen {
  uint64_t begin, end;
  std::string name;
  int64_t db;
  bool getack;
  bool in_multi;  // the splitter's state just after the command
  bool operator==(const Seen&) const = default;
};

std::span<const uint8_t> Span(const std::string& s, size_t from, size_t to) {
  return {reinterpret_cast<const uint8_t*>(s.data()) + from, to - from};
}

// Feeds `s` cut at the given positions; every piece must parse.
std::vector<Seen> Split(const std::string& s, const std::vector<size_t>& cuts, uint64_t start = 100) {
  RespCommandSplitter sp(start, -1, 0);
  std::vector<Seen> seen;
  auto cb = [&](const RespCommandInfo& c) {
    seen.push_back({c.begin, c.end, std::string(c.name), c.db, c.getack, sp.in_multi()});
  };
  size_t from = 0;
  for (size_t cut : cuts) {
    EXPECT_TRUE(sp.Feed(Span(s, from, cut), cb).ok());
    from = cut;
  }
  EXPECT_TRUE(sp.Feed(Span(s, from, s.size()), cb).ok());
  EXPECT_EQ(sp.offset(), start + s.size());
  return seen;
}

// A stream as a master sends it: SELECT, writes, PING, MULTI/EXEC (with a nested MULTI as a
// failing client would queue it), GETACK, binary values holding CRLF and '*', an empty argument.
std::string Stream() {
  return Cmd({"SELECT", "3"}) + Cmd({"set", "k", "v\r\n*1\r\n$4"}) + Cmd({"PING"}) + Cmd({"multi"}) + Cmd({"MULTI"}) +
         Cmd({"incr", "n"}) + Cmd({"EXEC"}) + Cmd({"SET", "e", ""}) + Cmd({"exec"}) + Cmd({"REPLCONF", "getack", "*"}) +
         Cmd({"select", "12"}) + Cmd({"DISCARD"}) + Cmd({"DEL", "x"});
}

TEST(RespCommandSplitter, FindsEveryCommandWithItsState) {
  const std::string s = Stream();
  std::vector<Seen> seen = Split(s, {});
  std::vector<std::string> names;
  for (const auto& c : seen) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"SELECT", "SET", "PING", "MULTI", "MULTI", "INCR", "EXEC", "SET", "EXEC",
                                             "REPLCONF", "SELECT", "DISCARD", "DEL"}));
  EXPECT_EQ(seen[0].begin, 100u);
  EXPECT_EQ(seen[0].db, 3);
  EXPECT_EQ(seen[1].db, -1);
  EXPECT_EQ(seen[10].db, 12);
  EXPECT_TRUE(seen[9].getack);
  EXPECT_FALSE(seen[2].getack);
  // depth: MULTI 1, MULTI 2, EXEC 1 (still inside), EXEC 0; DISCARD with none open stays 0
  EXPECT_TRUE(seen[3].in_multi);
  EXPECT_TRUE(seen[6].in_multi);
  EXPECT_TRUE(seen[7].in_multi);
  EXPECT_FALSE(seen[8].in_multi);
  EXPECT_FALSE(seen[11].in_multi);
  for (size_t i = 1; i < seen.size(); ++i) EXPECT_EQ(seen[i].begin, seen[i - 1].end);
  EXPECT_EQ(seen.back().end, 100 + s.size());
}

TEST(RespCommandSplitter, SameResultAtEverySplitPosition) {
  const std::string s = Stream();
  const std::vector<Seen> whole = Split(s, {});
  for (size_t i = 0; i <= s.size(); ++i) {
    ASSERT_EQ(Split(s, {i}), whole) << "cut at " << i;
  }
  for (size_t i = 0; i <= s.size(); i += 3) {
    for (size_t j = i; j <= s.size(); j += 5) ASSERT_EQ(Split(s, {i, j}), whole) << "cuts at " << i << ", " << j;
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < s.size(); ++i) every.push_back(i);
  EXPECT_EQ(Split(s, every), whole);
}

TEST(RespCommandSplitter, BoundaryStopsAtTheLastWholeCommand) {
  const std::string a = Cmd({"MULTI"}), b = Cmd({"SET", "k", "v"}), c = Cmd({"EXEC"});
  const std::string s = a + b + c;
  RespCommandSplitter sp(7, 0, 0);
  auto none = [](const RespCommandInfo&) {};
  ASSERT_TRUE(sp.Feed(Span(s, 0, a.size() + 3), none).ok());
  EXPECT_EQ(sp.boundary(), 7 + a.size());
  EXPECT_TRUE(sp.in_multi());
  ASSERT_TRUE(sp.Feed(Span(s, a.size() + 3, s.size() - 1), none).ok());
  EXPECT_EQ(sp.boundary(), 7 + a.size() + b.size());
  ASSERT_TRUE(sp.Feed(Span(s, s.size() - 1, s.size()), none).ok());
  EXPECT_EQ(sp.boundary(), 7 + s.size());
  EXPECT_FALSE(sp.in_multi());
  EXPECT_EQ(sp.db(), 0);
}

TEST(RespCommandSplitter, StartsFromAGivenState) {
  RespCommandSplitter sp(0, 5, 1);  // a segment that begins inside MULTI on db 5
  EXPECT_TRUE(sp.in_multi());
  const std::string s = Cmd({"EXEC"});
  ASSERT_TRUE(sp.Feed(Span(s, 0, s.size()), [](const RespCommandInfo&) {}).ok());
  EXPECT_FALSE(sp.in_multi());
  EXPECT_EQ(sp.db(), 5);
}

TEST(RespCommandSplitter, RefusesEveryMalformedForm) {
  const std::string bulk_too_long = "*1\r\n$" + std::to_string(RespCommandSplitter::kMaxBulk + 1) + "\r\n";
  const std::string args_too_many = "*" + std::to_string(RespCommandSplitter::kMaxArgs + 1) + "\r\n";
  for (const std::string& bad : {
           std::string("PING\r\n"),                    // inline command
           std::string("\r\n"),                        // a bare newline
           std::string("+OK\r\n"),                     // another RESP type
           std::string("*0\r\n"),                      // no arguments
           std::string("*-1\r\n"),                     // null array
           std::string("*\r\n"),                       // no count
           std::string("*1x\r\n"),                     // not a number
           std::string("*+1\r\n"),                     // sign
           std::string("*1\n"),                        // LF without CR
           std::string("*1\rX"),                       // CR without LF
           std::string("*123456789012345678901\r\n"),  // line too long
           std::string("*99999999999999999999\r\n"),   // overflow
           args_too_many,
           std::string("*1\r\n:1\r\n"),   // integer, not bulk
           std::string("*1\r\n$-1\r\n"),  // null bulk
           bulk_too_long,
           std::string("*1\r\n$2\r\nabc\r\n"),             // longer than its length
           std::string("*1\r\n$3\r\nabc\n\n"),             // no CR after the data
           std::string("*1\r\n$3\r\nabc\rX"),              // no LF after the CR
           Cmd({"SELECT"}),                                // no db
           Cmd({"SELECT", "x"}),                           // db not a number
           Cmd({"SELECT", "-1"}),                          // negative db
           Cmd({"SELECT", "1", "2"}),                      // two dbs
           Cmd({"SELECT", "99999999999999999999999999"}),  // cut, far too large
       }) {
    RespCommandSplitter sp(0, -1, 0);
    int commands = 0;
    Status st = sp.Feed(Span(bad, 0, bad.size()), [&](const RespCommandInfo&) { ++commands; });
    EXPECT_EQ(st.code(), Code::kCorrupt) << bad;
    EXPECT_EQ(commands, 0) << bad;
    EXPECT_EQ(sp.boundary(), 0u) << bad;
    // The error stays: a later piece of a broken stream is not parsed from a wrong position.
    const std::string ok = Cmd({"PING"});
    EXPECT_EQ(sp.Feed(Span(ok, 0, ok.size()), [&](const RespCommandInfo&) { ++commands; }).code(), Code::kCorrupt);
    EXPECT_EQ(commands, 0);
  }
}

TEST(RespCommandSplitter, ErrorNamesTheOffset) {
  const std::string s = Cmd({"PING"}) + "PING\r\n";
  RespCommandSplitter sp(1000, -1, 0);
  Status st = sp.Feed(Span(s, 0, s.size()), [](const RespCommandInfo&) {});
  EXPECT_NE(st.message().find("offset 1014"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("inline"), std::string::npos) << st.message();
  EXPECT_EQ(sp.boundary(), 1014u);
}

TEST(RespCommandSplitter, LongNamesAreCutAndLargeValuesNotCopied) {
  const std::string name(200, 'x'), value(1 << 20, 'v');
  const std::string s = Cmd({name, value}) + Cmd({"REPLCONF", std::string(100, 'G')});
  std::vector<std::string> names;
  std::vector<bool> acks;
  RespCommandSplitter sp(0, -1, 0);
  ASSERT_TRUE(sp.Feed(Span(s, 0, s.size()), [&](const RespCommandInfo& c) {
                  names.emplace_back(c.name);
                  acks.push_back(c.getack);
                }).ok());
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], std::string(RespCommandSplitter::kMaxNameBytes, 'X'));
  EXPECT_FALSE(acks[1]);
}

TEST(ParsePsyncReply, FullResync) {
  const std::string id = "8de1787ba490483314a4d30f1c628bc5025eb761";
  auto r = ParsePsyncReply("+FULLRESYNC " + id + " 12345");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->kind, PsyncReply::Kind::kFullResync);
  EXPECT_EQ(r->replid, id);
  EXPECT_EQ(r->offset, 12345u);
  r = ParsePsyncReply("+FULLRESYNC " + id + " 0");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->offset, 0u);
}

TEST(ParsePsyncReply, Continue) {
  auto r = ParsePsyncReply("+CONTINUE");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, PsyncReply::Kind::kContinue);
  EXPECT_EQ(r->replid, "");
  const std::string id = "0123456789ABCDEFabcdef0123456789abcdef01";
  r = ParsePsyncReply("+CONTINUE " + id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind, PsyncReply::Kind::kContinue);
  EXPECT_EQ(r->replid, id);
}

TEST(ParsePsyncReply, ErrorsAreTyped) {
  struct Case {
    std::string line;
    PsyncReply::Kind kind;
  };
  for (const Case& c : std::vector<Case>{
           {"-NOMASTERLINK Can't SYNC while not connected with my master", PsyncReply::Kind::kNoMasterLink},
           {"-LOADING Redis is loading the dataset in memory", PsyncReply::Kind::kLoading},
           {"-NOPERM this user has no permissions to run the 'psync' command", PsyncReply::Kind::kNoPerm},
           {"-NOPERM", PsyncReply::Kind::kNoPerm},
           {"-ERR unknown command 'PSYNC'", PsyncReply::Kind::kError},
           {"-NOPERMX something", PsyncReply::Kind::kError},
       }) {
    auto r = ParsePsyncReply(c.line);
    ASSERT_TRUE(r.ok()) << c.line;
    EXPECT_EQ(r->kind, c.kind) << c.line;
    EXPECT_EQ(r->error, c.line.substr(1));
  }
  auto r = ParsePsyncReply("-ERR bad\x01 byte");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error, "ERR bad? byte");
  r = ParsePsyncReply("-" + std::string(1000, 'E'));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error.size(), 200u);
}

TEST(ParsePsyncReply, RefusesMalformedLines) {
  const std::string id = "8de1787ba490483314a4d30f1c628bc5025eb761";
  for (const std::string& bad : {
           std::string(""),
           std::string("-"),
           std::string("+OK"),
           std::string("$123"),
           std::string("+FULLRESYNC"),
           std::string("+FULLRESYNC "),
           "+FULLRESYNC " + id,
           "+FULLRESYNC " + id + " ",
           "+FULLRESYNC " + id + " -1",
           "+FULLRESYNC " + id + " 12x",
           "+FULLRESYNC " + id + " 1 2",
           "+FULLRESYNC " + id + "  1",
           "+FULLRESYNC " + id + " 99999999999999999999",
           "+FULLRESYNC " + id + " 9223372036854775808",
           "+FULLRESYNC " + id.substr(1) + " 1",
           "+FULLRESYNC " + id + "0 1",
           "+FULLRESYNC " + id.substr(0, 39) + "g 1",
           "+FULLRESYNC " + id + " 1\r\n",
           "+fullresync " + id + " 1",
           std::string("+CONTINUE "),
           "+CONTINUE " + id.substr(1),
           "+CONTINUE " + id + " ",
           "+CONTINUE  " + id,
           std::string("+CONTINUEX"),
       }) {
    auto r = ParsePsyncReply(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kCorrupt) << bad;
    }
  }
}

}  // namespace
}  // namespace stb
