// CockroachDB's answers as the restore to a time reads them, and the chain it chooses; the
// texts are those CockroachDB documents (no cluster runs in the tests).
#include "components/database/cockroach_results.h"

#include <gtest/gtest.h>

#include "components/database/cockroach_sql.h"

namespace stb {
namespace {

constexpr double kT = 1704291920.123456;  // 2024-01-03 14:25:20.123456 UTC

TEST(CockroachResults, Timestamps) {
  EXPECT_NEAR(*ParseCrdbTimestamp("2024-01-03 14:25:20.123456+00"), kT, 1e-6);
  EXPECT_NEAR(*ParseCrdbTimestamp("2024-01-03 14:25:20.123456"), kT, 1e-6);  // TIMESTAMP: UTC
  EXPECT_NEAR(*ParseCrdbTimestamp("2024-01-03 15:25:20.123456+01:00"), kT, 1e-6);
  EXPECT_NEAR(*ParseCrdbTimestamp("2024-01-03 14:25:20"), 1704291920, 1e-6);
  for (const char* bad : {"", "2024-01-03", "yesterday", "2024-13-03 14:25:20", "2024-01-03 14:25:20+99"}) {
    EXPECT_FALSE(ParseCrdbTimestamp(bad).ok()) << bad;
  }
  EXPECT_EQ(CrdbAsOf(kT), "2024-01-03 14:25:20.123456");
  EXPECT_NEAR(*ParseCrdbTimestamp(CrdbAsOf(kT)), kT, 1e-6);
}

TEST(CockroachResults, Hlc) {
  EXPECT_NEAR(*ParseCrdbHlc("1704291920123456789.0000000000"), 1704291920.123456789, 1e-6);
  EXPECT_NEAR(*ParseCrdbHlc("1704291920123456789.0000000003"), 1704291920.123456789, 1e-6);
  EXPECT_NEAR(*ParseCrdbHlc("1704291920000000000"), 1704291920, 1e-9);
  for (const char* bad : {"", ".0", "1704291920123456789.", "17042919201234567890123.0", "-1.0", "12a.0", "1.0x"}) {
    EXPECT_FALSE(ParseCrdbHlc(bad).ok()) << bad;
  }
}

TEST(CockroachResults, ShowBackupsAndJobRows) {
  auto paths = ParseShowBackups({{"2024/01/03-142520.12"}, {"2024/01/04-020000.00"}});
  ASSERT_TRUE(paths.ok());
  EXPECT_EQ(*paths, (std::vector<std::string>{"2024/01/03-142520.12", "2024/01/04-020000.00"}));
  EXPECT_FALSE(ParseShowBackups({{std::nullopt}}).ok());
  auto job = ParseJobRow({"903485071233875969", "succeeded", "1", "1237", "0", "120013"});
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->job_id, "903485071233875969");
  EXPECT_EQ(job->status, "succeeded");
  EXPECT_EQ(job->rows, 1237);
  EXPECT_EQ(job->bytes, 120013u);
  EXPECT_FALSE(ParseJobRow({"x", "succeeded", "1", "1", "0", "1"}).ok());
  EXPECT_FALSE(ParseJobRow({"1", "succeeded"}).ok());
  EXPECT_FALSE(ParseJobRow({"1", "succeeded", "1", "-3", "0", "1"}).ok());
}

TEST(CockroachResults, LayersOnePerEndTimeOldestFirst) {
  // One row per table and layer, as SHOW BACKUP answers, in no particular order.
  std::vector<CrdbRow> rows = {
      {"incremental", "2024-01-03 14:25:20.123456", "2024-01-03 14:30:10.000000"},
      {"full", std::nullopt, "2024-01-03 14:25:20.123456"},
      {"full", std::nullopt, "2024-01-03 14:25:20.123456"},
      {"incremental", "2024-01-03 14:25:20.123456", "2024-01-03 14:30:10.000000"},
  };
  auto layers = ParseBackupLayers(rows);
  ASSERT_TRUE(layers.ok()) << layers.status().message();
  ASSERT_EQ(layers->size(), 2u);
  EXPECT_TRUE((*layers)[0].full);
  EXPECT_NEAR((*layers)[0].end_unix, kT, 1e-6);
  EXPECT_FALSE((*layers)[1].full);
  EXPECT_NEAR((*layers)[1].start_unix, kT, 1e-6);
  EXPECT_FALSE(ParseBackupLayers({}).ok());
  EXPECT_FALSE(ParseBackupLayers({{"incremental", "2024-01-03 14:25:20", "2024-01-03 14:30:10"}}).ok());
  EXPECT_FALSE(ParseBackupLayers({{"full", std::nullopt, "soon"}}).ok());
  EXPECT_FALSE(ParseBackupLayers({{"differential", std::nullopt, "2024-01-03 14:30:10"}}).ok());
}

CrdbChain Chain(const std::string& subdir, std::vector<double> ends) {
  CrdbChain c{subdir, {}};
  for (size_t i = 0; i < ends.size(); ++i) c.layers.push_back({i == 0, i == 0 ? 0 : ends[i - 1], ends[i]});
  return c;
}

TEST(CockroachResults, ChainHoldingTheTime) {
  std::vector<CrdbChain> chains = {Chain("a", {100, 200, 300}), Chain("b", {400, 500}), Chain("c", {500, 600})};
  EXPECT_EQ((*ChooseCrdbChain(chains, 100))->subdir, "a");  // a full backup's own end
  EXPECT_EQ((*ChooseCrdbChain(chains, 250))->subdir, "a");  // between layers
  EXPECT_EQ((*ChooseCrdbChain(chains, 300))->subdir, "a");
  EXPECT_EQ((*ChooseCrdbChain(chains, 450))->subdir, "b");
  EXPECT_EQ((*ChooseCrdbChain(chains, 500))->subdir, "c");  // both hold it: the newer full
  EXPECT_EQ((*ChooseCrdbChain(chains, 600))->subdir, "c");
}

TEST(CockroachResults, TimesNoChainHoldsAreRefusedNamingTheNearest) {
  std::vector<CrdbChain> chains = {Chain("a", {100, 200}), Chain("b", {400, 500})};
  auto after = ChooseCrdbChain(chains, 501);
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.status().message().find("after the newest CockroachDB backup layer, 1970-01-01 00:08:20.000000+00"),
            std::string::npos)
      << after.status().message();
  auto before = ChooseCrdbChain(chains, 99);
  ASSERT_FALSE(before.ok());
  EXPECT_NE(before.status().message().find("before the oldest CockroachDB full backup, 1970-01-01 00:01:40"),
            std::string::npos);
  auto gap = ChooseCrdbChain(chains, 300);
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.status().message().find("00:03:20.000000+00 and 1970-01-01 00:06:40.000000+00"), std::string::npos)
      << gap.status().message();
  EXPECT_EQ(ChooseCrdbChain({}, 300).status().code(), Code::kNotFound);
}

