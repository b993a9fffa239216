#include "components/database/pg_recovery_conf.h"

#include <gtest/gtest.h>

#include "time_util.h"

namespace stb {
namespace {

TEST(TargetTime, WithZones) {
  // 2026-11-28 10:05:00 UTC = 1795860300.
  EXPECT_DOUBLE_EQ(*ParseTargetTime("2026-11-28 10:05:00+00"), 1795860300.0);
  EXPECT_DOUBLE_EQ(*ParseTargetTime("2026-11-28T10:05:00Z"), 1795860300.0);
  EXPECT_DOUBLE_EQ(*ParseTargetTime("2026-11-28 10:05:00 UTC"), 1795860300.0);
  EXPECT_DOUBLE_EQ(*ParseTargetTime("2026-11-28T12:05:00+02:00"), 1795860300.0);
  EXPECT_DOUBLE_EQ(*ParseTargetTime("2026-11-28 05:35:00-0430"), 1795860300.0);
  EXPECT_NEAR(*ParseTargetTime("2026-11-28 10:05:00.05+00"), 1795860300.05, 1e-6);
  EXPECT_NEAR(*ParseTargetTime("2026-11-28T10:05:00.123456Z"), 1795860300.123456, 1e-6);
}

TEST(TargetTime, WithoutZoneIsLocal) {
  {
    testing::ScopedTz tz("Europe/Berlin");  // CET, UTC+1 in November
    EXPECT_DOUBLE_EQ(*ParseTargetTime("2026-11-28 11:05:00"), 1795860300.0);
  }
  testing::ScopedTz tz("UTC");
  EXPECT_DOUBLE_EQ(*ParseTargetTime("2026-11-28 10:05:00"), 1795860300.0);
}

TEST(TargetTime, Rejects) {
  for (const char* bad :
       {"", "yesterday", "2026-11-28", "2026-13-01 00:00:00", "2026-02-30 00:00:00", "2026-11-28 10:05",
        "2026-11-28 10:05:00.", "2026-11-28 10:05:00 CEST", "2026-11-28 10:05:00+2", "2026-11-28 25:00:00"}) {
    auto t = ParseTargetTime(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find("--target-time"), std::string::npos);
    }
  }
}

TEST(TargetTime, PgFormatRoundTrips) {
  EXPECT_EQ(PgTimestampUtc(1795860300.05), "2026-11-28 10:05:00.050000+00");
  EXPECT_EQ(PgTimestampUtc(1795860300.9999996), "2026-11-28 10:05:01.000000+00");
  EXPECT_NEAR(*ParseTargetTime(PgTimestampUtc(1795860300.25)), 1795860300.25, 1e-6);
}

TEST(RecoveryConf, QuotesForConfAndShell) {
  EXPECT_EQ(PgConfQuote("a'b\\c"), "'a''b\\\\c'");
  EXPECT_EQ(RestoreCommandWord("/srv/o'brien/100%"), "'/srv/o'\\''brien/100%%'");
  RecoveryConf c;
  c.binary = "/usr/bin/spacetime-backup";
  c.stage_dir = "/srv/o'brien/data.stb-wal-1a";
  c.target.kind = RecoveryTarget::kTime;
  c.target.time_unix = 1795860300.05;
  c.port = 5999;
  c.socket_dir = "/srv/o'brien/data.stb-run/sock";
  c.comment = "spacetime-backup restore x";
  std::string t = RecoveryConfText(c);
  // The shell word '/srv/o'\''brien/...' inside a conf literal: every ' doubled, \ doubled.
  EXPECT_NE(t.find("restore_command = '''/usr/bin/spacetime-backup'' wal-fetch --staging "
                   "''/srv/o''\\\\''''brien/data.stb-wal-1a'' %f %p'\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("recovery_target_time = '2026-11-28 10:05:00.050000+00'\n"), std::string::npos);
  EXPECT_NE(t.find("recovery_target_inclusive = 'on'\n"), std::string::npos);
  EXPECT_NE(t.find("recovery_target_timeline = 'latest'\n"), std::string::npos);
  EXPECT_NE(t.find("recovery_target_action = 'promote'\n"), std::string::npos);
  EXPECT_NE(t.find("archive_mode = 'off'\n"), std::string::npos);
  EXPECT_NE(t.find("port = '5999'\n"), std::string::npos);
  EXPECT_NE(t.find("listen_addresses = ''\n"), std::string::npos);
  EXPECT_NE(t.find("unix_socket_directories = '/srv/o''brien/data.stb-run/sock'\n"), std::string::npos);
  EXPECT_NE(t.find("synchronous_standby_names = ''\n"), std::string::npos);
  EXPECT_EQ(t.find("recovery_target_lsn"), std::string::npos);
}

TEST(RecoveryConf, TargetsAndInPlace) {
  RecoveryConf c;
  c.binary = "/b";
  c.stage_dir = "/s";
  c.scratch = false;
  c.archive_off = false;
  std::string latest = RecoveryConfText(c);
  EXPECT_EQ(latest.find("recovery_target ="), std::string::npos);
  EXPECT_EQ(latest.find("recovery_target_time ="), std::string::npos);
  EXPECT_EQ(latest.find("archive_mode"), std::string::npos);
  EXPECT_EQ(latest.find("port ="), std::string::npos);
  c.target.kind = RecoveryTarget::kImmediate;
  EXPECT_NE(RecoveryConfText(c).find("recovery_target = 'immediate'\n"), std::string::npos);
  c.target.kind = RecoveryTarget::kLsn;
  c.target.lsn = 0x2A000120;
  EXPECT_NE(RecoveryConfText(c).find("recovery_target_lsn = '0/2A000120'\n"), std::string::npos);
}

}  // namespace
}  // namespace stb
