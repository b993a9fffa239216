#include "monitor/status_page.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "monitor/recovery_point.h"

namespace stb {

namespace {

std::string Utc(double unix_seconds) {
  if (unix_seconds <= 0) return "never";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string Age(double seconds) {
  if (seconds < 0) seconds = 0;
  char buf[32];
  if (seconds < 120) {
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  } else if (seconds < 7200) {
    std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
  } else if (seconds < 2 * 86400) {
    std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f days", seconds / 86400);
  }
  return buf;
}

std::string Bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

// A status cell: its class colours it (ok, bad, none).
std::string Cell(const std::string& cls, const std::string& text) {
  return "<td class=\"" + cls + "\">" + HtmlEscape(text) + "</td>";
}

}  // namespace

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderStatusPage(const CatalogSummary& s, const MetricsInfo& info, double now) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>spacetime-backup status</title>\n"
      "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1.5em}"
      "th,td{border:1px solid #bbb;padding:4px 10px;text-align:left}th{background:#eee}"
      ".ok{background:#d8f5d0}.bad{background:#f8d0d0}.none{background:#eee;color:#666}</style></head><body>\n";
  h += "<h1>spacetime-backup</h1>\n<p>Version " + HtmlEscape(info.version) + " &middot; generated " + Utc(now) +
       " &middot; targets: RTO " + std::to_string(info.target_rto_seconds) + " s, RPO " +
       std::to_string(info.target_rpo_seconds) + " s</p>\n";

  // Components: the configured ones, in backup order, then any others the catalog knows.
  std::vector<std::string> comps = info.components;
  for (const auto& [c, r] : s.last_backup) {
    if (std::find(comps.begin(), comps.end(), c) == comps.end()) comps.push_back(c);
  }
  h += "<h2>Components</h2>\n<table id=\"components\"><tr><th>component</th><th>last backup</th><th>type</th>"
       "<th>result</th><th>when</th><th>size</th><th>last success</th></tr>\n";
  for (const auto& c : comps) {
    h += "<tr><td>" + HtmlEscape(c) + "</td>";
    auto it = s.last_backup.find(c);
    if (it == s.last_backup.end()) {
      h += Cell("none", "no backup yet") + "<td></td><td></td><td></td><td></td><td></td></tr>\n";
      continue;
    }
    const BackupRecord& r = it->second;
    double last_ok = 0;
    for (const auto& [key, end] : s.last_success_end) {
      if (key.first == c) last_ok = std::max(last_ok, end);
    }
    std::string cls = r.status == "success" ? "ok" : r.status == "failed" ? "bad" : "none";
    h += "<td>" + HtmlEscape(r.backup_id) + "</td><td>" + HtmlEscape(r.type) + "</td>" + Cell(cls, r.status) + "<td>" +
         Utc(r.start_time) + " (" + Age(now - r.start_time) + " ago)</td><td>" + Bytes(r.size_bytes) + "</td><td>" +
         (last_ok > 0 ? Utc(last_ok) : "never") + "</td></tr>\n";
  }
  h += "</table>\n";

