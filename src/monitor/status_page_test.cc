// The status page shows each configured component's last result, each location's state, the
// recovery targets and the last drill, and escapes what it prints (errors come from outside).
#include "monitor/status_page.h"

#include <gtest/gtest.h>

namespace stb {
namespace {

bool Has(const std::string& page, const std::string& text) { return page.find(text) != std::string::npos; }

TEST(StatusPage, ShowsComponentsLocationsTargetsAndDrill) {
  CatalogSummary s;
  s.last_backup["player_saves"] = {"20240103_142530", "player_saves", "incremental", "success", 1704290730, 12, 4096};
  s.last_backup["database"] = {"20240103_142530", "database", "incremental", "failed", 1704290730, 3, 0};
  s.last_success_end[{"database", "full"}] = 1704200000;
  s.last_database_success_end = 1704200000;
  s.has_restore = true;
  s.last_restore_rto = 1200;
  s.replication["s3_primary"] = {false, "", "HTTP 503 <script>alert(1)</script>", "probe", 1704290800};
  s.has_drill = true;
  s.last_drill = {"restore_verify", "success", "20240103_142530", 1704290000, 42.5};
  MetricsInfo info{"0.1.0", 900, 300, {"s3_primary", "gcs_tertiary"}, {"database", "redis", "player_saves"}};
  std::string p = RenderStatusPage(s, info, 1704291000);
  EXPECT_TRUE(Has(p, "<td>database</td><td>20240103_142530</td><td>incremental</td><td class=\"bad\">failed</td>"));
  EXPECT_TRUE(Has(p, "<td class=\"ok\">success</td>"));
  EXPECT_TRUE(Has(p, "<td>redis</td><td class=\"none\">no backup yet</td>"));  // configured, never backed up
  EXPECT_TRUE(Has(p, "<td>s3_primary</td><td class=\"bad\">down</td>"));
  EXPECT_TRUE(Has(p, "<td>gcs_tertiary</td><td class=\"none\">unknown</td>"));
  EXPECT_TRUE(Has(p, "HTTP 503 &lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_FALSE(Has(p, "<script>"));
  EXPECT_TRUE(Has(p,
                  "recovery point (database)</td><td>300 s</td><td>25.3 h since the newest database backup</td>"
                  "<td class=\"bad\">missed</td>"));
  EXPECT_TRUE(Has(p, "recovery time (last restore)</td><td>900 s</td><td>1200.0 s</td><td class=\"bad\">missed</td>"));
  EXPECT_TRUE(Has(p, "<td>restore_verify</td><td class=\"ok\">success</td><td>20240103_142530</td>"));
}

TEST(StatusPage, AnEmptyCatalogSaysSo) {
  MetricsInfo info{"0.1.0", 900, 300, {}, {"player_saves"}};
  std::string p = RenderStatusPage(CatalogSummary{}, info, 1704291000);
  EXPECT_TRUE(Has(p, "no backup yet"));
  EXPECT_TRUE(Has(p, "no cloud location configured"));
  EXPECT_TRUE(Has(p, "no database backup"));
  EXPECT_TRUE(Has(p, "no drill yet"));
  EXPECT_TRUE(Has(p, "no recovery point recorded yet"));
}

TEST(StatusPage, RecoveryPointsPerComponentAndLocationAgainstTheRpo) {
  CatalogSummary s;
  s.recorded_points = {{{"redis", "local"}, 1704290900}, {{"redis", "s3_primary"}, 1704280000}};
  MetricsInfo info{"0.1.0", 900, 300, {"s3_primary"}, {"redis"}};
  std::string p = RenderStatusPage(s, info, 1704291000);
  EXPECT_TRUE(Has(p, "<table id=\"recovery_points\">"));
  EXPECT_TRUE(
      Has(p, "<td>redis</td><td>local</td><td>2024-01-03 14:08:20 UTC</td><td>100 s</td><td class=\"ok\">met</td>"))
      << p;
  EXPECT_TRUE(Has(p,
                  "<td>redis</td><td>s3_primary</td><td>2024-01-03 11:06:40 UTC</td><td>3.1 h</td>"
                  "<td class=\"bad\">missed</td>"))
      << p;
}

}  // namespace
}  // namespace stb
