// Round trips of reports printed by `backup` and `restore` (taken from the binary's output, paths
// shortened): the typed reports must print exactly what the commands printed before them.
#include "reports/reports.h"

#include <gtest/gtest.h>

namespace stb {
namespace {

using json = nlohmann::json;

// What PrintJson writes (without its final newline).
std::string Printed(const json& j) { return j.dump(2, ' ', false, json::error_handler_t::replace); }

constexpr char kBackupFullWithSkipped[] = R"json({
  "backup_id": "20261128_102414",
  "components": {
    "application": {
      "reason": "not configured (APP_DIR)",
      "status": "skipped"
    },
    "configuration": {
      "duration_seconds": 0.002673329,
      "file_count": 3,
      "files": 3,
      "size_bytes": 1053,
      "status": "success",
      "success": true,
      "type": "configuration",
      "unchanged_files": 0
    },
    "database": {
      "database": "game",
      "duration_seconds": 0.249151898,
      "engine": "postgresql",
      "large_objects": 0,
      "rows": 100,
      "size_bytes": 2702,
      "status": "success",
      "success": true,
      "tables": 1,
      "type": "full"
    },
    "player_saves": {
      "duration_seconds": 0.118129329,
      "file_count": 15,
      "files": 15,
      "size_bytes": 3218172,
      "status": "success",
      "success": true,
      "type": "player_saves",
      "unchanged_files": 0
    },
    "redis": {
      "duration_seconds": 5.682418781,
      "files": [
        "dump.rdb"
      ],
      "keys": 0,
      "keyspace": {},
      "keyspace_exact": true,
      "redis_version": "7.0.15",
      "size_bytes": 172,
      "status": "success",
      "success": true,
      "type": "redis",
      "warnings": [
        "no readable appendonlydir in REDIS_DATA_DIR /w/redis: only the RDB snapshot was backed up"
      ]
    }
  },
  "duration_seconds": 6.145438194274902,
  "end_time": "2026-11-28T10:24:20.976357",
  "locations": {
    "local": {
      "path": "/w/repo",
      "status": "ok"
    }
  },
  "overall_success": true,
  "parent": null,
  "repository": {
    "dedup_ratio": 1.0129612604386675,
    "new_blobs": 24,
    "new_bytes": 3223889,
    "reused_bytes": 0,
    "stored_bytes": 3182638
  },
  "start_time": "2026-11-28T10:24:14.830919",
  "type": "full"
})json";

constexpr char kBackupWithFailedComponent[] = R"json({
  "backup_id": "20261128_102427",
  "components": {
    "application": {
      "reason": "not configured (APP_DIR)",
      "status": "skipped"
    },
    "configuration": {
      "duration_seconds": 0.005079347,
      "file_count": 3,
      "files": 3,
      "size_bytes": 1053,
      "status": "success",
      "success": true,
      "type": "configuration",
      "unchanged_files": 0
    },
    "database": {
      "database": "game",
      "duration_seconds": 0.468269761,
      "engine": "postgresql",
      "large_objects": 0,
      "rows": 100,
      "size_bytes": 2702,
      "status": "success",
      "success": true,
      "tables": 1,
      "type": "full"
    },
    "player_saves": {
      "error": "source directory /w/nonexistent: No such file or directory (check PLAYER_SAVES_DIR)",
      "status": "failed",
      "success": false,
      "type": "player_saves"
    },
    "redis": {
      "duration_seconds": 5.373707419,
      "files": [
        "dump.rdb"
      ],
      "keys": 0,
      "keyspace": {},
      "keyspace_exact": true,
      "redis_version": "7.0.15",
      "size_bytes": 172,
      "status": "success",
      "success": true,
      "type": "redis",
      "warnings": [
        "no readable appendonlydir in REDIS_DATA_DIR /w/redis: only the RDB snapshot was backed up"
      ]
    }
  },
  "duration_seconds": 5.889470815658569,
  "end_time": "2026-11-28T10:24:32.896134",
  "locations": {
    "local": {
      "path": "/w/repo",
      "status": "ok"
    }
  },
  "overall_success": false,
  "parent": null,
  "repository": {
    "dedup_ratio": 3.123900293255132,
    "new_blobs": 3,
    "new_bytes": 2874,
    "reused_bytes": 1387,
    "stored_bytes": 1364
  },
  "start_time": "2026-11-28T10:24:27.006663",
  "type": "full"
})json";

