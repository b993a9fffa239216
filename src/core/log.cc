#include "core/log.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/file_util.h"

namespace stb {

namespace {
std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger;
  return logger;
}
}  // namespace

std::string InitLog(const std::string& dir, const std::string& file_name) {
  std::string path = dir + "/" + file_name;
  try {
    if (MakeDirs(dir, 0750).ok()) {
      spdlog::drop("spacetime-backup");  // a command may switch files (a scheduled run: backup, then prune)
      Logger() = spdlog::basic_logger_mt("spacetime-backup", path);
      Logger()->set_pattern("%Y-%m-%dT%H:%M:%S.%f %l [%P] %v");
      Logger()->flush_on(spdlog::level::info);
      return path;
    }
  } catch (const spdlog::spdlog_ex&) {
  }
  spdlog::drop("spacetime-backup");
  Logger() = spdlog::stderr_logger_mt("spacetime-backup");
  Logger()->set_pattern("%l: %v");
  Logger()->set_level(spdlog::level::warn);
  return "";
}

void LogInfo(const std::string& msg) {
  if (Logger()) Logger()->info(msg);
}
void LogWarn(const std::string& msg) {
  if (Logger()) Logger()->warn(msg);
}
void LogError(const std::string& msg) {
  if (Logger()) Logger()->error(msg);
}

}  // namespace stb
