#include "wal/spool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/file_util.h"
#include "repo_fixture.h"

namespace stb {
namespace {

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stb-spool-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    pg_wal_ = root_ + "/pg_wal";
    spool_.dir = root_ + "/spool";
    ASSERT_TRUE(MakeDirs(pg_wal_ + "/archive_status").ok());
    ASSERT_TRUE(MakeDirs(spool_.dir + "/ack").ok());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
  void Ready(const std::string& name) {
    Write(pg_wal_ + "/" + name, "wal");
    Write(pg_wal_ + "/archive_status/" + name + ".ready", "");
  }
  std::string root_, pg_wal_;
  WalSpool spool_;
};

TEST_F(SpoolTest, PendingFilesInArchivingOrderWithoutAnsweredOnes) {
  Ready("000000010000000000000003");
  Ready("000000010000000000000002");
  Ready("00000002.history");
  Ready("000000010000000000000004");
  Write(pg_wal_ + "/archive_status/000000010000000000000001.done", "");
  Write(pg_wal_ + "/archive_status/garbage.ready", "");
  Write(spool_.AckPath("000000010000000000000004"), "x");
  EXPECT_EQ(PendingWalFiles(pg_wal_, spool_),
            (std::vector<std::string>{"00000002.history", "000000010000000000000002", "000000010000000000000003"}));
  EXPECT_TRUE(WalFileIsReady(pg_wal_ + "/000000010000000000000002"));
  EXPECT_FALSE(WalFileIsReady(pg_wal_ + "/000000010000000000000001"));
}

TEST_F(SpoolTest, AnAckAnswersOnlyForTheFileItWasWrittenFor) {
  std::string f = pg_wal_ + "/000000010000000000000002";
  Ready("000000010000000000000002");
  std::string error;
  EXPECT_EQ(TakeWalAck(spool_, f, &error), AckState::kNone);
  Write(spool_.AckPath("000000010000000000000002"), WalFileStamp(f).value());
  EXPECT_EQ(TakeWalAck(spool_, f, &error), AckState::kOk);
  EXPECT_EQ(TakeWalAck(spool_, f, &error), AckState::kNone);  // consumed
  // An ack of an older file of that name (another inode or size) does not count.
  Write(spool_.AckPath("000000010000000000000002"), "1 16777216 5");
  EXPECT_EQ(TakeWalAck(spool_, f, &error), AckState::kNone);
  EXPECT_NE(::access(spool_.AckPath("000000010000000000000002").c_str(), F_OK), 0);
  Write(spool_.ErrorPath("000000010000000000000002"), "wal-push 000000010000000000000002: disk full");
  EXPECT_EQ(TakeWalAck(spool_, f, &error), AckState::kError);
  EXPECT_EQ(error, "wal-push 000000010000000000000002: disk full");
}

TEST_F(SpoolTest, WaitingStartsTheDaemonAndEndsOnItsAnswerOrTimeout) {
  std::string f = pg_wal_ + "/000000010000000000000002";
  Ready("000000010000000000000002");
  WalSpoolWaitOptions o;
  o.spool = spool_;
  o.path = f;
  o.timeout_seconds = 0.3;
  int starts = 0;
  o.start_daemon = [&] {
    ++starts;
    return Status::Ok();
  };
  Status st = WaitForWalAck(o);
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_NE(st.message().find("did not store 000000010000000000000002 within"), std::string::npos) << st.message();
  EXPECT_EQ(starts, 1);
  // A "daemon" that answers with an error: its text is what wal-push prints.
  o.start_daemon = [&] {
    std::ofstream(spool_.ErrorPath("000000010000000000000002")) << "cannot read the key";
    return Status::Ok();
  };
  st = WaitForWalAck(o);
  EXPECT_EQ(st.message(), "cannot read the key");
  o.start_daemon = [&] {
    std::ofstream(spool_.AckPath("000000010000000000000002")) << WalFileStamp(f).value();
    return Status::Ok();
  };
  EXPECT_TRUE(WaitForWalAck(o).ok());
}

}  // namespace
}  // namespace stb

namespace stb {
namespace {

TEST_F(SpoolTest, ADaemonThatCannotWorkAnswersEveryPendingFileWithItsError) {
  Ready("000000010000000000000002");
  Ready("000000010000000000000003");
  WriteWalSpoolErrors(spool_, pg_wal_, "wal-push daemon: cannot read BACKUP_ENCRYPTION_KEY");
  std::string error;
  EXPECT_EQ(TakeWalAck(spool_, pg_wal_ + "/000000010000000000000003", &error), AckState::kError);
  EXPECT_EQ(error, "wal-push daemon: cannot read BACKUP_ENCRYPTION_KEY");
  // 2 is still answered; 3, whose error wal-push took, is pending again: the next daemon retries it.
  EXPECT_EQ(PendingWalFiles(pg_wal_, spool_), std::vector<std::string>{"000000010000000000000003"});
}

// The daemon reports PostgreSQL's archiving backlog (every .ready file, answered or not: pg_wal
// keeps them all until archived), from which wal-push raises wal_behind.
TEST_F(SpoolTest, TheDaemonReportsTheArchivingBacklog) {
  std::shared_ptr<Storage> mem = NewMemStorage();
  ASSERT_TRUE(Repository::Init(*mem, FixtureKey()).ok());
  auto repo = std::move(Repository::Open(mem, FixtureKey()).value());
  Ready("000000010000000000000001");
  Write(pg_wal_ + "/000000010000000000000002", std::string(300000, 'x'));
  Write(pg_wal_ + "/archive_status/000000010000000000000002.ready", "");
  Write(pg_wal_ + "/archive_status/000000010000000000000000.done", "");
  WalSpoolDaemonOptions o;
  o.spool = spool_;
  o.pg_wal = pg_wal_;
  o.idle_exit_seconds = 0.2;
  uint64_t max_bytes = 0;
  size_t max_files = 0;
  o.on_backlog = [&](uint64_t bytes, size_t files) {
    max_bytes = std::max(max_bytes, bytes);
    max_files = std::max(max_files, files);
  };
  ASSERT_TRUE(RunWalSpoolDaemon(*repo, *mem, {}, o).ok());
  EXPECT_EQ(max_files, 2u);
  EXPECT_EQ(max_bytes, 300003u);
}

}  // namespace
}  // namespace stb