constexpr char kBackupNothingToBackUp[] = R"json({
  "backup_id": "20261128_102411",
  "components": {
    "application": {
      "reason": "not configured (APP_DIR)",
      "status": "skipped"
    },
    "configuration": {
      "reason": "not configured (CONFIG_DIRS)",
      "status": "skipped"
    },
    "database": {
      "reason": "not configured (DB_HOST)",
      "status": "skipped"
    },
    "player_saves": {
      "reason": "not configured (PLAYER_SAVES_DIR)",
      "status": "skipped"
    },
    "redis": {
      "reason": "not configured (REDIS_HOST)",
      "status": "skipped"
    }
  },
  "duration_seconds": 0.007639884948730469,
  "end_time": "2026-11-28T10:24:11.108750",
  "error": "nothing to back up: set DB_HOST, REDIS_HOST, PLAYER_SAVES_DIR, CONFIG_DIRS or APP_DIR (see --help)",
  "overall_success": false,
  "parent": null,
  "repository": {
    "dedup_ratio": 0.0,
    "new_blobs": 0,
    "new_bytes": 0,
    "reused_bytes": 0,
    "stored_bytes": 0
  },
  "start_time": "2026-11-28T10:24:11.101110",
  "type": "full"
})json";

constexpr char kRestoreFull[] = R"json({
  "backup_id": "20261128_102414",
  "components": {
    "configuration": {
      "duration_seconds": 0.007453441619873047,
      "files": 3,
      "restored_to": [
        "/w/t1/configuration/server",
        "/w/t1/configuration/k8s"
      ],
      "size_bytes": 1053,
      "success": true,
      "verified_files": 3
    },
    "database": {
      "database": "game_restored",
      "duration_seconds": 0.432448148727417,
      "engine": "postgresql",
      "large_objects": 0,
      "mode": "into an empty database",
      "rows_verified": 100,
      "success": true,
      "tables_verified": 1
    },
    "player_saves": {
      "duration_seconds": 0.07230758666992188,
      "files": 15,
      "restored_to": [
        "/w/t1/player_saves/saves"
      ],
      "size_bytes": 3218172,
      "success": true,
      "verified_files": 15
    },
    "redis": {
      "duration_seconds": 0.012895345687866211,
      "files": [
        "dump.rdb"
      ],
      "restored_to": "/w/t1/redis/dump.rdb",
      "size_bytes": 172,
      "success": true,
      "verified": "file: blob ids and the RDB checksum; restart Redis on /w/t1/redis to load it"
    }
  },
  "end_time": "2026-11-28T10:24:34.468683",
  "overall_success": true,
  "restore_location": "local",
  "restore_order": [
    "configuration",
    "database",
    "redis",
    "player_saves"
  ],
  "rto_seconds": 0.5380065441131592,
  "start_time": "2026-11-28T10:24:33.930677",
  "target": "/w/t1"
})json";

constexpr char kRestoreDamagedPack[] = R"json({
  "backup_id": "20261128_102414",
  "components": {
    "configuration": {
      "duration_seconds": 0.006699800491333008,
      "files": 3,
      "restored_to": [
        "/w/t4/configuration/server",
        "/w/t4/configuration/k8s"
      ],
      "size_bytes": 1053,
      "success": true,
      "verified_files": 3
    },
    "database": {
      "database": "game_r2",
      "duration_seconds": 0.48899078369140625,
      "engine": "postgresql",
      "large_objects": 0,
      "mode": "into an empty database",
      "rows_verified": 100,
      "success": true,
      "tables_verified": 1
    },
    "player_saves": {
      "duration_seconds": 0.10877323150634766,
      "error": "saves/world/map.bin: blob f99cd266f1578ead in data/a7/a7b64d015e1f6a191e71e44df99900da1f5439b8973efabcd9e956bc27f8081d: authentication failed (data damaged, or not written with this key)",
      "error_count": 1,
      "errors": [
        "saves/world/map.bin: blob f99cd266f1578ead in data/a7/a7b64d015e1f6a191e71e44df99900da1f5439b8973efabcd9e956bc27f8081d: authentication failed (data damaged, or not written with this key)"
      ],
      "files": 15,
      "restored_to": [
        "/w/t4/player_saves/saves"
      ],
      "size_bytes": 3218172,
      "success": false,
      "verified_files": 14
    },
    "redis": {
      "duration_seconds": 0.010837793350219727,
      "files": [
        "dump.rdb"
      ],
      "restored_to": "/w/t4/redis/dump.rdb",
      "size_bytes": 172,
      "success": true,
      "verified": "file: blob ids and the RDB checksum; restart Redis on /w/t4/redis to load it"
    }
  },
  "end_time": "2026-11-28T10:24:36.481014",
  "overall_success": false,
  "restore_location": "local",
  "restore_order": [
    "configuration",
    "database",
    "redis",
    "player_saves"
  ],
  "rto_seconds": 0.628638505935669,
  "start_time": "2026-11-28T10:24:35.852376",
  "target": "/w/t4"
})json";

