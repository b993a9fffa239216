// Settings from a TOML file and the environment: numbers are checked, never cut or wrapped.
#include "config/settings.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

namespace stb {
namespace {

class ConfigFile {
 public:
  explicit ConfigFile(const std::string& text) {
    char tmpl[] = "/tmp/stb-settings-XXXXXX";
    int fd = mkstemp(tmpl);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = tmpl;
    std::ofstream(path_) << text;
  }
  ~ConfigFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

StatusOr<Settings> LoadText(const std::string& text) {
  ConfigFile f(text);
  return LoadSettings(f.path());
}

TEST(Settings, TomlNumbersAreRead) {
  auto s = LoadText("[database]\nport = 6543\nrestore_jobs = 3\n[redis]\nport = 7000\n[repository]\ncompression = 5\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->db_port, 6543);
  EXPECT_EQ(s->db_restore_jobs, 3);
  EXPECT_EQ(s->redis_port, 7000);
  EXPECT_EQ(s->compression, 5);
}

TEST(Settings, PhysicalBackupSettings) {
  auto s = LoadText("[database]\nbackup_method = \"physical\"\nwal_source = \"included\"\nwal_wait_seconds = 30\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->db_backup_method, "physical");
  EXPECT_EQ(s->db_wal_source, "included");
  EXPECT_EQ(s->db_wal_wait_seconds, 30);
  auto d = LoadText("");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->db_backup_method, "auto");
  EXPECT_EQ(d->db_wal_source, "auto");
  auto bad = LoadText("[database]\nbackup_method = \"basebackup\"\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("DB_BACKUP_METHOD must be auto, physical or logical"), std::string::npos);
  EXPECT_FALSE(LoadText("[database]\nwal_source = \"receive\"\n").ok());
  EXPECT_FALSE(LoadText("[database]\nwal_wait_seconds = 0\n").ok());
}

// 2^32 + 5432 used to be cut to an int and accepted as port 5432.
TEST(Settings, TomlNumbersOutOfRangeAreErrorsNotTruncated) {
  auto s = LoadText("[database]\nport = 4294972728\n");
  ASSERT_FALSE(s.ok()) << "accepted as port " << s->db_port;
  EXPECT_NE(s.status().message().find("database.port must be a whole number from 1 to 65535"), std::string::npos)
      << s.status().message();
  EXPECT_FALSE(LoadText("[redis]\nport = 70000\n").ok());
  EXPECT_FALSE(LoadText("[alerts]\nrpo_seconds = -1\n").ok());
  EXPECT_FALSE(LoadText("[repository]\nworkers = 9223372036854775807\n").ok());
}

TEST(Settings, TomlNumbersOfTheWrongTypeAreErrors) {
  auto s = LoadText("[database]\nport = \"5432\"\n");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_FALSE(LoadText("[repository]\ncompression = 2.5\n").ok());
}

TEST(Settings, MalformedTomlIsAnError) {
  Settings s;
  Status st = ApplyConfigText(s, "[database\nport = 1", "test.toml");
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("test.toml"), std::string::npos);
}

TEST(Settings, EnvironmentNumbersAreChecked) {
  ConfigFile empty("");
  setenv("REDIS_PORT", std::string(400, '9').c_str(), 1);
  auto s = LoadSettings(empty.path());
  unsetenv("REDIS_PORT");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("REDIS_PORT"), std::string::npos);
  EXPECT_LT(s.status().message().size(), 150u);
}

TEST(Settings, WalReceiveSettings) {
  ConfigFile cfg("[wal]\nslot = \"pitr_slot\"\nreceive_flush_ms = 250\n");
  setenv("WAL_RECEIVE_SYNC", "yes", 1);
  auto s = LoadSettings(cfg.path());
  unsetenv("WAL_RECEIVE_SYNC");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->wal_slot, "pitr_slot");
  EXPECT_EQ(s->wal_receive_flush_ms, 250);
  EXPECT_TRUE(s->wal_receive_sync);
  EXPECT_EQ(s->wal_receive_application_name, "spacetime_wal");
  // A slot name that would need quoting (or is refused by PostgreSQL) is refused here.
  setenv("WAL_SLOT", "Bad-Slot", 1);
  auto bad = LoadSettings(cfg.path());
  unsetenv("WAL_SLOT");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("WAL_SLOT"), std::string::npos);
}

TEST(Settings, CockroachNativeSchedule) {
  ConfigFile cfg("[database]\nincremental_interval = \"*/5 * * * *\"\n[cockroach]\nnative_schedule = true\n");
  auto s = LoadSettings(cfg.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->cockroach_native_schedule);
  setenv("COCKROACH_NATIVE_SCHEDULE", "maybe", 1);
  auto bad = LoadSettings(cfg.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("COCKROACH_NATIVE_SCHEDULE must be yes or no"), std::string::npos);
  setenv("COCKROACH_NATIVE_SCHEDULE", "yes", 1);
  setenv("DB_ENGINE", "postgresql", 1);
  setenv("DB_INCREMENTAL_INTERVAL", "", 1);
  auto pg = LoadSettings(cfg.path());
  unsetenv("DB_ENGINE");
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("COCKROACH_NATIVE_SCHEDULE is for CockroachDB"), std::string::npos)
      << pg.status().message();
  auto no_interval = LoadSettings(cfg.path());
  unsetenv("DB_INCREMENTAL_INTERVAL");
  unsetenv("COCKROACH_NATIVE_SCHEDULE");
  ASSERT_FALSE(no_interval.ok());
  EXPECT_NE(no_interval.status().message().find("needs DB_INCREMENTAL_INTERVAL"), std::string::npos);
}

TEST(Settings, DbIncrementalIntervalIsForCockroachOnly) {
  ConfigFile cfg("[database]\nincremental_interval = \"*/5 * * * *\"\n");
  auto s = LoadSettings(cfg.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->db_incremental_interval, "*/5 * * * *");
  setenv("DB_INCREMENTAL_INTERVAL", "", 1);  // "" = none
  auto none = LoadSettings(cfg.path());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->db_incremental_interval, "");
  setenv("DB_INCREMENTAL_INTERVAL", "*/5 * * * *", 1);
  setenv("DB_ENGINE", "postgres", 1);
  auto pg = LoadSettings(cfg.path());
  unsetenv("DB_ENGINE");
  unsetenv("DB_INCREMENTAL_INTERVAL");
  ASSERT_FALSE(pg.ok());
  EXPECT_NE(pg.status().message().find("BACKUP_STREAMS=wal-receive"), std::string::npos) << pg.status().message();
}

TEST(Settings, WalBehindThreshold) {
  ConfigFile cfg("[wal]\nbehind_mb = 256\n");
  auto s = LoadSettings(cfg.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->wal_behind_mb, 256);
  setenv("WAL_BEHIND_MB", "0", 1);
  auto bad = LoadSettings(cfg.path());
  unsetenv("WAL_BEHIND_MB");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("WAL_BEHIND_MB"), std::string::npos);
}

}  // namespace
}  // namespace stb
