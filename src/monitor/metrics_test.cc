// The /metrics text: every family of the guide with HELP and TYPE, the exact names and labels,
// values from a catalog summary, zero series for first failures, label escaping; --listen parsing.
#include "monitor/metrics.h"

#include <gtest/gtest.h>

#include "monitor/exporter.h"

namespace stb {
namespace {

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

CatalogSummary Sample() {
  CatalogSummary s;
  s.last_success_end[{"database", "full"}] = 1704292000.5;
  s.last_success_duration[{"database", "full"}] = 245.5;
  s.last_size["database"] = 5368709120;
  s.completed[{"database", "success", "full"}] = 3;
  s.completed[{"player_saves", "failed", "incremental"}] = 2;
  s.last_database_success_end = 1704292000.5;
  s.has_restore = true;
  s.last_restore_rto = 815.531265;
  s.drills[{"restore_verify", "success"}] = 4;
  s.replication["s3_primary"] = {true, "20240103_142530", "", "replicate", 1};
  s.replication["azure_secondary"] = {false, "", "HTTP 503", "probe", 2};
  return s;
}

TEST(Metrics, EveryFamilyOfTheGuideWithHelpAndType) {
  MetricsInfo info{"0.1.0", 900, 300, {"s3_primary", "azure_secondary", "gcs_tertiary"}};
  std::string t = RenderMetrics(Sample(), info, 1704292300.5);
  for (const auto& [name, type] :
       std::vector<std::pair<std::string, std::string>>{{"backup_last_success_timestamp_seconds", "gauge"},
                                                        {"backup_completed_total", "counter"},
                                                        {"backup_duration_seconds", "gauge"},
                                                        {"backup_size_bytes", "gauge"},
                                                        {"backup_storage_replication_status", "gauge"},
                                                        {"backup_restore_duration_seconds", "gauge"},
                                                        {"transaction_log_lag_seconds", "gauge"},
                                                        {"dr_test_completed_total", "counter"},
                                                        {"backup_system_info", "gauge"}}) {
    EXPECT_NE(t.find("# HELP " + name + " "), std::string::npos) << name;
    EXPECT_TRUE(Has(t, "# TYPE " + name + " " + type)) << name;
  }
  EXPECT_TRUE(Has(t, R"(backup_last_success_timestamp_seconds{component="database",type="full"} 1704292000.5)")) << t;
  EXPECT_TRUE(Has(t, R"(backup_completed_total{component="database",status="success",type="full"} 3)"));
  EXPECT_TRUE(Has(t, R"(backup_completed_total{component="player_saves",status="failed",type="incremental"} 2)"));
  EXPECT_TRUE(Has(t, R"(backup_duration_seconds{component="database",type="full"} 245.5)"));
  EXPECT_TRUE(Has(t, R"(backup_size_bytes{component="database"} 5368709120)"));
  EXPECT_TRUE(Has(t, R"(backup_storage_replication_status{location="s3_primary"} 1)"));
  EXPECT_TRUE(Has(t, R"(backup_storage_replication_status{location="azure_secondary"} 0)"));
  EXPECT_TRUE(Has(t, R"(backup_storage_replication_status{location="gcs_tertiary"} 0)"));  // never checked
  EXPECT_TRUE(Has(t, "backup_restore_duration_seconds 815.531265"));
  EXPECT_TRUE(Has(t, "transaction_log_lag_seconds 300"));
  EXPECT_TRUE(Has(t, R"(dr_test_completed_total{scenario="restore_verify",status="success"} 4)"));
  EXPECT_TRUE(Has(t, R"(backup_system_info{version="0.1.0",target_rto="900",target_rpo="300"} 1)"));
  // The error text of a location is never exported (operators read it in the log).
  EXPECT_EQ(t.find("HTTP 503"), std::string::npos);
}

// A first failure must be an increase: the series exists at 0 before it.
TEST(Metrics, ZeroSeriesForStatusesNotSeenYet) {
  std::string t = RenderMetrics(Sample(), MetricsInfo{"1", 900, 300, {}}, 0);
  EXPECT_TRUE(Has(t, R"(backup_completed_total{component="database",status="failed",type="full"} 0)")) << t;
  EXPECT_TRUE(Has(t, R"(backup_completed_total{component="player_saves",status="success",type="incremental"} 0)"));
  EXPECT_TRUE(Has(t, R"(dr_test_completed_total{scenario="restore_verify",status="failed"} 0)"));
  EXPECT_EQ(t.find("backup_storage_replication_status{"), std::string::npos);  // no cloud location configured
}

// Only configuration: backup_system_info and backup_target_rpo_seconds.
TEST(Metrics, EmptyCatalogHasOnlyTheConfigurationSamples) {
  std::string t = RenderMetrics(CatalogSummary{}, MetricsInfo{"1", 900, 300, {}}, 100);
  int samples = 0;
  size_t pos = 0;
  while ((pos = t.find('\n', pos)) != std::string::npos) {
    ++pos;
    if (pos < t.size() && t[pos] != '#') ++samples;
  }
  EXPECT_EQ(samples, 2) << t;
  EXPECT_NE(t.find("\nbackup_target_rpo_seconds 300\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("transaction_log_lag_seconds 1"), std::string::npos);
  EXPECT_EQ(t.find("backup_restore_duration_seconds 0"), std::string::npos);
}

TEST(Metrics, ValuesAndEscaping) {
  EXPECT_EQ(FormatMetricValue(3), "3");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(1704292000.123456), "1704292000.123456");
  EXPECT_EQ(FormatMetricValue(5368709120.0), "5368709120");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(Listen, AcceptedForms) {
  auto a = ParseListen("127.0.0.1:9091");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9091);
  a = ParseListen(":9091");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  a = ParseListen("9092");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 9092);
  a = ParseListen("[::1]:9091");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  a = ParseListen("localhost:80");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "localhost");
}

TEST(Listen, RejectedForms) {
  for (const char* bad : {"", ":", "abc", "127.0.0.1:", "127.0.0.1:0", ":65536", ":99999999", "1.2.3.4:90x", "::1:80",
                          "[::1]9091", "-1"}) {
    auto a = ParseListen(bad);
    EXPECT_FALSE(a.ok()) << bad;
    if (!a.ok()) {
      EXPECT_NE(a.status().message().find("--listen"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace stb

namespace stb {
namespace {

// With WAL archiving the recovery point is the newest WAL stored in each location, not the last
// backup; the recovery window is the catalog's, per cluster.
TEST(Metrics, WalArchivingLagByLocationAndRecoveryWindow) {
  CatalogSummary s;
  s.last_database_success_end = 1000;
  std::string t = RenderMetrics(s, MetricsInfo{"1", 900, 300, {}}, 1300);
  EXPECT_TRUE(Has(t, "transaction_log_lag_seconds 300")) << t;  // no WAL archived: the backup's age
  s.wal_stored_at = {{"local", 1290}, {"s3_primary", 1250.5}};
  s.recovery_window["abcdef0123456789"] = {1000, 1290};
  t = RenderMetrics(s, MetricsInfo{"1", 900, 300, {}}, 1300);
  EXPECT_TRUE(Has(t, R"(transaction_log_lag_seconds{location="local"} 10)")) << t;
  EXPECT_TRUE(Has(t, R"(transaction_log_lag_seconds{location="s3_primary"} 49.5)")) << t;
  EXPECT_FALSE(Has(t, "transaction_log_lag_seconds 300")) << t;
  EXPECT_TRUE(Has(t, R"(backup_recovery_window_seconds{cluster="abcdef0123456789"} 290)")) << t;
  EXPECT_TRUE(Has(t, "# TYPE backup_recovery_window_seconds gauge")) << t;
}

// now - the point, per component and location; the target beside it so PromQL can compare.
TEST(Metrics, RecoveryPointPerComponentAndLocationWithTheTarget) {
  CatalogSummary s;
  s.recorded_points = {{{"redis", "local"}, 1000}, {{"redis", "s3_primary"}, 700}, {{"database", "local"}, 1000}};
  s.wal_stored_at = {{"local", 1290}};
  s.recovery_window["c1"] = {900, 1290};
  std::string t = RenderMetrics(s, MetricsInfo{"1", 900, 300, {}}, 1300);
  EXPECT_TRUE(Has(t, "# TYPE backup_recovery_point_seconds gauge")) << t;
  EXPECT_TRUE(Has(t, R"(backup_recovery_point_seconds{component="redis",location="local"} 300)")) << t;
  EXPECT_TRUE(Has(t, R"(backup_recovery_point_seconds{component="redis",location="s3_primary"} 600)")) << t;
  EXPECT_TRUE(Has(t, R"(backup_recovery_point_seconds{component="database",location="local"} 10)")) << t;
  EXPECT_TRUE(Has(t, "# TYPE backup_target_rpo_seconds gauge")) << t;
  EXPECT_TRUE(Has(t, "backup_target_rpo_seconds 300")) << t;
  s.drill_recovery_point_seconds = {{"database", 42.5}, {"redis", 3600}};
  t = RenderMetrics(s, MetricsInfo{"1", 900, 300, {}}, 1300);
  EXPECT_TRUE(Has(t, "# TYPE dr_test_recovery_point_seconds gauge")) << t;
  EXPECT_TRUE(Has(t, R"(dr_test_recovery_point_seconds{component="database"} 42.5)")) << t;
  EXPECT_TRUE(Has(t, R"(dr_test_recovery_point_seconds{component="redis"} 3600)")) << t;
}

}  // namespace
}  // namespace stb
