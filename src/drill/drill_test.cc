// The drill in process with fake components over an in-memory repository (scratch directory under
// a private TMPDIR, catalog in a private state directory), and the scratch helpers. The drills
// with PostgreSQL and Redis run in test/e2e/test_drill.sh.
#include "drill/drill.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "catalog/catalog.h"
#include "core/file_util.h"
#include "drill/scratch.h"
#include "fake_component.h"
#include "repo_fixture.h"
#include "repository/snapshots.h"
#include "storage/storage.h"

namespace stb {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

class DrillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("stb-drill-test-" + RandomHex(4));
    fs::create_directories(root_ / "tmp");
    setenv("TMPDIR", (root_ / "tmp").c_str(), 1);
    settings_.state_dir = root_ / "state";
    ASSERT_TRUE(Repository::Init(*storage_, FixtureKey()).ok());
  }
  void TearDown() override {
    unsetenv("TMPDIR");
    fs::remove_all(root_);
  }
  void Register(const std::string& failing = "") {
    registry_.Add(std::make_unique<FakeComponent>("player_saves", &calls_, failing == "player_saves" ? "bad" : ""), 1,
                  2);
    registry_.Add(std::make_unique<FakeComponent>("configuration", &calls_), 2, 1);
  }
  std::string Backup() {
    auto repo = Repository::Open(storage_, FixtureKey());
    EXPECT_TRUE(repo.ok());
    auto id = ComponentsBackup(**repo, {"player_saves", "configuration"}, "fake");
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : "";
  }
  CatalogSummary Catalog() {
    auto c = Catalog::Open(settings_.state_dir);
    EXPECT_TRUE(c.ok());
    auto s = (*c)->Summary();
    EXPECT_TRUE(s.ok());
    return *s;
  }

  fs::path root_;
  std::shared_ptr<Storage> storage_ = NewMemStorage();
  RepositoryOpener opener_ = [this](const std::string&) { return Repository::Open(storage_, FixtureKey()); };
  Settings settings_;
  ComponentRegistry registry_;
  std::vector<std::string> calls_;
};

TEST_F(DrillTest, RestoresIntoAScratchDirectoryInProcessAndRemovesIt) {
  Register();
  std::string id = Backup();
  DrillReport r = RunDrill(registry_, settings_, opener_, "restore_verify");
  EXPECT_TRUE(r.overall_success) << r.ToJson().dump();
  EXPECT_EQ(calls_, (std::vector<std::string>{"configuration", "player_saves"}));
  json j = r.ToJson();
  EXPECT_EQ(j["status"], "success");
  EXPECT_EQ(j["backup_id"], id);
  std::string dir = j["scratch"]["directory"];
  EXPECT_EQ(dir.rfind((root_ / "tmp" / "stb-drill-").string(), 0), 0u) << dir;
  EXPECT_EQ(j["scratch"], json({{"directory", dir}}));  // no database, no redis in this backup
  EXPECT_EQ(j["components"]["player_saves"]["restored_to"], dir + "/player_saves");
  EXPECT_EQ(j["restore_order"], json({"configuration", "player_saves"}));
  EXPECT_TRUE(j["rto_seconds"].is_number());
  EXPECT_EQ(j["cleanup"], json({{"directory", "removed"}}));
  EXPECT_FALSE(j.contains("errors"));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::is_empty(root_ / "tmp"));
  CatalogSummary s = Catalog();
  EXPECT_EQ(s.drills[std::make_pair("restore_verify", "success")], 1u);
  EXPECT_TRUE(s.has_restore);  // the drill's restore counts for the RTO, as `restore`'s do
  EXPECT_EQ(s.last_restore_rto, r.restore->value().rto_seconds);
  // Files recover to the backup's time: the drill reports how far before its start that was.
  auto repo = Repository::Open(storage_, FixtureKey());
  ASSERT_TRUE(repo.ok());
  auto snap = FindSnapshot(**repo, "latest");
  ASSERT_TRUE(snap.ok());
  const double time_unix = snap->doc.value("time_unix", 0.0);
  ASSERT_GT(time_unix, 0);
  for (const char* comp : {"player_saves", "configuration"}) {
    const json& p = j["recovery_points"][comp];
    EXPECT_EQ(p["recovered_to_unix"], time_unix) << j.dump();
    EXPECT_EQ(p["recovered_to"], IsoTimestamp(time_unix));
    EXPECT_DOUBLE_EQ(p["recovery_point_seconds"].get<double>(), r.start_unix - time_unix);
    EXPECT_GE(p["recovery_point_seconds"].get<double>(), 0);
    EXPECT_DOUBLE_EQ(s.drill_recovery_point_seconds[comp], r.start_unix - time_unix);
  }
}

