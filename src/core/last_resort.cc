#include "core/last_resort.h"

#include <unistd.h>

#include <new>
#include <nlohmann/json.hpp>

namespace stb {

std::string DescribeUnexpected(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
    return "terminated without an exception";
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const nlohmann::json::parse_error& x) {
    return "malformed JSON at byte " + std::to_string(x.byte);
  } catch (const std::exception& x) {
    std::string what = x.what();
    for (char& c : what) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    return what.substr(0, 300);
  } catch (...) {
    return "unknown exception";
  }
}

void ExitOnUnexpected(std::exception_ptr e) {
  std::string line = "error: internal error: " + DescribeUnexpected(e) + " (please report this as a bug)\n";
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  _exit(1);
}

void InstallLastResortHandler() {
  std::set_terminate([] { ExitOnUnexpected(std::current_exception()); });
}

}  // namespace stb
