// The log file of a command ($BACKUP_LOG_DIR/backup.log, restore.log, ...), falling back to
// stderr (warnings and errors only) when the directory cannot be written. Never log secrets.
#pragma once

#include <string>

namespace stb {

// Returns the path in use, or "" when logging to stderr.
std::string InitLog(const std::string& dir, const std::string& file_name);
void LogInfo(const std::string& msg);
void LogWarn(const std::string& msg);
void LogError(const std::string& msg);

}  // namespace stb