TEST_F(DrillTest, AFailingComponentFailsTheDrillWhichStillCleansUp) {
  Register("player_saves");
  Backup();
  DrillReport r = RunDrill(registry_, settings_, opener_, "failover");
  json j = r.ToJson();
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["overall_success"], false);
  EXPECT_EQ(j["errors"], json({"player_saves: bad"}));
  EXPECT_EQ(j["components"]["configuration"]["success"], true);
  // Only what was restored has a recovery point.
  EXPECT_TRUE(j["recovery_points"].contains("configuration")) << j.dump();
  EXPECT_FALSE(j["recovery_points"].contains("player_saves")) << j.dump();
  EXPECT_EQ(j["cleanup"], json({{"directory", "removed"}}));
  EXPECT_TRUE(fs::is_empty(root_ / "tmp"));
  EXPECT_EQ(Catalog().drills[std::make_pair("failover", "failed")], 1u);
}

TEST_F(DrillTest, NoRepositoryPrintsWhatTheDrillAlwaysPrinted) {
  Register();
  RepositoryOpener none = [](const std::string&) -> StatusOr<std::unique_ptr<Repository>> {
    return NotFound("no repository at /x (BACKUP_ROOT): run `spacetime-backup init` first");
  };
  json j = RunDrill(registry_, settings_, none, "restore_verify").ToJson();
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"duration_seconds", "end_time", "errors", "overall_success", "scenario",
                                            "start_time", "status"}));
  EXPECT_EQ(j["errors"], json({"no repository at /x (BACKUP_ROOT): run `spacetime-backup init` first"}));
  EXPECT_TRUE(calls_.empty());
}

TEST(ScratchTest, RedisConfQuoteKeepsAnyPasswordIntact) {
  EXPECT_EQ(RedisConfQuote("plain"), "\"plain\"");
  EXPECT_EQ(RedisConfQuote("a \"b\" \\ c"), "\"a \\\"b\\\" \\\\ c\"");
  EXPECT_EQ(RedisConfQuote(std::string("x\ny\x7f", 4)), "\"x\\x0ay\\x7f\"");
}

TEST(ScratchTest, FreeLoopbackPortIsBelowTheEphemeralRange) {
  int low = 32768;
  if (std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range"); range) range >> low;
  auto port = FreeLoopbackPort();
  ASSERT_TRUE(port.ok()) << port.status().message();
  EXPECT_GE(*port, 1024);
  EXPECT_LT(*port, low);
}

TEST(ScratchTest, AScratchDirectoryRemovesItselfWhenTheDrillDidNot) {
  std::string path;
  {
    auto dir = ScratchDirectory::Create();
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    path = (*dir)->path();
    std::ofstream(path + "/file") << "x";
    ASSERT_TRUE(fs::exists(path + "/file"));
  }
  EXPECT_FALSE(fs::exists(path));
}

// A child that sleeps until killed, as uid (when we are root and uid differs from ours).
pid_t SleepingChild(uid_t uid) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (uid != ::geteuid() && ::setuid(uid) != 0) ::_exit(1);
    ::execl("/bin/sleep", "sleep", "60", nullptr);
    ::_exit(1);
  }
  struct stat st;
  for (int i = 0; i < 200 && (::stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0 || st.st_uid != uid); ++i) {
    ::usleep(10000);  // until the child runs as uid
  }
  return pid;
}

// The postmaster.pid of a scratch server is written by the server's account: root must not stop a
// pid it names (one of root's own, say), only the pid the restore started and while it runs as the
// scratch data directory's owner.
TEST(ScratchTest, StopScratchPostgresStopsOnlyTheDirectoryOwnersProcess) {
  fs::path dir = fs::temp_directory_path() / ("stb-scratch-pg-" + RandomHex(4));
  fs::create_directories(dir);
  if (::geteuid() == 0) {
    ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
    pid_t roots = SleepingChild(0);
    std::ofstream(dir / "postmaster.pid") << roots << "\n" << dir.string() << "\n";
    EXPECT_FALSE(StopScratchPostgres(dir, roots).ok());
    EXPECT_EQ(::kill(roots, 0), 0) << "root's process was stopped";
    ::kill(roots, SIGKILL);
    ::waitpid(roots, nullptr, 0);
  }
  pid_t owners = SleepingChild(::geteuid() == 0 ? 65534 : ::geteuid());
  int status = 0;
  std::thread reaper([&] { ::waitpid(owners, &status, 0); });  // a zombie would still answer kill(pid, 0)
  auto stopped = StopScratchPostgres(dir, owners);
  reaper.join();
  ASSERT_TRUE(stopped.ok()) << stopped.status().message();
  EXPECT_TRUE(*stopped);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(*StopScratchPostgres(dir, 0));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace stb
