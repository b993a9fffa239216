// RecoveryPoints by tables: each component in several locations, a location that misses a
// snapshot, WAL extending the database's point past its backup, a stream source's own row.
#include "monitor/recovery_point.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace stb
