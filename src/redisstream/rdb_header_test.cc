#include "redisstream/rdb_header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/bytes.h"

namespace stb {
namespace {

// dump.rdb of redis-server 7.0.15 (Debian) after `SET a b`, one `redis-cli --replica` (which makes
// the replication backlog, so SAVE writes repl-id/repl-offset) and SAVE: "REDIS0010", aux fields
// redis-ver "7.0.15", redis-bits 64 (int8), ctime (int32), used-mem (int32), repl-stream-db 0,
// repl-id (40 bytes raw), repl-offset 0 (int8), aof-base 0, then db 0 with one key and the trailer.
// INFO replication said master_replid:591d2b67626d3d07f0a9c6534de839de439d0aac.
const std::vector<uint8_t> kRealRdb = {
    0x52, 0x45, 0x44, 0x49, 0x53, 0x30, 0x30, 0x31, 0x30, 0xfa, 0x09, 0x72, 0x65, 0x64, 0x69, 0x73, 0x2d, 0x76, 0x65,
    0x72, 0x06, 0x37, 0x2e, 0x30, 0x2e, 0x31, 0x35, 0xfa, 0x0a, 0x72, 0x65, 0x64, 0x69, 0x73, 0x2d, 0x62, 0x69, 0x74,
    0x73, 0xc0, 0x40, 0xfa, 0x05, 0x63, 0x74, 0x69, 0x6d, 0x65, 0xc2, 0xd9, 0xa1, 0x0b, 0x6b, 0xfa, 0x08, 0x75, 0x73,
    0x65, 0x64, 0x2d, 0x6d, 0x65, 0x6d, 0xc2, 0xf0, 0x76, 0x0f, 0x00, 0xfa, 0x0e, 0x72, 0x65, 0x70, 0x6c, 0x2d, 0x73,
    0x74, 0x72, 0x65, 0x61, 0x6d, 0x2d, 0x64, 0x62, 0xc0, 0x00, 0xfa, 0x07, 0x72, 0x65, 0x70, 0x6c, 0x2d, 0x69, 0x64,
    0x28, 0x35, 0x39, 0x31, 0x64, 0x32, 0x62, 0x36, 0x37, 0x36, 0x32, 0x36, 0x64, 0x33, 0x64, 0x30, 0x37, 0x66, 0x30,
    0x61, 0x39, 0x63, 0x36, 0x35, 0x33, 0x34, 0x64, 0x65, 0x38, 0x33, 0x39, 0x64, 0x65, 0x34, 0x33, 0x39, 0x64, 0x30,
    0x61, 0x61, 0x63, 0xfa, 0x0b, 0x72, 0x65, 0x70, 0x6c, 0x2d, 0x6f, 0x66, 0x66, 0x73, 0x65, 0x74, 0xc0, 0x00, 0xfa,
    0x08, 0x61, 0x6f, 0x66, 0x2d, 0x62, 0x61, 0x73, 0x65, 0xc0, 0x00, 0xfe, 0x00, 0xfb, 0x01, 0x00, 0x00, 0x01, 0x61,
    0x01, 0x62, 0xff, 0xea, 0x10, 0x74, 0xa7, 0xb3, 0x2f, 0xb3, 0x22,
};

std::vector<uint8_t> Raw(const std::string& s) {
  std::vector<uint8_t> v = {static_cast<uint8_t>(s.size())};  // 6-bit length: s is short
  v.insert(v.end(), s.begin(), s.end());
  return v;
}

std::vector<uint8_t> Cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const std::vector<uint8_t> kMagic = {'R', 'E', 'D', 'I', 'S', '0', '0', '1', '1'};
const std::vector<uint8_t> kAux = {0xFA};

TEST(ReadRdbAux, RealRedisSnapshot) {
  auto aux = ReadRdbAux(kRealRdb);
  ASSERT_TRUE(aux.ok()) << aux.status().message();
  EXPECT_EQ(aux->rdb_version, 10);
  EXPECT_EQ(aux->redis_ver, "7.0.15");
  EXPECT_EQ(aux->repl_id, "591d2b67626d3d07f0a9c6534de839de439d0aac");
  EXPECT_EQ(aux->repl_offset, 0u);
  EXPECT_EQ(aux->ctime, 1795924441);  // c2 d9 a1 0b 6b: int32 0x6b0ba1d9
}

TEST(ReadRdbAux, HeaderOnlyAndNoReplicationFields) {
  // The backup's header blob ends before the first body opcode; a snapshot not made for
  // replication has no repl-id: absent, not invented.
  auto header = Cat({kMagic, kAux, Raw("redis-ver"), Raw("7.2.4")});
  auto aux = ReadRdbAux(header);
  ASSERT_TRUE(aux.ok()) << aux.status().message();
  EXPECT_EQ(aux->rdb_version, 11);
  EXPECT_EQ(aux->redis_ver, "7.2.4");
  EXPECT_FALSE(aux->repl_id.has_value());
  EXPECT_FALSE(aux->repl_offset.has_value());
  EXPECT_FALSE(aux->ctime.has_value());
  aux = ReadRdbAux(kMagic);
  ASSERT_TRUE(aux.ok());
  EXPECT_FALSE(aux->redis_ver.has_value());
}

TEST(ReadRdbAux, EveryEncoding) {
  const std::string id = "0123456789abcdef0123456789abcdef01234567";
  // LZF, as Redis compresses strings over 20 bytes when that saves space: 0xC3, compressed length
  // 20, length 40; a literal run (control 15: 16 bytes), then a back reference of 24 bytes at
  // distance 16 (control 0xE0: length 7+2 plus the next byte 15, distance-1 high bits 0; then
  // distance-1 low byte 15).
  std::vector<uint8_t> lzf_id = {0xC3, 20, 40, 15};
  lzf_id.insert(lzf_id.end(), id.begin(), id.begin() + 16);
  lzf_id.insert(lzf_id.end(), {0xE0, 15, 15});
  auto header = Cat({kMagic,
                     kAux,
                     {0x80, 0, 0, 0, 7},
                     {'r', 'e', 'p', 'l', '-', 'i', 'd'},
                     lzf_id,  // 32-bit length
                     kAux,
                     Raw("repl-offset"),
                     {0xC2, 0x40, 0x42, 0x0F, 0x00},  // int32 1000000
                     kAux,
                     Raw("ctime"),
                     {0xC1, 0x39, 0x30},  // int16 12345
                     kAux,
                     {0x40, 9},
                     {'r', 'e', 'd', 'i', 's', '-', 'v', 'e', 'r'},
                     Raw("7.0.15"),  // 14-bit length
                     kAux,
                     Raw("some-new-field"),
                     {0xC0, 0xFF},    // int8 -1, skipped
                     {0xFE, 0x00}});  // SELECTDB: the body
  auto aux = ReadRdbAux(header);
  ASSERT_TRUE(aux.ok()) << aux.status().message();
  EXPECT_EQ(aux->repl_id, id);
  EXPECT_EQ(aux->repl_offset, 1000000u);
  EXPECT_EQ(aux->ctime, 12345);
  EXPECT_EQ(aux->redis_ver, "7.0.15");

  // A repl-offset of 12 digits or more is a raw string.
  aux = ReadRdbAux(Cat({kMagic, kAux, Raw("repl-offset"), Raw("123456789012")}));
  ASSERT_TRUE(aux.ok());
  EXPECT_EQ(aux->repl_offset, 123456789012u);
  // Negative int8 ctime.
  aux = ReadRdbAux(Cat({kMagic, kAux, Raw("ctime"), {0xC0, 0xFE}}));
  ASSERT_TRUE(aux.ok());
  EXPECT_EQ(aux->ctime, -2);
}

TEST(ReadRdbAux, RefusesDamage) {
  const std::string id(40, 'a');
  for (const auto& bad : std::vector<std::vector<uint8_t>>{
           {},
           {'R', 'E', 'D', 'I', 'S'},
           {'R', 'E', 'D', 'I', 'X', '0', '0', '1', '1'},
           {'R', 'E', 'D', 'I', 'S', '0', '0', '1', 'x'},
           Cat({kMagic, kAux}),                                     // ends before the key
           Cat({kMagic, kAux, Raw("repl-id")}),                     // ends before the value
           Cat({kMagic, kAux, Raw("repl-id"), {40, 'a', 'b'}}),     // ends inside the value
           Cat({kMagic, kAux, {0x80, 0, 0}}),                       // ends inside a 32-bit length
           Cat({kMagic, kAux, {0x82}}),                             // no such length encoding
           Cat({kMagic, kAux, {0xC4}}),                             // no such string encoding
           Cat({kMagic, kAux, {0x81, 0, 0, 0, 0, 0x10, 0, 0, 0}}),  // 256 MiB: too long for an aux field
           Cat({kMagic, kAux, Raw("repl-id"), Raw(id.substr(1))}),  // 39 digits
           Cat({kMagic, kAux, Raw("repl-id"), Raw(id.substr(1) + "g")}),
           Cat({kMagic, kAux, Raw("repl-offset"), {0xC0, 0xFF}}),  // negative
           Cat({kMagic, kAux, Raw("repl-offset"), Raw("99999999999999999999")}),
           Cat({kMagic, kAux, Raw("repl-offset"), Raw("1x")}),
           Cat({kMagic, kAux, Raw("redis-ver"), Raw("")}),
           Cat({kMagic, kAux, Raw("redis-ver"), Raw("7.0\n")}),
           Cat({kMagic, kAux, Raw("repl-id"), {0xC3, 3, 40, 0x01, 'a'}}),        // LZF cut short
           Cat({kMagic, kAux, Raw("repl-id"), {0xC3, 3, 40, 0x20, 0x00, 'a'}}),  // reference before the start
           Cat({kMagic, kAux, Raw("repl-id"), {0xC3, 2, 40, 0x00, 'a'}}),        // shorter than it says
           Cat({kMagic, kAux, Raw("repl-id"), {0xC3, 2, 0, 0x00, 'a'}}),         // longer than it says
       }) {
    auto aux = ReadRdbAux(bad);
    EXPECT_FALSE(aux.ok()) << ToHex(bad.data(), bad.size());
    if (!aux.ok()) {
      EXPECT_EQ(aux.status().code(), Code::kCorrupt) << aux.status().message();
    }
  }
}

TEST(ReadRdbString, SkipsWithoutExpanding) {
  // What the backup's header splitter does: consume a field, LZF data included, without decoding.
  std::vector<uint8_t> bytes = {0xC3, 3, 50, 1, 2, 3, 0x07};  // 3 bytes said to expand to 50
  size_t pos = 0;
  RdbNextByte next = [&]() -> StatusOr<uint8_t> {
    if (pos >= bytes.size()) return Corrupt("end");
    return bytes[pos++];
  };
  ASSERT_TRUE(ReadRdbString(next, nullptr).ok());
  EXPECT_EQ(pos, 6u);
  std::string v;
  EXPECT_EQ(ReadRdbString(next, &v).code(), Code::kCorrupt);  // 0x07: a 7-byte string, then the end
}

}  // namespace
}  // namespace stb
