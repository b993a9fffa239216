// Restore of a physical PostgreSQL backup (snapshot entry kind "postgresql-physical", or a base
// backup already laid down in a directory): plan, lay down, then point-in-time recovery
// (pg_recovery) with the settings and the restore command's options.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "components/component.h"
#include "components/database/pg_recovery.h"
#include "config/settings.h"
#include "core/progress.h"

namespace stb {

StatusOr<RecoveryTarget> RecoveryTargetOf(const RestoreOptions& o);
PgRecoveryOptions PgRecoveryOptionsOf(const Settings& s, const RestoreOptions& o);

// A base backup laid down in dir by other means (pg_basebackup -X none): its backup_label,
// pg_control and PG_VERSION give the start, the cluster and the major version.
nlohmann::json RecoverLaidDown(const Repository& repo, Storage& from, const std::string& dir, const Settings& s,
                               const RestoreOptions& o);

// An entry of kind "postgresql-physical".
nlohmann::json RestorePhysical(Repository& repo, const nlohmann::json& entry, const Settings& s,
                               const RestoreOptions& o, Progress& progress);

}  // namespace stb
