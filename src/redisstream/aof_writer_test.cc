#include "redisstream/aof_writer.h"

#include "redisstream/segment_fixture.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace stb {
namespace {

using testing::Cmd;
using testing::Seg;

TEST(AofIncrEncoder, ByteExactSmallStream) {
  const std::string set_k = Cmd({"SET", "k", "v"});
  const std::string set_k2 = Cmd({"SET", "k2", "v2"});
  const std::string ping = Cmd({"PING"});
  const std::string ack = Cmd({"REPLCONF", "GETACK", "*"});
  // The second SET is cut in two across the segments.
  const std::string first = ping + set_k + ack + set_k2.substr(0, 7);
  RedisStreamObject a = Seg(1000, 3, 0, {{ping + set_k, 1000500}, {ack + set_k2.substr(0, 7), 1000900}});
  RedisStreamObject b = Seg(a.end, 3, 0, {{set_k2.substr(7), 1001700}, {Cmd({"DEL", "k"}), 1002000}});
  AofIncrEncoder enc(1000, b.end - Cmd({"DEL", "k"}).size());
  std::string out;
  ASSERT_TRUE(enc.Add(a, out).ok());
  ASSERT_TRUE(enc.Add(b, out).ok());
  EXPECT_EQ(out, "*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n#TS:1000\r\n" + set_k + "#TS:1001\r\n" + set_k2);
  EXPECT_EQ(enc.commands(), 2u);
}

TEST(AofIncrEncoder, StartsAtTheBaseAndKeepsTheStreamsOwnSelect) {
  const std::string sel = Cmd({"SELECT", "5"});
  const std::string set_k = Cmd({"SET", "k", "v"});
  RedisStreamObject a = Seg(0, -1, 0, {{set_k + sel + set_k, 2000}});
  AofIncrEncoder from_select(set_k.size(), a.end);
  std::string out;
  ASSERT_TRUE(from_select.Add(a, out).ok());
  EXPECT_EQ(out, "#TS:2\r\n" + sel + set_k);
  // A base after the SELECT: the db is restated.
  AofIncrEncoder after(set_k.size() + sel.size(), a.end);
  out.clear();
  ASSERT_TRUE(after.Add(a, out).ok());
  EXPECT_EQ(out, sel + "#TS:2\r\n" + set_k);
  // No SELECT seen at all: db 0, nothing added.
  AofIncrEncoder none(0, set_k.size());
  out.clear();
  ASSERT_TRUE(none.Add(a, out).ok());
  EXPECT_EQ(out, "#TS:2\r\n" + set_k);
}

TEST(AofIncrEncoder, RefusesAHoleAndBadBytes) {
  const std::string set_k = Cmd({"SET", "k", "v"});
  AofIncrEncoder enc(0, 1000);
  std::string out;
  ASSERT_TRUE(enc.Add(Seg(0, 0, 0, {{set_k, 1000}}), out).ok());
  EXPECT_FALSE(enc.Add(Seg(set_k.size() + 1, 0, 0, {{set_k, 1000}}), out).ok());
  AofIncrEncoder bad(0, 1000);
  EXPECT_FALSE(bad.Add(Seg(0, 0, 0, {{"PING\r\n", 1000}}), out).ok());
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(AofDirWriter, WritesTheThreeFilesAndMovesTheOldDirectoryAside) {
  char tmpl[] = "/tmp/aof_writer_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path root(tmpl);
  std::filesystem::create_directory(root / "appendonlydir");
  std::ofstream(root / "appendonlydir" / "old") << "old";
  Fd dir(::open(tmpl, O_RDONLY | O_DIRECTORY));
  auto w = AofDirWriter::Create(dir.get(), {});
  ASSERT_TRUE(w.ok()) << w.status().message();
  const std::string base = "REDIS0011xyz";
  ASSERT_TRUE((*w)->AppendBase(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(base.data()), 5)).ok());
  ASSERT_TRUE(
      (*w)->AppendBase(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(base.data()) + 5, base.size() - 5))
          .ok());
  ASSERT_TRUE((*w)->AppendIncr("#TS:1\r\n").ok());
  auto replaced = (*w)->Commit();
  ASSERT_TRUE(replaced.ok()) << replaced.status().message();
  EXPECT_EQ(replaced->rfind("appendonlydir.stb-replaced-", 0), 0u);
  EXPECT_EQ(ReadAll(root / *replaced / "old"), "old");
  EXPECT_EQ(ReadAll(root / "appendonlydir" / "appendonly.aof.1.base.rdb"), base);
  EXPECT_EQ(ReadAll(root / "appendonlydir" / "appendonly.aof.1.incr.aof"), "#TS:1\r\n");
  EXPECT_EQ(ReadAll(root / "appendonlydir" / "appendonly.aof.manifest"),
            "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
  // No old directory: nothing is moved; configured names are used.
  auto w2 = AofDirWriter::Create(dir.get(), {"aofs", "x.aof"});
  ASSERT_TRUE(w2.ok());
  auto r2 = (*w2)->Commit();
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, "");
  EXPECT_TRUE(std::filesystem::exists(root / "aofs" / "x.aof.manifest"));
  EXPECT_FALSE(AofDirWriter::Create(dir.get(), {"../evil", "x"}).ok());
  EXPECT_FALSE(AofDirWriter::Create(dir.get(), {"a", "b/c"}).ok());
  std::filesystem::remove_all(root);
}

