#include "monitor/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include "monitor/recovery_point.h"

namespace stb {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Writer {
 public:
  void Family(const char* name, const char* type, const char* help) {
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const char* name, const Labels& labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += "{";
      for (size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ",";
        out_ += labels[i].first + "=\"" + EscapeLabelValue(labels[i].second) + "\"";
      }
      out_ += "}";
    }
    out_ += " " + FormatMetricValue(value) + "\n";
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back exactly
  return std::string(buf, r.ptr);
}

std::string EscapeLabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string RenderMetrics(const CatalogSummary& s, const MetricsInfo& info, double now) {
  Writer w;
  w.Family("backup_last_success_timestamp_seconds", "gauge",
           "Unix time at which the last successful backup of the component and type finished.");
  for (const auto& [k, t] : s.last_success_end) {
    w.Sample("backup_last_success_timestamp_seconds", {{"component", k.first}, {"type", k.second}}, t);
  }

  w.Family("backup_completed_total", "counter", "Backups of each component finished, by status and type.");
  // Every (component, type) seen gets a success and a failed series, at 0 when none happened, so
  // the first failure is an increase that increase() and alerts see.
  auto completed = s.completed;
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& [k, n] : s.completed) seen.insert({std::get<0>(k), std::get<2>(k)});
  for (const auto& [comp, type] : seen) {
    for (const char* status : {"success", "failed"}) completed.try_emplace({comp, status, type}, 0);
  }
  for (const auto& [k, n] : completed) {
    w.Sample("backup_completed_total",
             {{"component", std::get<0>(k)}, {"status", std::get<1>(k)}, {"type", std::get<2>(k)}},
             static_cast<double>(n));
  }

  w.Family("backup_duration_seconds", "gauge", "Duration of the last successful backup of the component and type.");
  for (const auto& [k, d] : s.last_success_duration) {
    w.Sample("backup_duration_seconds", {{"component", k.first}, {"type", k.second}}, d);
  }

  w.Family("backup_size_bytes", "gauge", "Size of the component in its last successful backup.");
  for (const auto& [comp, size] : s.last_size) {
    w.Sample("backup_size_bytes", {{"component", comp}}, static_cast<double>(size));
  }

  w.Family("backup_storage_replication_status", "gauge",
           "1 when the location is reachable and holds the newest backup, else 0.");
  for (const auto& label : info.location_labels) {
    auto it = s.replication.find(label);
    w.Sample("backup_storage_replication_status", {{"location", label}},
             it != s.replication.end() && it->second.ok ? 1 : 0);
  }

  w.Family("backup_restore_duration_seconds", "gauge",
           "Recovery time (rto_seconds) of the last successful restore, drills included.");
  if (s.has_restore) w.Sample("backup_restore_duration_seconds", {}, s.last_restore_rto);

  // With WAL archiving the recovery point is the newest WAL stored, per location; without it,
  // the newest database backup.
  w.Family("transaction_log_lag_seconds", "gauge",
           "Age of the newest WAL stored, by location (WAL archiving); else of the newest successful database "
           "backup.");
  if (!s.wal_stored_at.empty()) {
    for (const auto& [location, at] : s.wal_stored_at) {
      w.Sample("transaction_log_lag_seconds", {{"location", location}}, std::max(0.0, now - at));
    }
  } else if (s.last_database_success_end > 0) {
    w.Sample("transaction_log_lag_seconds", {}, std::max(0.0, now - s.last_database_success_end));
  }

  w.Family("backup_recovery_window_seconds", "gauge",
           "Length of the point-in-time recovery window of each PostgreSQL cluster: from the oldest kept physical "
           "backup to the newest contiguous WAL.");
  for (const auto& [cluster, window] : s.recovery_window) {
    w.Sample("backup_recovery_window_seconds", {{"cluster", cluster}}, std::max(0.0, window.second - window.first));
  }

  w.Family("backup_recovery_point_seconds", "gauge",
           "Age of the newest point to which a restore from the location alone brings the component (its RPO "
           "now).");
  for (const auto& [key, point] : RecoveryPoints(s)) {
    w.Sample("backup_recovery_point_seconds", {{"component", key.first}, {"location", key.second}},
             std::max(0.0, now - point));
  }
  w.Family("backup_target_rpo_seconds", "gauge", "The recovery point objective (BACKUP_RPO_SECONDS).");
  w.Sample("backup_target_rpo_seconds", {}, info.target_rpo_seconds);

  w.Family("dr_test_completed_total", "counter",
           "Disaster-recovery drills (dr-test) finished, by scenario and status.");
  auto drills = s.drills;
  for (const auto& [k, n] : s.drills) {
    for (const char* status : {"success", "failed"}) drills.try_emplace({k.first, status}, 0);
  }
  for (const auto& [k, n] : drills) {
    w.Sample("dr_test_completed_total", {{"scenario", k.first}, {"status", k.second}}, static_cast<double>(n));
  }

  w.Family("dr_test_recovery_point_seconds", "gauge",
           "How far before its start the newest drill recovered each component (drill start - recovered_to).");
  for (const auto& [comp, seconds] : s.drill_recovery_point_seconds) {
    w.Sample("dr_test_recovery_point_seconds", {{"component", comp}}, seconds);
  }

  w.Family("backup_system_info", "gauge", "Version and recovery targets (seconds) of the backup system.");
  w.Sample("backup_system_info",
           {{"version", info.version},
            {"target_rto", std::to_string(info.target_rto_seconds)},
            {"target_rpo", std::to_string(info.target_rpo_seconds)}},
           1);
  return w.Take();
}

}  // namespace stb
