// The exporter's `/`: a small HTML status page for people (no JavaScript, no secrets): the last
// backup and its result per component, each location's state, recovery point and RTO against
// the targets, and the last drill, all from one catalog summary.
#pragma once

#include <string>

#include "catalog/catalog.h"
#include "monitor/metrics.h"

namespace stb {

// now: Unix seconds (ages are computed against it).
std::string RenderStatusPage(const CatalogSummary& summary, const MetricsInfo& info, double now);

// Text made safe for HTML element content and attribute values.
std::string HtmlEscape(const std::string& s);

}  // namespace stb
