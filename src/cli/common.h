// What every command shares: opening the repository with the configured key, printing the JSON
// report, and the component list in the guide's order.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "components/database/database.h"  // DatabaseOptionsOf (restore_cmd, until the restorer)
#include "components/redis/redis.h"        // RedisOptionsOf (likewise)
#include "config/settings.h"
#include "repository/repository.h"

namespace stb {

// The restore order (the guide's "Restore Process"): restore_cmd.cc only, until the restorer (the registry has it).
extern const std::vector<std::string> kRestoreOrder;

StatusOr<KeySource> LoadKey(const Settings& s);
StatusOr<std::unique_ptr<Repository>> OpenRepository(const Settings& s, const std::string& location);
// Prints "error: <message>" on stderr and logs it; returns the exit status (1).
int Fail(const Status& st);
// The message of the last Fail() of this process ("" if none): what a failure alert says.
std::string LastFailure();
void PrintJson(const nlohmann::json& j);

}  // namespace stb
