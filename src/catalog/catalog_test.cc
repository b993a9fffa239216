// The catalog: schema creation and permissions, records from the commands' JSON reports, the
// summary the exporter shows, several writers at once, and clear errors on foreign or damaged files.
#include "catalog/catalog.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace stb {
namespace {

using json = nlohmann::json;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stb-catalog-test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/state";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::unique_ptr<Catalog> OpenOk() {
    auto c = Catalog::Open(dir_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::string root_, dir_;
};

json ReportJson(const std::string& id, const std::string& type, bool stored) {
  json r = {{"backup_id", id}, {"type", type}, {"duration_seconds", 10.0}};
  r["components"] = {{"database", {{"status", "failed"}, {"error", "connection refused (check DB_HOST and DB_PORT)"}}},
                     {"redis", {{"status", "skipped"}, {"reason", "not configured (REDIS_HOST)"}}},
                     {"player_saves", {{"status", "success"}, {"size_bytes", 1234}, {"duration_seconds", 4.5}}},
                     {"configuration", {{"status", "success"}, {"size_bytes", 56}}}};
  if (stored) r["locations"] = {{"local", {{"status", "ok"}}}};
  return r;
}

// The typed report the backup command hands the catalog, from the guide's JSON.
BackupReport Report(const std::string& id, const std::string& type, bool stored) {
  return BackupReport::FromJson(ReportJson(id, type, stored));
}

TEST_F(CatalogTest, CreatesPrivateFilesAndReopens) {
  auto c = OpenOk();
  ASSERT_TRUE(c);
  struct stat st;
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((dir_ + "/catalog.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(c->RecordBackupReport(Report("20240103_142530", "full", true), 1000).ok());
  c.reset();
  auto again = OpenOk();
  ASSERT_TRUE(again);
  auto rows = again->Backups();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 4u);  // the records survived the reopening
}

TEST_F(CatalogTest, BackupReportsBecomeTheExportersFigures) {
  auto c = OpenOk();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->RecordBackupReport(Report("20240103_142530", "full", true), 1000).ok());
  // No snapshot was written: every component counts as failed, whatever it reported.
  ASSERT_TRUE(c->RecordBackupReport(Report("20240103_152530", "full", false), 2000).ok());
  ASSERT_TRUE(c->RecordBackupReport(Report("20240103_162530", "incremental", true), 3000).ok());
  auto s = c->Summary();
  ASSERT_TRUE(s.ok()) << s.status().message();
  using K = CatalogSummary::Key;
  EXPECT_EQ(s->last_success_end.at(K("player_saves", "full")), 1000);  // the 2000 run was not stored
  EXPECT_EQ(s->last_success_end.at(K("player_saves", "incremental")), 3000);
  EXPECT_EQ(s->last_success_duration.at(K("player_saves", "full")), 4.5);
  EXPECT_EQ(s->last_success_duration.at(K("configuration", "full")), 10.0);  // the run's, when none of its own
  EXPECT_EQ(s->last_size.at("player_saves"), 1234u);
  EXPECT_FALSE(s->last_success_end.count(K("database", "full")));
  EXPECT_EQ(s->completed.at({"player_saves", "success", "full"}), 1u);
  EXPECT_EQ(s->completed.at({"player_saves", "failed", "full"}), 1u);
  EXPECT_EQ(s->completed.at({"database", "failed", "full"}), 2u);
  EXPECT_EQ(s->completed.at({"redis", "skipped", "incremental"}), 1u);
  EXPECT_EQ(s->last_database_success_end, 0);
  EXPECT_FALSE(s->has_restore);

  json db_ok = ReportJson("20240103_172530", "incremental", true);
  db_ok["components"]["database"] = {{"status", "success"}, {"size_bytes", 99}, {"duration_seconds", 2.0}};
  ASSERT_TRUE(c->RecordBackupReport(BackupReport::FromJson(db_ok), 4000).ok());
  s = c->Summary();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->last_database_success_end, 4000);
  EXPECT_EQ(s->last_size.at("database"), 99u);

