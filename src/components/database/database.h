// The database component (components/component.h) over BackupDatabase/RestoreDatabase, and the
// database settings it reads.
#pragma once

#include <memory>

#include "components/component.h"
#include "components/database/database_component.h"
#include "config/settings.h"

namespace stb {

// The database settings, with CockroachDB's collection built from the configured locations and
// its encryption passphrase derived from the repository key.
StatusOr<DatabaseOptions> DatabaseOptionsOf(const Settings& s, const Repository& repo);

std::unique_ptr<Component> NewDatabaseComponent();

}  // namespace stb
