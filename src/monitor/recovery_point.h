// The recovery point of each component in each location: the newest time to which a restore from
// that location alone brings the component (backup_recovery_point_seconds, status page, snapshots).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "catalog/catalog.h"

namespace stb {

using RecoveryPointKey = std::pair<std::string, std::string>;  // (component, location label)

// Pure over the summary:
// - every component: the newest recorded point of the location (table recovery_point: the
//   newest successful backup holding the component that the location holds, source "backup";
//   a stream capture that records its own rows, e.g. Redis, plugs in there with no change here);
// - database with WAL archiving (a PostgreSQL recovery window exists): at "local" the end of the
//   window; at a copy that holds a database backup, the window's end capped at when the copy
//   last stored WAL (both are WAL written times), when later than its backup.
// A (component, location) with no point is absent.
std::map<RecoveryPointKey, double> RecoveryPoints(const CatalogSummary& summary);

// A `schedule run db-incremental` run: its catalog row, and when it succeeded with a layer end
// (report "recovery_point_unix"), that time as the database's point (source "db-incremental") in
// each location it wrote (the CockroachDB collection's label), so that
// backup_recovery_point_seconds{component="database"} follows the incrementals.
Status RecordDbIncremental(Catalog& catalog, const BackupRecord& run, const nlohmann::json& report,
                           const std::vector<std::string>& locations);

}  // namespace stb