  EXPECT_FALSE(c->RecordBackupReport(BackupReport::FromJson(json{{"error", "nothing to back up"}}), 1).ok());
}

// Parallel pushes may store WAL out of order: the newest position per location and cluster wins.
TEST_F(CatalogTest, WalPositionsAndRecoveryWindows) {
  auto c = OpenOk();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->RecordWal("local", "c1", 0x3000000, 100).ok());
  ASSERT_TRUE(c->RecordWal("local", "c1", 0x2000000, 110).ok());  // an older segment, stored later
  ASSERT_TRUE(c->RecordWal("s3_primary", "c1", 0x2000000, 90).ok());
  ASSERT_TRUE(c->RecordRecoveryWindow("c1", 10, 100).ok());
  ASSERT_TRUE(c->RecordRecoveryWindow("c1", 20, 100).ok());  // the newest computation replaces it
  c.reset();
  auto again = OpenOk();
  ASSERT_TRUE(again);
  auto s = again->Summary();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->wal_stored_at["local"], 100);
  EXPECT_EQ(s->wal_stored_at["s3_primary"], 90);
  ASSERT_EQ(s->recovery_window.size(), 1u);
  EXPECT_EQ(s->recovery_window["c1"], std::make_pair(20.0, 100.0));
}

// backup_recovery_point_seconds' rows: each successful component of a stored backup in each
// location that reported it stored, as of the run's start; a successful replication gives the copy
// the source's points; a point never moves back; a stream source keeps its own row.
TEST_F(CatalogTest, RecoveryPointsFromBackupsReplicationAndStreams) {
  auto c = OpenOk();
  ASSERT_TRUE(c);
  json r = ReportJson("20240103_142530", "full", true);
  r["start_time"] = "2024-01-03T14:25:30.500000";
  r["locations"]["s3_primary"] = {{"status", "ok"}};
  r["locations"]["azure_secondary"] = {{"status", "failed"}, {"error", "HTTP 503"}};
  ASSERT_TRUE(c->RecordBackupReport(BackupReport::FromJson(r), 5000).ok());
  std::tm tm{};
  tm.tm_year = 124, tm.tm_mon = 0, tm.tm_mday = 3, tm.tm_hour = 14, tm.tm_min = 25, tm.tm_sec = 30, tm.tm_isdst = -1;
  const double start = static_cast<double>(std::mktime(&tm)) + 0.5;
  auto s = c->Summary();
  ASSERT_TRUE(s.ok());
  using P = std::map<std::pair<std::string, std::string>, double>;
  EXPECT_EQ(s->recorded_points, (P{{{"configuration", "local"}, start},
                                   {{"configuration", "s3_primary"}, start},
                                   {{"player_saves", "local"}, start},
                                   {{"player_saves", "s3_primary"}, start}}));
  // Not stored: no point anywhere.
  ASSERT_TRUE(c->RecordBackupReport(Report("20240103_152530", "full", false), 9000).ok());
  ASSERT_TRUE(c->RecordRecoveryPointsCopied("local", "azure_secondary").ok());
  ASSERT_TRUE(c->RecordRecoveryPoint("player_saves", "local", "backup", start - 100).ok());  // older: ignored
  ASSERT_TRUE(c->RecordRecoveryPoint("redis", "local", "redis-stream", 8000).ok());
  s = c->Summary();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->recorded_points.at({"player_saves", "azure_secondary"}), start);
  EXPECT_EQ(s->recorded_points.at({"player_saves", "local"}), start);
  EXPECT_EQ(s->recorded_points.at({"redis", "local"}), 8000);
  EXPECT_EQ(s->recorded_points.count({"redis", "azure_secondary"}), 0u);  // only "backup" rows are copied
  EXPECT_EQ(s->recorded_points.size(), 7u);
}

