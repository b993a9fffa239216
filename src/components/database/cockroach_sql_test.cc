// Pins every statement the CockroachDB path sends (no cluster runs in the tests: see
// doc/configuration.md), the collection URIs, redaction, and engine detection.
#include "components/database/cockroach_sql.h"

#include <gtest/gtest.h>

#include "components/database/database_component.h"

namespace stb {
namespace {

TEST(CockroachSql, NodelocalCollection) {
  CrdbStorage st;
  st.path = "/spacetime-backup/database/";
  auto uri = CrdbCollectionUri(st);
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->sql, "nodelocal://1/spacetime-backup/database");
  EXPECT_EQ(uri->shown, uri->sql);
}

TEST(CockroachSql, S3CollectionCarriesCredentialsAndRedactsThem) {
  CrdbStorage st{"s3", "planetary-survival-backups-primary", "backups/primary/database", "", {}};
  st.params = {{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
               {"AWS_SECRET_ACCESS_KEY", "wJalr/K7MDENG+bPxRfiCY"},
               {"AWS_SESSION_TOKEN", "tok&en="},
               {"AWS_REGION", "us-east-1"},
               {"AWS_ENDPOINT", ""}};
  auto uri = CrdbCollectionUri(st);
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->sql,
            "s3://planetary-survival-backups-primary/backups/primary/database?AWS_ACCESS_KEY_ID=AKIDEXAMPLE"
            "&AWS_REGION=us-east-1&AWS_SECRET_ACCESS_KEY=wJalr%2FK7MDENG%2BbPxRfiCY&AWS_SESSION_TOKEN=tok%26en%3D");
  EXPECT_EQ(uri->shown,
            "s3://planetary-survival-backups-primary/backups/primary/database?AWS_ACCESS_KEY_ID=AKIDEXAMPLE"
            "&AWS_REGION=us-east-1&AWS_SECRET_ACCESS_KEY=redacted&AWS_SESSION_TOKEN=redacted");
}

TEST(CockroachSql, AzureAndGcsCollections) {
  CrdbStorage az{"azure", "planetary-survival-backups", "backups/secondary/database", "", {}};
  az.params = {{"AZURE_ACCOUNT_NAME", "spacetime"}, {"AZURE_ACCOUNT_KEY", "a2V5+/=="}};
  auto a = CrdbCollectionUri(az);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->sql,
            "azure-blob://planetary-survival-backups/backups/secondary/database?AZURE_ACCOUNT_KEY=a2V5%2B%2F%3D%3D"
            "&AZURE_ACCOUNT_NAME=spacetime");
  EXPECT_EQ(a->shown,
            "azure-blob://planetary-survival-backups/backups/secondary/database?AZURE_ACCOUNT_KEY=redacted"
            "&AZURE_ACCOUNT_NAME=spacetime");
  CrdbStorage gs{"gcs", "planetary-survival-backups-dr", "backups/tertiary/database", "", {}};
  gs.params = {{"AUTH", "specified"}, {"CREDENTIALS", "eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0="}};
  auto g = CrdbCollectionUri(gs);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->sql,
            "gs://planetary-survival-backups-dr/backups/tertiary/database?AUTH=specified"
            "&CREDENTIALS=eyJ0eXBlIjoic2VydmljZV9hY2NvdW50In0%3D");
  EXPECT_EQ(g->shown,
            "gs://planetary-survival-backups-dr/backups/tertiary/database?AUTH=specified&CREDENTIALS=redacted");
}

TEST(CockroachSql, CollectionErrorsNameTheSetting) {
  CrdbStorage s3{"s3", "", "x", "", {}};
  EXPECT_NE(CrdbCollectionUri(s3).status().message().find("BACKUP_S3_BUCKET"), std::string::npos);
  CrdbStorage bad{"ftp", "b", "x", "", {}};
  EXPECT_NE(CrdbCollectionUri(bad).status().message().find("COCKROACH_BACKUP_LOCATION"), std::string::npos);
  CrdbStorage raw{"uri", "", "", "not a uri", {}};
  EXPECT_NE(CrdbCollectionUri(raw).status().message().find("COCKROACH_BACKUP_URI"), std::string::npos);
}

TEST(CockroachSql, ExplicitUriIsRedactedIncludingUserinfo) {
  CrdbStorage raw{"uri", "", "", "s3://u:pa55@bucket/p?AWS_SECRET_ACCESS_KEY=s3cr3t&AWS_REGION=eu-west-1", {}};
  auto uri = CrdbCollectionUri(raw);
  ASSERT_TRUE(uri.ok());
  EXPECT_EQ(uri->sql, raw.uri);
  EXPECT_EQ(uri->shown, "s3://u:redacted@bucket/p?AWS_SECRET_ACCESS_KEY=redacted&AWS_REGION=eu-west-1");
}