TEST(CockroachResults, ShowLayersStatementRedactsThePassphrase) {
  CrdbStatement coll{"s3://b/p?AWS_SECRET_ACCESS_KEY=k3y", "s3://b/p?AWS_SECRET_ACCESS_KEY=redacted"};
  CrdbStatement s = CrdbShowLayersSql("2024/01/03-142520.12", coll, "pass'phrase");
  EXPECT_EQ(s.sql,
            "SELECT DISTINCT backup_type, start_time::STRING, end_time::STRING FROM [SHOW BACKUP FROM "
            "'2024/01/03-142520.12' IN 's3://b/p?AWS_SECRET_ACCESS_KEY=k3y' WITH encryption_passphrase = "
            "'pass''phrase'] ORDER BY 3");
  EXPECT_EQ(s.shown.find("k3y"), std::string::npos);
  EXPECT_EQ(s.shown.find("phrase'"), std::string::npos);
}

TEST(CockroachResults, Schedules) {
  // SHOW SCHEDULES after CREATE SCHEDULE: the incremental and the full schedule share the label.
  std::vector<CrdbRow> rows = {
      {"903485071233875969", "spacetime_backup_game", "ACTIVE", "2024-01-03 14:30:00+00", std::nullopt, "*/5 * * * *"},
      {"903485071233875970", "spacetime_backup_game", "ACTIVE", "2024-01-04 00:00:00+00", "pending", "@daily"}};
  auto s = ParseSchedules(rows);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].recurrence, "*/5 * * * *");
  EXPECT_EQ((*s)[0].state, "");
  EXPECT_EQ((*s)[1].state, "pending");
  EXPECT_FALSE(ParseSchedules({{"x1", "l", "ACTIVE", "", "", ""}}).ok());
  EXPECT_FALSE(ParseSchedules({{std::nullopt, "l", "ACTIVE", "", "", ""}}).ok());
  EXPECT_FALSE(ParseSchedules({{"1", "l"}}).ok());
  EXPECT_TRUE(ParseSchedules({}).ok());
}

TEST(CockroachResults, ScheduleJob) {
  auto j = ParseScheduleJob(
      {"903485071233875971", "failed", "2024-01-03 14:25:20.123456+00", "failed to run backup: s3: AccessDenied"});
  ASSERT_TRUE(j.ok()) << j.status().message();
  EXPECT_EQ(j->status, "failed");
  EXPECT_NEAR(j->finished_unix, kT, 1e-6);
  EXPECT_EQ(j->error, "failed to run backup: s3: AccessDenied");
  auto running = ParseScheduleJob({"1", "running", std::nullopt, std::nullopt});
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(running->finished_unix, 0);
  EXPECT_FALSE(ParseScheduleJob({"1", "failed", "yesterday", ""}).ok());
  EXPECT_FALSE(ParseScheduleJob({"-1", "failed", std::nullopt, ""}).ok());
  EXPECT_FALSE(ParseScheduleJob({"1", std::nullopt, std::nullopt, ""}).ok());
  EXPECT_FALSE(ParseScheduleJob({"1"}).ok());
}

TEST(CockroachResults, GcTtl) {
  // SHOW ZONE CONFIGURATION FROM DATABASE's raw_config_sql (v23.1's default TTL: 4 hours).
  const char* raw =
      "ALTER DATABASE game CONFIGURE ZONE USING\n\trange_min_bytes = 134217728,\n\trange_max_bytes = 536870912,\n"
      "\tgc.ttlseconds = 14400,\n\tnum_replicas = 3,\n\tconstraints = '[]',\n\tlease_preferences = '[]'";
  EXPECT_EQ(*ParseGcTtlSeconds(raw), 14400);
  EXPECT_EQ(*ParseGcTtlSeconds("gc.ttlseconds=90000"), 90000);
  for (const char* bad : {"", "range_min_bytes = 1", "gc.ttlseconds = ", "gc.ttlseconds = -5", "gc.ttlseconds = 0",
                          "gc.ttlseconds 5", "gc.ttlseconds = 99999999999999999999"}) {
    EXPECT_FALSE(ParseGcTtlSeconds(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace stb
