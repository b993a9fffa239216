// What a CockroachDB server (or anything answering on its port) sends back for the restore to a
// time and the native schedule: timestamps, HLCs, SHOW BACKUP rows, job rows, SHOW SCHEDULES /
// SHOW JOBS rows and zone configurations. Any bytes: an error or a sane value.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "components/database/cockroach_results.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  auto t = stb::ParseCrdbTimestamp(in);
  if (t.ok() && !std::isfinite(*t)) abort();
  auto h = stb::ParseCrdbHlc(in);
  if (h.ok() && (*h < 0 || !std::isfinite(*h))) abort();
  // The input split on '|' into cells (an empty cell: NULL), rows of three for SHOW BACKUP.
  std::vector<std::optional<std::string>> cells;
  size_t start = 0;
  while (start <= in.size()) {
    size_t bar = in.find('|', start);
    std::string cell = in.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    cells.push_back(cell.empty() ? std::nullopt : std::optional(cell));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  std::vector<stb::CrdbRow> rows;
  for (size_t i = 0; i + 3 <= cells.size(); i += 3) rows.push_back({cells[i], cells[i + 1], cells[i + 2]});
  auto layers = stb::ParseBackupLayers(rows);
  if (layers.ok()) {
    if (layers->empty() || !layers->front().full) abort();
    std::vector<stb::CrdbChain> chains = {{"x", *layers}};
    auto c = stb::ChooseCrdbChain(chains, layers->back().end_unix);
    if (!c.ok()) abort();  // a chain always holds its own newest end
  }
  (void)stb::ParseJobRow(cells);
  (void)stb::ParseShowBackups(rows);
  // COCKROACH_NATIVE_SCHEDULE's SHOW SCHEDULES rows (six cells) and newest job (four), and the
  // zone configuration's gc.ttlseconds.
  std::vector<stb::CrdbRow> six;
  for (size_t i = 0; i + 6 <= cells.size(); i += 6) six.push_back({cells.begin() + i, cells.begin() + i + 6});
  auto schedules = stb::ParseSchedules(six);
  if (schedules.ok() && schedules->size() != six.size()) abort();
  auto job = stb::ParseScheduleJob(cells);
  if (job.ok() && !std::isfinite(job->finished_unix)) abort();
  auto ttl = stb::ParseGcTtlSeconds(in);
  if (ttl.ok() && (*ttl < 1 || *ttl > INT32_MAX)) abort();
  return 0;
}