  // Locations: local is the repository itself; the cloud copies by their last word.
  std::set<std::string> labels(info.location_labels.begin(), info.location_labels.end());
  for (const auto& [l, st] : s.replication) labels.insert(l);
  h += "<h2>Locations</h2>\n<table id=\"locations\"><tr><th>location</th><th>state</th><th>newest backup</th>"
       "<th>checked</th><th>by</th><th>error</th></tr>\n";
  if (labels.empty()) h += "<tr><td>local only</td>" + Cell("none", "no cloud location configured") + "</tr>\n";
  for (const auto& l : labels) {
    auto it = s.replication.find(l);
    h += "<tr><td>" + HtmlEscape(l) + "</td>";
    if (it == s.replication.end()) {
      h += Cell("none", "unknown") + "<td></td><td></td><td></td><td></td></tr>\n";
      continue;
    }
    const ReplicationState& st = it->second;
    h += Cell(st.ok ? "ok" : "bad", st.ok ? "up" : "down") + "<td>" + HtmlEscape(st.backup_id) + "</td><td>" +
         Utc(st.time) + "</td><td>" + HtmlEscape(st.source) + "</td><td>" + HtmlEscape(st.error) + "</td></tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Recovery targets</h2>\n<table id=\"targets\"><tr><th>objective</th><th>target</th><th>now</th>"
       "<th>state</th></tr>\n";
  if (s.last_database_success_end > 0) {
    double age = now - s.last_database_success_end;
    bool ok = age <= info.target_rpo_seconds;
    h += "<tr><td>recovery point (database)</td><td>" + std::to_string(info.target_rpo_seconds) + " s</td><td>" +
         Age(age) + " since the newest database backup</td>" + Cell(ok ? "ok" : "bad", ok ? "met" : "missed") +
         "</tr>\n";
  } else {
    // A configured database that was never backed up has missed its recovery point.
    bool configured = std::find(info.components.begin(), info.components.end(), "database") != info.components.end();
    h += "<tr><td>recovery point (database)</td><td>" + std::to_string(info.target_rpo_seconds) +
         " s</td><td>no database backup</td>" + (configured ? Cell("bad", "missed") : Cell("none", "unknown")) +
         "</tr>\n";
  }
  if (s.has_restore) {
    bool ok = s.last_restore_rto <= info.target_rto_seconds;
    char rto[32];
    std::snprintf(rto, sizeof rto, "%.1f s", s.last_restore_rto);
    h += "<tr><td>recovery time (last restore)</td><td>" + std::to_string(info.target_rto_seconds) + " s</td><td>" +
         rto + "</td>" + Cell(ok ? "ok" : "bad", ok ? "met" : "missed") + "</tr>\n";
  } else {
    h += "<tr><td>recovery time (last restore)</td><td>" + std::to_string(info.target_rto_seconds) +
         " s</td><td>no restore yet</td>" + Cell("none", "unknown") + "</tr>\n";
  }
  h += "</table>\n";

  // Per component and location: how far back a restore from that location alone goes.
  h += "<h2>Recovery points</h2>\n<table id=\"recovery_points\"><tr><th>component</th><th>location</th>"
       "<th>recovers to</th><th>age</th><th>state</th></tr>\n";
  auto points = RecoveryPoints(s);
  if (points.empty())
    h += "<tr>" + Cell("none", "no recovery point recorded yet") + "<td></td><td></td><td></td></tr>\n";
  for (const auto& [key, at] : points) {
    bool ok = now - at <= info.target_rpo_seconds;
    h += "<tr><td>" + HtmlEscape(key.first) + "</td><td>" + HtmlEscape(key.second) + "</td><td>" + Utc(at) +
         "</td><td>" + Age(now - at) + "</td>" + Cell(ok ? "ok" : "bad", ok ? "met" : "missed") + "</tr>\n";
  }
  h += "</table>\n";

  h += "<h2>Last drill</h2>\n<table id=\"drill\"><tr><th>scenario</th><th>result</th><th>backup</th><th>when</th>"
       "<th>duration</th></tr>\n";
  if (s.has_drill) {
    const DrillRecord& d = s.last_drill;
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.1f s", d.duration_seconds);
    h += "<tr><td>" + HtmlEscape(d.scenario) + "</td>" + Cell(d.status == "success" ? "ok" : "bad", d.status) + "<td>" +
         HtmlEscape(d.backup_id) + "</td><td>" + Utc(d.start_time) + "</td><td>" + dur + "</td></tr>\n";
  } else {
    h += "<tr>" + Cell("none", "no drill yet") + "<td></td><td></td><td></td><td></td></tr>\n";
  }
  h += "</table>\n<p>Metrics for Prometheus: <a href=\"/metrics\">/metrics</a> &middot; <a href=\"/healthz\">"
       "/healthz</a></p>\n</body></html>\n";
  return h;
}

}  // namespace stb