TEST_F(CatalogTest, RestoresDrillsAndReplication) {
  auto c = OpenOk();
  ASSERT_TRUE(c);
  RestoreReport restore;
  restore.backup_id = "20240103_142530";
  restore.restore_location = "local";
  restore.rto_seconds = 12.5;
  restore.overall_success = true;
  ASSERT_TRUE(c->RecordRestoreReport(restore, 5000).ok());
  restore.rto_seconds = 99.0;
  restore.overall_success = false;  // a failed restore has no recovery time to show
  ASSERT_TRUE(c->RecordRestoreReport(restore, 6000).ok());
  ASSERT_TRUE(c->RecordDrill({"restore_verify", "success", "20240103_142530", 10, 3}).ok());
  ASSERT_TRUE(c->RecordDrill({"restore_verify", "failed", "20240103_142530", 20, 3}).ok());
  ASSERT_TRUE(c->RecordDrill({"restore_verify", "success", "20240103_142530", 30, 3}).ok());

  ASSERT_TRUE(c->RecordReplication("s3_primary", true, "20240103_142530", "").ok());
  ASSERT_TRUE(c->RecordReplication("azure_secondary", true, "20240103_142530", "").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // The newer of the last replication and the last probe decides.
  ASSERT_TRUE(c->RecordProbe("s3_primary", false, "s3 b/backups/primary/: HTTP 503").ok());
  ASSERT_TRUE(c->RecordProbe("gcs_tertiary", true, "").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(c->RecordReplication("gcs_tertiary", false, "20240103_152530", "gcs: HTTP 500").ok());

  auto s = c->Summary();
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->has_restore);
  EXPECT_EQ(s->last_restore_rto, 12.5);
  EXPECT_EQ(s->drills.at({"restore_verify", "success"}), 2u);
  EXPECT_EQ(s->drills.at({"restore_verify", "failed"}), 1u);
  EXPECT_FALSE(s->replication.at("s3_primary").ok);
  EXPECT_EQ(s->replication.at("s3_primary").source, "probe");
  EXPECT_TRUE(s->replication.at("azure_secondary").ok);
  EXPECT_FALSE(s->replication.at("gcs_tertiary").ok);
  EXPECT_EQ(s->replication.at("gcs_tertiary").backup_id, "20240103_152530");
  EXPECT_EQ(s->replication.at("gcs_tertiary").source, "replicate");
}

// A backup, the schedule and the exporter write at once: every record lands (WAL, busy timeout).
TEST_F(CatalogTest, SeveralWritersAtOnce) {
  ASSERT_TRUE(OpenOk());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto c = Catalog::Open(dir_);  // one connection each, as separate processes have
      if (!c.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < 50; ++i) {
        BackupRecord r{"id" + std::to_string(t), "player_saves", "full", "success", double(i), 1, 1};
        if (!(*c)->RecordBackup(r).ok()) ++failures;
        if (!(*c)->Summary().ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  auto s = OpenOk()->Summary();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->completed.at({"player_saves", "success", "full"}), 200u);
}

TEST_F(CatalogTest, DamagedForeignOrNewerFilesAreClearErrors) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/catalog.db") << std::string(8192, 'x');
  auto c = Catalog::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("BACKUP_STATE_DIR=" + dir_), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("not a database"), std::string::npos) << c.status().message();

  std::filesystem::remove(dir_ + "/catalog.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/catalog.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE players (id INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  c = Catalog::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not a spacetime-backup catalog"), std::string::npos) << c.status().message();

  std::filesystem::remove(dir_ + "/catalog.db");
  ASSERT_TRUE(OpenOk());
  ASSERT_EQ(sqlite3_open((dir_ + "/catalog.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  c = Catalog::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("schema version 99 is newer"), std::string::npos) << c.status().message();

  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_ + "/catalog.db");  // a directory where the file should be
  c = Catalog::Open(dir_);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("BACKUP_STATE_DIR"), std::string::npos) << c.status().message();
}

TEST_F(CatalogTest, BestEffortUpdateOnlyWarns) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ + "/catalog.db") << std::string(8192, 'x');
  bool called = false;
  testing::internal::CaptureStderr();
  UpdateCatalogBestEffort(dir_, [&](Catalog&) {
    called = true;
    return Status::Ok();
  });
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(called);
  EXPECT_NE(err.find("warning: the catalog was not updated"), std::string::npos) << err;
}

}  // namespace
}  // namespace stb
