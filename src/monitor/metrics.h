// The exporter's /metrics text: the operations guide's metric families, with HELP and TYPE, in
// the Prometheus text exposition format 0.0.4, computed from a catalog summary.
#pragma once

#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace stb {

struct MetricsInfo {
  std::string version;                       // backup_system_info{version}
  int target_rto_seconds = 900;              // the guide's RTO
  int target_rpo_seconds = 300;              // BACKUP_RPO_SECONDS
  std::vector<std::string> location_labels;  // configured cloud locations: s3_primary, azure_secondary, ...
  std::vector<std::string> components;       // configured components, in backup order (the status page)
};

// now: Unix seconds (transaction_log_lag_seconds = now - the newest successful database backup).
std::string RenderMetrics(const CatalogSummary& summary, const MetricsInfo& info, double now);

// A sample value as Prometheus reads it: integers without a fraction, others in shortest form.
std::string FormatMetricValue(double v);
// A label value with \, " and newline escaped.
std::string EscapeLabelValue(const std::string& v);

}  // namespace stb
