// The pure parts of the physical base backup: BASE_BACKUP's copy messages, the tar glue over
// libarchive, and the backup manifest check.
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "components/database/backup_manifest.h"
#include "components/database/pg_drill_point.h"
#include "components/database/pg_recovery.h"
#include "components/database/pg_replication.h"
#include "components/database/pg_tar_stream.h"
#include "core/crc32c.h"
#include "crypto/crypto.h"

namespace stb {
namespace {

std::span<const uint8_t> S(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

TEST(BackupCopyMessage, Types) {
  const std::string msg("n16385.tar\0/srv/ts\0", 19);  // the message's views point into it
  auto n = ParseBackupCopyMessage(S(msg));
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->type, 'n');
  EXPECT_EQ(n->archive, "16385.tar");
  EXPECT_EQ(n->tablespace, "/srv/ts");
  auto base = ParseBackupCopyMessage(S(std::string("nbase.tar\0\0", 11)));
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->tablespace, "");
  const std::string data_msg = "dxyz";
  auto d = ParseBackupCopyMessage(S(data_msg));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::string(d->data.begin(), d->data.end()), "xyz");
  EXPECT_TRUE(ParseBackupCopyMessage(S("m")).ok());
  auto p = ParseBackupCopyMessage(S(std::string("p\0\0\0\0\0\1\0\2", 9)));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->progress, 65538u);
}

TEST(BackupCopyMessage, Malformed) {
  EXPECT_FALSE(ParseBackupCopyMessage(S("")).ok());
  EXPECT_FALSE(ParseBackupCopyMessage(S("x123")).ok());
  EXPECT_FALSE(ParseBackupCopyMessage(S("nbase.tar")).ok());                        // no NUL
  EXPECT_FALSE(ParseBackupCopyMessage(S(std::string("nbase.tar\0", 10))).ok());     // one string only
  EXPECT_FALSE(ParseBackupCopyMessage(S(std::string("n\0\0", 3))).ok());            // no name
  EXPECT_FALSE(ParseBackupCopyMessage(S(std::string("nbase.tar\0\0x", 12))).ok());  // trailing
  EXPECT_FALSE(ParseBackupCopyMessage(S("mx")).ok());
  EXPECT_FALSE(ParseBackupCopyMessage(S("p1234567")).ok());
}

struct Member {
  std::string path;
  int type;  // AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO
  std::string content, link;
  std::string hardlink;
  int64_t mtime = 1700000000;
};

std::string MakeTar(const std::vector<Member>& members) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);  // ustar, with a pax header only where ustar cannot say it
  archive_write_set_bytes_in_last_block(a, 1);
  std::vector<char> buf(1 << 20);
  size_t used = 0;
  archive_write_open_memory(a, buf.data(), buf.size(), &used);
  for (const auto& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.path.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_uid(e, 26);
    archive_entry_set_mtime(e, static_cast<time_t>(m.mtime), 0);
    archive_entry_set_size(e, m.type == AE_IFREG && m.hardlink.empty() ? m.content.size() : 0);
    if (!m.link.empty()) archive_entry_set_symlink(e, m.link.c_str());
    if (!m.hardlink.empty()) archive_entry_set_hardlink(e, m.hardlink.c_str());
    archive_write_header(a, e);
    if (!m.content.empty() && m.hardlink.empty()) archive_write_data(a, m.content.data(), m.content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return std::string(buf.data(), used);
}

// Feeds tar in blocks of `block` bytes, then `tail` (what follows the archive in the stream).
struct Feeder {
  std::string tar;
  size_t block, pos = 0;
  int calls_after_end = 0;
  TarBlockSource Source() {
    return [this]() -> StatusOr<std::span<const uint8_t>> {
      if (pos >= tar.size()) {
        ++calls_after_end;
        return std::span<const uint8_t>();
      }
      size_t n = std::min(block, tar.size() - pos);
      auto s = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(tar.data()) + pos, n);
      pos += n;
      return s;
    };
  }
};

StatusOr<std::vector<std::pair<TarMember, std::string>>> ReadAll(const std::string& tar, size_t block) {
  Feeder f{tar, block};
  TarStreamReader r(f.Source());
  std::vector<std::pair<TarMember, std::string>> out;
  for (;;) {
    ASSIGN_OR_RETURN(auto m, r.Next());
    if (!m) break;
    std::string content;
    uint8_t buf[777];
    for (;;) {
      ASSIGN_OR_RETURN(size_t n, r.Read(buf, sizeof buf));
      if (n == 0) break;
      content.append(reinterpret_cast<char*>(buf), n);
    }
    out.emplace_back(*m, content);
  }
  if (f.pos != tar.size()) return Internal("the source was not drained");
  return out;
}