// Killed at a random point of a restore over an existing directory: appendonlydir is always
// whole, the old one or the new one, and the old one is never lost.
TEST(AofDirWriter, KilledAtARandomPointLeavesTheOldOrTheNewDirectory) {
  char tmpl[] = "/tmp/aof_writer_kill.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::filesystem::path root(tmpl);
  std::filesystem::create_directory(root / "appendonlydir");
  std::ofstream(root / "appendonlydir" / "old") << "old";
  const std::string base(4 << 20, 'b');
  std::mt19937 rng(std::random_device{}());
  int saw_old = 0, saw_new = 0;
  for (int round = 0; round < 40; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Fd dir(::open(tmpl, O_RDONLY | O_DIRECTORY));
      auto w = AofDirWriter::Create(dir.get(), {});
      if (!w.ok()) _exit(2);
      for (size_t off = 0; off < base.size(); off += 65536) {
        if (!(*w)->AppendBase(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(base.data()) + off, 65536))
                 .ok())
          _exit(2);
      }
      if (!(*w)->AppendIncr("#TS:1\r\n").ok()) _exit(2);
      _exit((*w)->Commit().ok() ? 0 : 2);
    }
    ::usleep(std::uniform_int_distribution<int>(0, 30000)(rng));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_FALSE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << "writer failed in round " << round;
    const auto live = root / "appendonlydir";
    ASSERT_TRUE(std::filesystem::is_directory(live)) << "no appendonlydir after a kill in round " << round;
    if (std::filesystem::exists(live / "old")) {
      ++saw_old;
      EXPECT_FALSE(std::filesystem::exists(live / "appendonly.aof.manifest"));
    } else {
      ++saw_new;
      EXPECT_EQ(ReadAll(live / "appendonly.aof.manifest"),
                "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
      EXPECT_EQ(std::filesystem::file_size(live / "appendonly.aof.1.base.rdb"), base.size());
      EXPECT_EQ(ReadAll(live / "appendonly.aof.1.incr.aof"), "#TS:1\r\n");
      // Put the old one back for the next round.
      bool found = false;
      for (const auto& e : std::filesystem::directory_iterator(root)) {
        if (e.path().filename() != "appendonlydir" && std::filesystem::exists(e.path() / "old")) {
          std::filesystem::remove_all(live);
          std::filesystem::rename(e.path(), live);
          found = true;
          break;
        }
      }
      ASSERT_TRUE(found) << "the old appendonlydir was lost in round " << round;
    }
    // Temporary directories of killed writers are left (never deleted by the writer): clear them.
    for (const auto& e : std::filesystem::directory_iterator(root)) {
      if (e.path().filename() != "appendonlydir") std::filesystem::remove_all(e.path());
    }
  }
  EXPECT_GT(saw_old + saw_new, 0);
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace stb
