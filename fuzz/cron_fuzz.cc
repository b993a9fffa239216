// Cron expressions from BACKUP_SCHEDULE_FULL / BACKUP_SCHEDULE_INCREMENTAL or the config file;
// one that parses must also give a next run.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schedule/cron.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool tz = (setenv("TZ", "Europe/Berlin", 1), true);
  (void)tz;
  auto expr = stb::ParseCron(std::string_view(reinterpret_cast<const char*>(data), size));
  if (expr.ok()) {
    auto next = stb::NextRun(*expr, 1774742400);  // 2026-03-29, a daylight-saving change in Berlin
    if (!next.ok()) abort();                      // ParseCron promises every accepted expression fires
  }
  return 0;
}