TEST(TarStream, FilesDirsSymlinksInAnyBlockSize) {
  std::string big(70000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::string tar = MakeTar({{"backup_label", AE_IFREG, "START WAL LOCATION: 0/2000028\n"},
                             {"base/", AE_IFDIR},
                             {"base/1/1259", AE_IFREG, big},
                             {"pg_tblspc/16385", AE_IFLNK, "", "/srv/ts"},
                             {"empty", AE_IFREG, ""},
                             {"./pg_wal/000000010000000000000002", AE_IFREG, "wal"}});
  for (size_t block : {1, 511, 512, 4096, 1 << 20}) {
    auto all = ReadAll(tar, block);
    ASSERT_TRUE(all.ok()) << block << ": " << all.status().message();
    ASSERT_EQ(all->size(), 6u);
    EXPECT_EQ((*all)[0].second, "START WAL LOCATION: 0/2000028\n");
    EXPECT_EQ((*all)[1].first.path, "base");  // trailing '/' stripped
    EXPECT_EQ((*all)[1].first.type, TarMember::Type::kDir);
    EXPECT_EQ((*all)[2].second, big);
    EXPECT_EQ((*all)[2].first.size, big.size());
    EXPECT_EQ((*all)[2].first.uid, 26u);
    EXPECT_EQ((*all)[2].first.mode, 0600u);
    EXPECT_EQ((*all)[3].first.type, TarMember::Type::kSymlink);
    EXPECT_EQ((*all)[3].first.link, "/srv/ts");
    EXPECT_EQ((*all)[4].first.size, 0u);
    EXPECT_EQ((*all)[5].first.path, "pg_wal/000000010000000000000002");  // as PostgreSQL appends WAL
  }
}

TEST(TarStream, RefusesUnsafePathsHardLinksAndOtherTypes) {
  auto bad = [](const std::vector<Member>& m, const std::string& want) {
    auto all = ReadAll(MakeTar(m), 512);
    ASSERT_FALSE(all.ok());
    EXPECT_NE(all.status().message().find(want), std::string::npos) << all.status().message();
  };
  bad({{"../etc/passwd", AE_IFREG, "x"}}, "unsafe member path '../etc/passwd'");
  bad({{"/abs", AE_IFREG, "x"}}, "unsafe member path");
  bad({{"a", AE_IFREG, "x"}, {"b", AE_IFREG, "", "", "a"}}, "'b' is a hard link");
  bad({{"fifo", AE_IFIFO}}, "'fifo' has an unsupported type");
}

// A header's mtime in nanoseconds overflowed 64 bits (the fuzz target found it: undefined behaviour).
TEST(TarStream, ModificationTimeOutOfRangeIsAnError) {
  for (int64_t t : {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), int64_t{1} << 40}) {
    auto all = ReadAll(MakeTar({{.path = "f", .type = AE_IFREG, .content = "x", .mtime = t}}), 512);
    ASSERT_FALSE(all.ok()) << t;
    EXPECT_NE(all.status().message().find("'f' has a modification time out of range"), std::string::npos)
        << all.status().message();
  }
  auto ok = ReadAll(MakeTar({{.path = "f", .type = AE_IFREG, .content = "x", .mtime = -1}}), 512);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ((*ok)[0].first.mtime_ns, -1000000000);
}

TEST(TarStream, TruncatedIsAnError) {
  std::string tar = MakeTar({{"f", AE_IFREG, std::string(5000, 'a')}});
  auto all = ReadAll(tar.substr(0, 2000), 512);
  EXPECT_FALSE(all.ok());
}

TEST(TarStream, SourceErrorPassesThrough) {
  TarStreamReader r([]() -> StatusOr<std::span<const uint8_t>> { return Unavailable("connection lost"); });
  auto m = r.Next();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "connection lost");
}

std::string WithChecksum(const std::string& body) {
  Id sum = Sha256(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  return body + "\"Manifest-Checksum\": \"" + sum.Hex() + "\"}\n";
}

std::string Manifest(const std::string& files) {
  return WithChecksum("{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n" + files +
                      "],\n\"WAL-Ranges\": [\n{ \"Timeline\": 1, \"Start-LSN\": \"0/2000028\", \"End-LSN\": "
                      "\"0/2000100\" }\n],\n");
}

TEST(BackupManifest, CrcHexIsHostOrder) {
  uint32_t crc = Crc32c(0, reinterpret_cast<const uint8_t*>("123456789"), 9);
  EXPECT_EQ(ManifestCrcHex(crc), "839206e3");  // x86: little-endian bytes of 0xE3069283
}

TEST(BackupManifest, ChecksEveryFileIncludingEncodedPaths) {
  std::string a = "hello", odd = "x";
  uint32_t ca = Crc32c(0, reinterpret_cast<const uint8_t*>(a.data()), a.size());
  uint32_t co = Crc32c(0, reinterpret_cast<const uint8_t*>(odd.data()), odd.size());
  std::string weird = "base/\xff\x01name";  // not UTF-8: PostgreSQL writes it as Encoded-Path (hex)
  std::string files =
      "{ \"Path\": \"backup_label\", \"Size\": 5, \"Last-Modified\": \"2026-11-28 10:00:00 GMT\", "
      "\"Checksum-Algorithm\": \"CRC32C\", \"Checksum\": \"" +
      ManifestCrcHex(ca) +
      "\" },\n"
      "{ \"Encoded-Path\": \"626173652fff016e616d65\", \"Size\": 1, \"Checksum-Algorithm\": \"CRC32C\", "
      "\"Checksum\": \"" +
      ManifestCrcHex(co) + "\" }\n";
  std::map<std::string, StoredFileSum> got = {{"backup_label", {5, ca}}, {weird, {1, co}}, {"pg_wal/extra", {9, 0}}};
  auto ok = VerifyBackupManifest(Manifest(files), got);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->files, 2u);

  auto wrong_crc = got;
  wrong_crc[weird].crc32c ^= 1;
  auto r = VerifyBackupManifest(Manifest(files), wrong_crc);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("CRC-32C"), std::string::npos);
  auto wrong_size = got;
  wrong_size["backup_label"].size = 6;
  EXPECT_FALSE(VerifyBackupManifest(Manifest(files), wrong_size).ok());
  auto missing = got;
  missing.erase("backup_label");
  r = VerifyBackupManifest(Manifest(files), missing);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("lists backup_label"), std::string::npos);
}

