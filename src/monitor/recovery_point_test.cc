// RecoveryPoints by tables: each component in several locations, a location that misses a
// snapshot, WAL extending the database's point past its backup, a stream source's own row.
#include "monitor/recovery_point.h"

#include <gtest/gtest.h>

#include <stdlib.h>

#include <filesystem>
#include <optional>
#include <vector>

namespace stb {
namespace {

struct Row {
  const char* name;
  CatalogSummary summary;
  std::vector<std::pair<RecoveryPointKey, std::optional<double>>> expect;  // nullopt: absent
};

CatalogSummary Held(std::map<RecoveryPointKey, double> points) {
  CatalogSummary s;
  s.recorded_points = std::move(points);
  return s;
}

CatalogSummary WithWal(CatalogSummary s, std::map<std::string, double> wal, double window_to) {
  s.wal_stored_at = std::move(wal);
  s.recovery_window["c1"] = {100, window_to};
  return s;
}

TEST(RecoveryPoints, Table) {
  const std::vector<Row> rows = {
      {"every component in every location that holds its newest backup",
       Held({{{"redis", "local"}, 1000},
             {{"redis", "s3_primary"}, 1000},
             {{"player_saves", "local"}, 1000},
             {{"configuration", "gcs_tertiary"}, 900},
             {{"application", "local"}, 1000},
             {{"database", "azure_secondary"}, 700}}),
       {{{"redis", "local"}, 1000},
        {{"redis", "s3_primary"}, 1000},
        {{"player_saves", "local"}, 1000},
        {{"configuration", "gcs_tertiary"}, 900},
        {{"application", "local"}, 1000},
        {{"database", "azure_secondary"}, 700}}},
      {"a location that missed the newest snapshot keeps the older one; one with none is absent",
       Held({{{"redis", "local"}, 2000}, {{"redis", "s3_primary"}, 1000}}),
       {{{"redis", "local"}, 2000}, {{"redis", "s3_primary"}, 1000}, {{"redis", "azure_secondary"}, std::nullopt}}},
      {"WAL extends the database past its backup: local to the window's end, a copy to its WAL",
       WithWal(Held({{{"database", "local"}, 1000}, {{"database", "s3_primary"}, 1000}, {{"redis", "local"}, 1000}}),
               {{"local", 1290}, {"s3_primary", 1250}}, 1290),
       {{{"database", "local"}, 1290}, {{"database", "s3_primary"}, 1250}, {{"redis", "local"}, 1000}}},
      {"a copy whose WAL is newer than the local window reaches only the window's end",
       WithWal(Held({{{"database", "local"}, 1000}, {{"database", "s3_primary"}, 1000}}),
               {{"local", 1300}, {"s3_primary", 1400}}, 1280),
       {{{"database", "local"}, 1280}, {{"database", "s3_primary"}, 1280}}},
      {"WAL in a copy without a base backup there recovers nothing",
       WithWal(Held({{{"database", "local"}, 1000}}), {{"local", 1290}, {"s3_primary", 1250}}, 1290),
       {{{"database", "local"}, 1290}, {{"database", "s3_primary"}, std::nullopt}}},
      {"a copy whose WAL stopped before its backup keeps its backup",
       WithWal(Held({{{"database", "local"}, 1000}, {{"database", "s3_primary"}, 1000}}),
               {{"local", 1290}, {"s3_primary", 500}}, 1290),
       {{{"database", "s3_primary"}, 1000}}},
      {"a window recorded before any backup row (an older catalog) still gives local its end",
       WithWal(Held({}), {{"local", 1290}}, 1290),
       {{{"database", "local"}, 1290}}},
      {"a stream source's row (the later Redis capture) is just another recorded point",
       Held({{{"redis", "local"}, 1299.5}}),
       {{{"redis", "local"}, 1299.5}}},
  };
  for (const auto& r : rows) {
    auto got = RecoveryPoints(r.summary);
    for (const auto& [key, want] : r.expect) {
      auto it = got.find(key);
      if (!want) {
        EXPECT_EQ(it, got.end()) << r.name << ": " << key.first << "@" << key.second;
      } else {
        ASSERT_NE(it, got.end()) << r.name << ": " << key.first << "@" << key.second;
        EXPECT_DOUBLE_EQ(it->second, *want) << r.name << ": " << key.first << "@" << key.second;
      }
    }
  }
}

// A db-incremental's layer end becomes the database's point where it wrote; a failed run or one
// without a layer (native schedule) records its row and no point; an older layer never moves it back.
TEST(RecoveryPoints, DbIncrementalRecordsThePoint) {
  char tmpl[] = "/tmp/stb-rp-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  auto c = Catalog::Open(tmpl);
  ASSERT_TRUE(c.ok()) << c.status().message();
  BackupRecord run{"db-incremental:1", "database", "incremental", "success", 5000, 2, 100};
  nlohmann::json report = {{"success", true}, {"recovery_point_unix", 4990.5}};
  ASSERT_TRUE(RecordDbIncremental(**c, run, report, {"s3_primary"}).ok());
  run.backup_id = "db-incremental:2";
  run.status = "failed";
  ASSERT_TRUE(
      RecordDbIncremental(**c, run, {{"success", false}, {"recovery_point_unix", 9000.0}}, {"s3_primary"}).ok());
  run.backup_id = "db-incremental:3";
  run.status = "success";
  ASSERT_TRUE(RecordDbIncremental(**c, run, {{"success", true}, {"type", "native-schedule"}}, {"cockroach_uri"}).ok());
  run.backup_id = "db-incremental:4";
  ASSERT_TRUE(RecordDbIncremental(**c, run, {{"success", true}, {"recovery_point_unix", 4000.0}}, {"s3_primary"}).ok());
  auto s = (*c)->Summary();
  ASSERT_TRUE(s.ok());
  auto points = RecoveryPoints(*s);
  EXPECT_EQ(points.size(), 1u);
  EXPECT_EQ(points.at({"database", "s3_primary"}), 4990.5);
  auto backups = (*c)->Backups();
  ASSERT_TRUE(backups.ok());
  EXPECT_EQ(backups->size(), 4u);
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace stb