constexpr char kRestoreMissingComponent[] = R"json({
  "backup_id": "20261128_102414",
  "components": {
    "application": {
      "error": "backup 20261128_102414 does not contain application",
      "success": false
    }
  },
  "end_time": "2026-11-28T10:24:34.697595",
  "overall_success": false,
  "restore_location": "local",
  "restore_order": [],
  "rto_seconds": 0.011796236038208008,
  "start_time": "2026-11-28T10:24:34.685799",
  "target": "/w/t3"
})json";

// Hand-made in the shapes the commands write on their rarer paths: the packs could not be stored
// (warnings from a damaged index, a failed local location); a restore that found nothing it was
// asked for in a repository with a damaged index, and one whose component failed with it.
constexpr char kBackupStoreFailed[] = R"json({
  "backup_id": "20261128_102414",
  "components": {
    "configuration": {
      "duration_seconds": 0.002673329,
      "file_count": 3,
      "files": 3,
      "size_bytes": 1053,
      "status": "success",
      "success": true,
      "type": "configuration",
      "unchanged_files": 0
    }
  },
  "duration_seconds": 0.5,
  "end_time": "2026-11-28T10:24:20.976357",
  "error": "storing the backup failed, no snapshot was written: writing data/ab/abcd: No space left on device",
  "locations": {
    "local": {
      "error": "writing data/ab/abcd: No space left on device",
      "status": "failed"
    }
  },
  "overall_success": false,
  "parent": "20261128_102000",
  "repository": {
    "dedup_ratio": 1.5,
    "new_blobs": 2,
    "new_bytes": 1053,
    "reused_bytes": 0,
    "stored_bytes": 702
  },
  "start_time": "2026-11-28T10:24:20.476357",
  "type": "incremental",
  "warnings": [
    "index/12ab: authentication failed (data damaged, or not written with this key)"
  ]
})json";

constexpr char kRestoreNothing[] = R"json({
  "backup_id": "20261128_102414",
  "components": {},
  "end_time": "2026-11-28T10:24:34.697595",
  "error": "nothing was restored",
  "errors": [
    "index/12ab: authentication failed (data damaged, or not written with this key)"
  ],
  "overall_success": false,
  "restore_location": "s3",
  "restore_order": [],
  "rto_seconds": 0.011796236038208008,
  "start_time": "2026-11-28T10:24:34.685799"
})json";

constexpr char kRestoreDamagedIndex[] = R"json({
  "backup_id": "20261128_102414",
  "components": {
    "redis": {
      "damaged_index": [
        "index/12ab: authentication failed (data damaged, or not written with this key)"
      ],
      "duration_seconds": 0.001,
      "error": "blob 0123456789abcdef is not in the index",
      "success": false
    }
  },
  "end_time": "2026-11-28T10:24:34.697595",
  "errors": [
    "index/12ab: authentication failed (data damaged, or not written with this key)"
  ],
  "overall_success": false,
  "restore_location": "local",
  "restore_order": [
    "redis"
  ],
  "rto_seconds": 0.25,
  "start_time": "2026-11-28T10:24:34.447595"
})json";

