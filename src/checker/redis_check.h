// Redis stream objects of a location (check, doc/design.md §2b): every name under redis/ parses,
// each chain's meta, events and base pieces agree, its segments run without an unexplained hole;
// with read_data every object is opened and its seal and content id verified.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "repository/redis_stream_store.h"
#include "storage/storage.h"

namespace stb {

struct RedisCheckOptions {
  bool read_data = false;
};

// Appends to errors (each naming the damaged object or chain) and warnings; report is the check
// report's "redis_stream" object.
void CheckRedisStream(const Repository& repo, Storage& from, const RedisCheckOptions& o,
                      std::vector<std::string>& errors, std::vector<std::string>& warnings, nlohmann::json& report);

}  // namespace stb
