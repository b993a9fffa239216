// The typed reports read and write the guide's JSON byte for byte: a report printed by `backup`
// before the reports were typed comes back identical, so the catalog, alerts and scripts see no change.
#include "reports/reports.h"

#include <gtest/gtest.h>

namespace stb {
namespace {

using json = nlohmann::json;

// Printed by `backup incremental` (commit a6e3c30, before typed reports): one component failed,
// two skipped, two stored.
const char* kOldIncrementalReport = R"json({
  "backup_id": "20261128_103748",
  "components": {
    "application": {
      "error": "source directory /tmp/comp/e/src/nonexistent: No such file or directory (check APP_DIR)",
      "status": "failed",
      "success": false,
      "type": "application"
    },
    "configuration": {
      "duration_seconds": 0.010491969,
      "file_count": 1,
      "files": 1,
      "size_bytes": 2,
      "status": "success",
      "success": true,
      "type": "configuration",
      "unchanged_files": 1
    },
    "database": {
      "reason": "not configured (DB_HOST)",
      "status": "skipped"
    },
    "player_saves": {
      "duration_seconds": 0.001065276,
      "file_count": 2,
      "files": 2,
      "size_bytes": 5,
      "status": "success",
      "success": true,
      "type": "player_saves",
      "unchanged_files": 1
    },
    "redis": {
      "reason": "not configured (REDIS_HOST)",
      "status": "skipped"
    }
  },
  "duration_seconds": 0.1287386417388916,
  "end_time": "2026-11-28T10:37:47.580073",
  "locations": {
    "local": {
      "path": "/tmp/comp/e/repo",
      "status": "ok"
    }
  },
  "overall_success": false,
  "parent": "20261128_103747",
  "repository": {
    "dedup_ratio": 1.4937759336099585,
    "new_blobs": 2,
    "new_bytes": 197,
    "reused_bytes": 163,
    "stored_bytes": 241
  },
  "start_time": "2026-11-28T10:37:47.451335",
  "type": "incremental"
})json";

TEST(Reports, OldBackupReportRoundTripsByteForByte) {
  json old = json::parse(kOldIncrementalReport);
  BackupReport r = BackupReport::FromJson(old);
  EXPECT_EQ(r.backup_id, "20261128_103748");
  EXPECT_EQ(r.parent.value_or(""), "20261128_103747");
  EXPECT_FALSE(r.overall_success);
  EXPECT_TRUE(r.Stored());
  ASSERT_EQ(r.components.size(), 5u);
  EXPECT_EQ(r.components["database"].status, "skipped");
  EXPECT_EQ(r.components["database"].reason.value_or(""), "not configured (DB_HOST)");
  EXPECT_FALSE(r.components["application"].success);
  EXPECT_EQ(r.components["application"].FirstError(),
            "source directory /tmp/comp/e/src/nonexistent: No such file or directory (check APP_DIR)");
  EXPECT_EQ(r.components["player_saves"].size_bytes.value_or(0), 5u);
  EXPECT_EQ(r.components["player_saves"].details["unchanged_files"], 1);
  ASSERT_TRUE(r.repository);
  EXPECT_EQ(r.repository->reused_bytes, 163u);
  EXPECT_EQ(r.ToJson().dump(2), kOldIncrementalReport);
}

TEST(Reports, FieldsOfTheWrongTypeStayAsTheyCame) {
  json odd = {{"status", "success"}, {"success", true}, {"size_bytes", "12"}, {"duration_seconds", 1.5}};
  ComponentReport c = ComponentReport::FromJson(odd);
  EXPECT_FALSE(c.size_bytes);
  EXPECT_EQ(c.ToJson().dump(), odd.dump());
}

}  // namespace
}  // namespace stb