CrdbStatement Collection() {
  return {"nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k", "nodelocal://1/b?AWS_SECRET_ACCESS_KEY=redacted"};
}

TEST(CockroachSql, FullBackupStatement) {
  CrdbBackupSpec spec{"planetary_survival", Collection(), "2024-01-03 14:25:20.123456", false, true, "p4ss'phrase"};
  CrdbStatement s = CrdbBackupSql(spec);
  EXPECT_EQ(s.sql,
            "BACKUP DATABASE \"planetary_survival\" INTO 'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k' AS OF SYSTEM TIME "
            "'2024-01-03 14:25:20.123456' WITH revision_history, encryption_passphrase = 'p4ss''phrase'");
  EXPECT_EQ(s.shown,
            "BACKUP DATABASE \"planetary_survival\" INTO 'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=redacted' AS OF SYSTEM "
            "TIME '2024-01-03 14:25:20.123456' WITH revision_history, encryption_passphrase = 'redacted'");
}

TEST(CockroachSql, IncrementalBackupStatement) {
  CrdbBackupSpec spec{"game", Collection(), "-10s", true, true, "pp"};
  EXPECT_EQ(CrdbBackupSql(spec).sql,
            "BACKUP DATABASE \"game\" INTO LATEST IN 'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k' AS OF SYSTEM TIME "
            "'-10s' WITH revision_history, encryption_passphrase = 'pp'");
  spec.revision_history = false;
  spec.passphrase = "";
  EXPECT_EQ(CrdbBackupSql(spec).sql,
            "BACKUP DATABASE \"game\" INTO LATEST IN 'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k' AS OF SYSTEM TIME "
            "'-10s'");
}

TEST(CockroachSql, RestoreStatements) {
  CrdbRestoreSpec spec{"planetary_survival",         "/2024/01/03-142530.12",        Collection(),
                       "2024-01-03 14:25:20.123456", "planetary_survival_restoring", "pp"};
  CrdbStatement s = CrdbRestoreSql(spec);
  EXPECT_EQ(s.sql,
            "RESTORE DATABASE \"planetary_survival\" FROM '/2024/01/03-142530.12' IN "
            "'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k' AS OF SYSTEM TIME '2024-01-03 14:25:20.123456' WITH "
            "new_db_name = 'planetary_survival_restoring', encryption_passphrase = 'pp'");
  EXPECT_EQ(s.shown.find("pp'"), std::string::npos);
  EXPECT_EQ(s.shown.find("=k'"), std::string::npos);
  spec.as_of = "";
  spec.new_db_name = "";
  spec.passphrase = "";
  EXPECT_EQ(CrdbRestoreSql(spec).sql,
            "RESTORE DATABASE \"planetary_survival\" FROM '/2024/01/03-142530.12' IN "
            "'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k'");
  EXPECT_EQ(CrdbShowBackupsSql(Collection()).sql, "SHOW BACKUPS IN 'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k'");
  EXPECT_EQ(CrdbShowBackupsSql(Collection()).shown, "SHOW BACKUPS IN 'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=redacted'");
}

TEST(CockroachSql, NativeScheduleStatements) {
  CrdbScheduleSpec spec{"spacetime_backup_game", "game", Collection(), "*/5 * * * *", "pp"};
  CrdbStatement s = CrdbCreateScheduleSql(spec);
  EXPECT_EQ(s.sql,
            "CREATE SCHEDULE IF NOT EXISTS 'spacetime_backup_game' FOR BACKUP DATABASE \"game\" INTO "
            "'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=k' WITH revision_history, encryption_passphrase = 'pp' RECURRING "
            "'*/5 * * * *' FULL BACKUP '@daily' WITH SCHEDULE OPTIONS first_run = 'now'");
  EXPECT_EQ(s.shown,
            "CREATE SCHEDULE IF NOT EXISTS 'spacetime_backup_game' FOR BACKUP DATABASE \"game\" INTO "
            "'nodelocal://1/b?AWS_SECRET_ACCESS_KEY=redacted' WITH revision_history, encryption_passphrase = "
            "'redacted' RECURRING '*/5 * * * *' FULL BACKUP '@daily' WITH SCHEDULE OPTIONS first_run = 'now'");
  EXPECT_EQ(CrdbShowScheduleSql("it's"),
            "SELECT id::STRING, label, schedule_status, next_run::STRING, state, recurrence FROM [SHOW SCHEDULES] "
            "WHERE label = 'it''s' ORDER BY created");
  EXPECT_EQ(CrdbScheduleLatestJobSql("l"),
            "SELECT job_id::STRING, status, finished::STRING, error FROM [SHOW JOBS FOR SCHEDULES SELECT id FROM "
            "[SHOW SCHEDULES] WHERE label = 'l'] ORDER BY created DESC LIMIT 1");
  EXPECT_EQ(CrdbGcTtlSql("a\"b"), "SELECT raw_config_sql FROM [SHOW ZONE CONFIGURATION FROM DATABASE \"a\"\"b\"]");
}