TEST(BackupManifest, ManifestChecksumMustMatch) {
  std::string m = Manifest("");
  ASSERT_TRUE(VerifyBackupManifest(m, {}).ok());
  std::string tampered = m;
  tampered.replace(tampered.find("0/2000100"), 9, "0/2000200");
  auto r = VerifyBackupManifest(tampered, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Manifest-Checksum"), std::string::npos);
  EXPECT_FALSE(VerifyBackupManifest("{\"PostgreSQL-Backup-Manifest-Version\": 1, \"Files\": []}", {}).ok());
  EXPECT_FALSE(VerifyBackupManifest("not json", {}).ok());
}

// The drill's window ends at the newest commit or abort pg_waldump prints (TZ=UTC), whatever
// else a Transaction record's description holds.
TEST(DrillPoint, NewestCommitTimeFromWaldump) {
  std::string out =
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/03000060, prev 0/03000028, desc: COMMIT "
      "2026-11-28 17:50:31.123456 UTC\n"
      "rmgr: Transaction len (rec/tot):     82/    82, tx:        736, lsn: 0/030000A0, prev 0/03000060, desc: COMMIT "
      "2026-11-28 17:50:32.500000 UTC; inval msgs: catcache 55\n"
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        737, lsn: 0/030000F8, prev 0/030000A0, desc: ABORT "
      "2026-11-28 17:50:32.000000 UTC\n"
      "rmgr: Transaction len (rec/tot):     34/    34, tx:        738, lsn: 0/03000120, prev 0/030000F8, desc: COMMIT "
      "2026-11-28 17:50:40.000000 CET\n";
  EXPECT_NEAR(NewestCommitTime(out), 1795888232.5, 1e-6);
  EXPECT_EQ(NewestCommitTime("rmgr: XLOG len (rec/tot): 114/114, desc: CHECKPOINT_ONLINE redo 0/2000028\n"), 0);
}

TEST(PostmasterPid, Parses) {
  auto f = ParsePostmasterPid("4242\n/srv/pg\n1795860300\n5433\n/run/pg sock\n127.0.0.1\n  1234 5\nready\n");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->pid, 4242);
  EXPECT_EQ(f->port, 5433);
  EXPECT_EQ(f->socket_dir, "/run/pg sock");
  EXPECT_TRUE(f->complete);
  auto partial = ParsePostmasterPid("4242\n/srv/pg\n17958");  // still being written
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->pid, 4242);
  EXPECT_FALSE(partial->complete);
}

TEST(PostmasterPid, RejectsWhatIsNotAPid) {
  // atol read these as 0 ("no server") or as a pid it is not.
  for (const char* bad : {"", "\n", "abc\n", "-1\n", "0\n", "12abc\n", " 12\n", "99999999999999999999\n", "4242"}) {
    EXPECT_FALSE(ParsePostmasterPid(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParsePostmasterPid("4242\nd\n1\nport\n/s\n").ok());
}

// The end of the WAL pg_waldump was given is its expected failure; anything else is an error, not
// "no commit after the backup's end".
TEST(Waldump, OnlyTheEndOfWalIsAnExpectedFailure) {
  EXPECT_TRUE(WaldumpOutcome(0, "").ok());
  EXPECT_TRUE(WaldumpOutcome(1,
                             "pg_waldump: error: error in WAL record at 0/3000148: invalid record length at "
                             "0/3000148: wanted 24, got 0\n")
                  .ok());
  auto open = WaldumpOutcome(1, "pg_waldump: error: could not open file \"x\": Permission denied\nmore\n");
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.message(), "pg_waldump exited 1: pg_waldump: error: could not open file \"x\": Permission denied");
  EXPECT_FALSE(WaldumpOutcome(139, "").ok());  // killed
  EXPECT_FALSE(WaldumpOutcome(127, "").ok());  // could not run
}

}  // namespace
}  // namespace stb
