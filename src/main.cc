// spacetime-backup: builds the command line (cli/command_line), runs the chosen command and
// returns its exit status. Settings: flags > environment > config file > defaults.
#include <malloc.h>

#include "cli/command_line.h"
#include "core/last_resort.h"

#ifndef STB_VERSION
#define STB_VERSION "0.0.0"
#endif

// Any exception that escapes a module, on the main thread or a worker, ends the process with one
// error line and exit 1 rather than abort()'s signal.
int main(int argc, char** argv) {
  stb::InstallLastResortHandler();
  try {
    // Buffers of 1 MiB and more (chunks, read spans) go straight to mmap and back to the system
    // when freed; glibc's adaptive threshold would otherwise keep them in the heap for good.
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    auto command_line = stb::BuildCommandLine(STB_VERSION);
    return stb::RunCommandLine(*command_line, argc, argv);
  } catch (...) {
    stb::ExitOnUnexpected(std::current_exception());
  }
}
