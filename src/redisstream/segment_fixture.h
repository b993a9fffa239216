// Test helpers for the restore's tests: RESP commands and stream segments built from batches of
// bytes with their arrival times (one time-index entry at the start of each batch, as the capture writes).
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "repository/redis_stream_store.h"

namespace stb::testing {

inline std::string Cmd(std::initializer_list<std::string> args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

inline RedisStreamObject Seg(uint64_t start, int32_t db, uint32_t depth,
                             std::vector<std::pair<std::string, int64_t>> batches) {
  RedisStreamObject o;
  o.start = start;
  o.db = db;
  o.multi_depth = depth;
  for (const auto& [bytes, ms] : batches) {
    o.time_index.push_back({static_cast<uint32_t>(o.raw.size()), ms});
    o.raw.insert(o.raw.end(), bytes.begin(), bytes.end());
  }
  o.end = start + o.raw.size();
  o.first_arrival_ms = batches.front().second;
  o.last_arrival_ms = batches.back().second;
  return o;
}

}  // namespace stb::testing
