// The last resort for an exception no module turned into a Status: one error line on stderr and
// exit status 1, on the main thread or any other, instead of abort()'s SIGABRT.
#pragma once

#include <exception>
#include <string>

namespace stb {

// Installs ExitOnUnexpected as the std::terminate handler (exceptions escaping a thread, noexcept).
void InstallLastResortHandler();

// Writes "error: internal error: <what> (please report this as a bug)" and _exit(1)s: no
// destructors run, since other threads may still be using what they would free.
[[noreturn]] void ExitOnUnexpected(std::exception_ptr e);

// The text of that line. A JSON parse error's own message quotes the bytes it read (which could
// be key material), so only its position is kept; control characters become spaces.
std::string DescribeUnexpected(std::exception_ptr e);

}  // namespace stb
