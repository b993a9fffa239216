// The typed snapshot: a document written before it existed reads back field by field and
// writes back byte for byte; written through WriteSnapshot, it is found again as it was.
#include <gtest/gtest.h>

#include "repository/lock.h"
#include "repository/snapshots.h"
#include "storage/storage.h"
#include "test_key.h"

namespace stb {
namespace {

using json = nlohmann::json;

// Written by `backup incremental` at commit a6e3c30 (before the typed Snapshot), decrypted.
const char* kOldSnapshot =
    R"json({"backup_id":"20261128_103748","components":{"configuration":{"files":1,"kind":"files","roots":[{"name":"server","path":"/tmp/comp/e/src/server"},{"name":"k8s","path":"/tmp/comp/e/src/k8s"}],"size_bytes":2,"tree":["1e05640e99d51e0b4985b5af5c561c844d776f9bdb71b8f6e5e2e8933e5b0ca0"]},"player_saves":{"files":2,"kind":"files","roots":[{"name":"saves","path":"/tmp/comp/e/src/saves"}],"size_bytes":5,"tree":["88c0f85d9397bd611a8d932793bac78e24541303d9c912f03772965ae7da92e5"]}},"end_time":"2026-11-28T10:37:47.580073","hostname":"vm","parent":"20261128_103747","report":{"backup_id":"20261128_103748","components":{"application":{"error":"source directory /tmp/comp/e/src/nonexistent: No such file or directory (check APP_DIR)","status":"failed","success":false,"type":"application"},"configuration":{"duration_seconds":0.010491969,"file_count":1,"files":1,"size_bytes":2,"status":"success","success":true,"type":"configuration","unchanged_files":1},"database":{"reason":"not configured (DB_HOST)","status":"skipped"},"player_saves":{"duration_seconds":0.001065276,"file_count":2,"files":2,"size_bytes":5,"status":"success","success":true,"type":"player_saves","unchanged_files":1},"redis":{"reason":"not configured (REDIS_HOST)","status":"skipped"}},"duration_seconds":0.1287386417388916,"end_time":"2026-11-28T10:37:47.580073","overall_success":false,"parent":"20261128_103747","repository":{"dedup_ratio":1.4937759336099585,"new_blobs":2,"new_bytes":197,"reused_bytes":163,"stored_bytes":241},"start_time":"2026-11-28T10:37:47.451335","type":"incremental"},"start_time":"2026-11-28T10:37:47.451335","time_unix":1795862267.4513352,"type":"incremental","version":1})json";

TEST(Snapshot, OldDocumentReadsAndWritesBackByteForByte) {
  json old = json::parse(kOldSnapshot);
  auto s = Snapshot::FromJson(old);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->version, 1);
  EXPECT_EQ(s->backup_id, "20261128_103748");
  EXPECT_EQ(s->type, "incremental");
  EXPECT_EQ(s->parent.value_or(""), "20261128_103747");
  EXPECT_EQ(s->hostname, "vm");
  EXPECT_DOUBLE_EQ(s->time_unix, 1795862267.4513352);
  EXPECT_EQ(s->end_time, "2026-11-28T10:37:47.580073");
  ASSERT_EQ(s->components.size(), 2u);
  EXPECT_EQ(s->components.at("player_saves")["kind"], "files");
  EXPECT_EQ(s->report.backup_id, s->backup_id);
  EXPECT_EQ(s->report.components.at("application").status, "failed");
  EXPECT_TRUE(s->report.locations.is_null());  // the snapshot's report has no locations
  EXPECT_TRUE(s->extra.empty());
  EXPECT_EQ(s->ToJson().dump(), old.dump());
}

TEST(Snapshot, UnknownFieldsSurviveAndABackupIdIsRequired) {
  json doc = json::parse(kOldSnapshot);
  doc["written_by"] = "a newer version";
  auto s = Snapshot::FromJson(doc);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->ToJson().dump(), doc.dump());
  doc.erase("backup_id");
  EXPECT_FALSE(Snapshot::FromJson(doc).ok());
  EXPECT_FALSE(Snapshot::FromJson(json::array()).ok());
}

TEST(Snapshot, WrittenAndFoundAgain) {
  std::shared_ptr<Storage> storage = NewMemStorage();
  KeySource key = TestKey(0x17);
  ASSERT_TRUE(Repository::Init(*storage, key).ok());
  auto repo = Repository::Open(storage, key);
  ASSERT_TRUE(repo.ok());
  auto lock = LockAndLoadIndex(**repo, false, std::chrono::seconds(0));
  ASSERT_TRUE(lock.ok()) << lock.status().message();

  Snapshot s = *Snapshot::FromJson(json::parse(kOldSnapshot));
  s.backup_id = s.report.backup_id = "20261128_113000";
  s.parent.reset();
  s.report.parent.reset();
  s.time_unix = 1795865400.25;
  ASSERT_TRUE(WriteSnapshot(**repo, **lock, s).ok());
  auto found = FindSnapshot(**repo, "latest");
  ASSERT_TRUE(found.ok()) << found.status().message();
  EXPECT_EQ(found->backup_id, "20261128_113000");
  EXPECT_TRUE(found->doc["parent"].is_null());
  auto back = Snapshot::FromJson(found->doc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->ToJson().dump(), s.ToJson().dump());
  EXPECT_FALSE(back->parent);
}

}  // namespace
}  // namespace stb
