// What every command shares: opening the repository with the configured key, failing with one
// error line, and printing the JSON report.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/settings.h"
#include "repository/repository.h"

namespace stb {

StatusOr<KeySource> LoadKey(const Settings& s);
StatusOr<std::unique_ptr<Repository>> OpenRepository(const Settings& s, const std::string& location);
// Prints "error: <message>" on stderr and logs it; returns the exit status (1).
int Fail(const Status& st);
// The message of the last Fail() of this process ("" if none): what a failure alert says.
std::string LastFailure();
void PrintJson(const nlohmann::json& j);

}  // namespace stb
