// The command line: every subcommand's options and help, each bound to the Run* function of its
// command file. main.cc builds it, parses, loads the settings and calls `run`.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/settings.h"

namespace CLI {
class App;
}

namespace stb {

struct CommandLine {
  CommandLine();
  ~CommandLine();  // CLI::App is complete only in command_line.cc
  std::unique_ptr<CLI::App> app;
  std::string config;    // --config
  int compression = -1;  // --compression: overrides BACKUP_COMPRESSION when >= 0
  int workers = 0;       // --workers: overrides BACKUP_WORKERS when > 0
  bool no_progress = false;
  // Set by the chosen subcommand's callback during parsing.
  std::function<int(Settings&)> run;
};

// version: printed by --version and exported as backup_system_info{version}.
std::unique_ptr<CommandLine> BuildCommandLine(const std::string& version);

// Parses argv, loads the settings and runs the chosen command: the process's exit status
// (2 on a usage error).
int RunCommandLine(CommandLine& cl, int argc, char** argv);

}  // namespace stb