TEST(ReportsTest, BackupReportsRoundTripByteForByte) {
  for (const char* text :
       {kBackupFullWithSkipped, kBackupWithFailedComponent, kBackupNothingToBackUp, kBackupStoreFailed}) {
    json in = json::parse(text);
    ASSERT_EQ(Printed(in), text) << "the fixture is not in PrintJson's form";
    EXPECT_EQ(Printed(BackupReport::FromJson(in).ToJson()), text);
  }
}

TEST(ReportsTest, RestoreReportsRoundTripByteForByte) {
  for (const char* text :
       {kRestoreFull, kRestoreDamagedPack, kRestoreMissingComponent, kRestoreNothing, kRestoreDamagedIndex}) {
    json in = json::parse(text);
    ASSERT_EQ(Printed(in), text) << "the fixture is not in PrintJson's form";
    EXPECT_EQ(Printed(RestoreReport::FromJson(in).ToJson()), text);
  }
}

TEST(ReportsTest, TypedFieldsAreRead) {
  BackupReport b = BackupReport::FromJson(json::parse(kBackupWithFailedComponent));
  EXPECT_EQ(b.backup_id, "20261128_102427");
  EXPECT_FALSE(b.parent);
  EXPECT_TRUE(b.Stored());
  EXPECT_FALSE(b.overall_success);
  ASSERT_EQ(b.components.size(), 5u);
  EXPECT_EQ(b.components["application"].status, "skipped");
  EXPECT_EQ(b.components["application"].reason, "not configured (APP_DIR)");
  EXPECT_EQ(b.components["player_saves"].status, "failed");
  EXPECT_EQ(b.components["database"].size_bytes, 2702u);
  EXPECT_EQ(b.components["database"].details["rows"], 100);
  ASSERT_TRUE(b.repository);
  EXPECT_EQ(b.repository->new_blobs, 3u);

  BackupReport nothing = BackupReport::FromJson(json::parse(kBackupNothingToBackUp));
  EXPECT_FALSE(nothing.Stored());
  EXPECT_EQ(nothing.error.value_or("").rfind("nothing to back up", 0), 0u);
  EXPECT_FALSE(BackupReport::FromJson(json::parse(kBackupStoreFailed)).Stored());
  EXPECT_EQ(BackupReport::FromJson(json::parse(kBackupStoreFailed)).parent, "20261128_102000");

  RestoreReport r = RestoreReport::FromJson(json::parse(kRestoreDamagedPack));
  EXPECT_EQ(r.restore_order, (std::vector<std::string>{"configuration", "database", "redis", "player_saves"}));
  EXPECT_EQ(r.target, "/w/t4");
  EXPECT_DOUBLE_EQ(r.rto_seconds, 0.628638505935669);
  EXPECT_EQ(r.components["player_saves"].details["error_count"], 1);
}

TEST(ReportsTest, RestoreFirstError) {
  EXPECT_EQ(RestoreReport::FromJson(json::parse(kRestoreFull)).FirstError(), "");
  EXPECT_EQ(RestoreReport::FromJson(json::parse(kRestoreNothing)).FirstError(), "nothing was restored");
  EXPECT_EQ(RestoreReport::FromJson(json::parse(kRestoreMissingComponent)).FirstError(),
            "application: backup 20261128_102414 does not contain application");
  // Several failures: the first by name, as the restore alert and the drill's errors have always
  // taken them (from the report's components object), not the first in restore order.
  RestoreReport two = RestoreReport::FromJson(json::parse(kRestoreDamagedPack));
  two.components["redis"].success = false;
  two.components["redis"].error = "redis did not load the RDB";
  EXPECT_EQ(two.FirstError(), two.components["player_saves"].error.value_or("?").insert(0, "player_saves: "));
  two.components["redis"].error.reset();
  two.components["player_saves"].error.reset();
  EXPECT_EQ(two.FirstError(), "player_saves: failed");
}

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

TEST(ReportsTest, OldBackupReportRoundTripsByteForByte) {
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

TEST(ReportsTest, FieldsOfTheWrongTypeStayAsTheyCame) {
  json odd = {{"status", "success"}, {"success", true}, {"size_bytes", "12"}, {"duration_seconds", 1.5}};
  ComponentReport c = ComponentReport::FromJson(odd);
  EXPECT_FALSE(c.size_bytes);
  EXPECT_EQ(c.ToJson().dump(), odd.dump());
}

}  // namespace
}  // namespace stb
