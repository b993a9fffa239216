// What every command shares: opening the repository with the configured key, printing the JSON
// report, and the component list in the guide's order.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "components/database/database_component.h"
#include "components/redis/redis_component.h"
#include "config/settings.h"
#include "repository/repository.h"

namespace stb {

// Backup order (the guide's "What's included") and restore order (its "Restore Process").
extern const std::vector<std::string> kBackupOrder;
extern const std::vector<std::string> kRestoreOrder;

StatusOr<KeySource> LoadKey(const Settings& s);
StatusOr<std::unique_ptr<Repository>> OpenRepository(const Settings& s, const std::string& location);
// Prints "error: <message>" on stderr and logs it; returns the exit status (1).
int Fail(const Status& st);
// The message of the last Fail() of this process ("" if none): what a failure alert says.
std::string LastFailure();
void PrintJson(const nlohmann::json& j);
RedisOptions RedisOptionsOf(const Settings& s);
// The database settings, with CockroachDB's collection built from the configured locations and
// its encryption passphrase derived from the repository key.
StatusOr<DatabaseOptions> DatabaseOptionsOf(const Settings& s, const Repository& repo);

}  // namespace stb