TEST(CockroachSql, HelperStatementsQuoteNames) {
  EXPECT_EQ(CrdbRenameDatabaseSql("game", "game_replaced"), "ALTER DATABASE \"game\" RENAME TO \"game_replaced\"");
  EXPECT_EQ(CrdbDropDatabaseSql("a\"b"), "DROP DATABASE \"a\"\"b\" CASCADE");
  EXPECT_EQ(CrdbDropDatabaseSql("x", true), "DROP DATABASE IF EXISTS \"x\" CASCADE");
  EXPECT_EQ(CrdbCountSql("game", "public", "players", "2024-01-03 14:25:20"),
            "SELECT count(*) FROM \"game\".\"public\".\"players\" AS OF SYSTEM TIME '2024-01-03 14:25:20'");
  EXPECT_EQ(CrdbCountSql("game", "public", "players", ""), "SELECT count(*) FROM \"game\".\"public\".\"players\"");
  EXPECT_EQ(CrdbListTablesSql("game"),
            "SELECT table_schema, table_name FROM \"game\".information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema', 'crdb_internal', 'pg_extension') ORDER BY "
            "1, 2");
}

TEST(DatabaseEngine, DetectedFromVersion) {
  const std::string crdb = "CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built 2023/09/27 01:53:43, go1.19.10)";
  const std::string pg = "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu";
  EXPECT_EQ(*ResolveEngine(crdb, ""), "cockroachdb");
  EXPECT_EQ(*ResolveEngine(pg, ""), "postgresql");
  EXPECT_EQ(*ResolveEngine(pg, "postgresql"), "postgresql");
  auto mismatch = ResolveEngine(pg, "cockroachdb");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("DB_ENGINE"), std::string::npos);
  EXPECT_NE(mismatch.status().message().find("PostgreSQL 15.18"), std::string::npos);
}

TEST(DatabaseErrors, ConnectErrorsNameTheSetting) {
  DbEndpoint ep{"db.example", 26257, "planetary_survival", "backup_user", "hunter22", ""};
  auto has = [&](const std::string& libpq, const char* setting) {
    std::string m = ExplainConnectError(libpq, ep, "");
    EXPECT_NE(m.find(setting), std::string::npos) << m;
    EXPECT_EQ(m.find("hunter22"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  };
  has("connection to server at \"db.example\" (10.0.0.1), port 26257 failed: Connection refused\n\tIs the server "
      "running on that host and accepting TCP/IP connections?\n",
      "DB_PORT");
  has("could not translate host name \"db.example\" to address: Name or service not known\n", "DB_HOST");
  has("connection to server at \"db.example\" failed: FATAL:  password authentication failed for user "
      "\"backup_user\"\n",
      "DB_PASSWORD");
  has("connection to server at \"db.example\" failed: FATAL:  database \"planetary_survival\" does not exist\n",
      "DB_NAME");
  has("connection to server failed: FATAL:  role \"backup_user\" does not exist\n", "DB_USER");
  has("connection to server failed: SSL error: certificate verify failed\n", "DB_SSLMODE");
  has("timeout expired\n", "DB_HOST");
}

TEST(DatabaseEndpoint, LibpqEnvCarriesThePasswordOnlyInTheEnvironment) {
  DbEndpoint ep{"127.0.0.1", 5433, "game", "postgres", "hunter22", "require"};
  auto env = ep.LibpqEnv("other");
  std::map<std::string, std::string> m(env.begin(), env.end());
  EXPECT_EQ(m["PGHOST"], "127.0.0.1");
  EXPECT_EQ(m["PGPORT"], "5433");
  EXPECT_EQ(m["PGDATABASE"], "other");
  EXPECT_EQ(m["PGPASSWORD"], "hunter22");
  EXPECT_EQ(m["PGSSLMODE"], "require");
  EXPECT_EQ(ep.Describe(), "postgres@127.0.0.1:5433/game");
}

}  // namespace
}  // namespace stb
