#include "core/status.h"

#include <cstring>

namespace stb {

Status ErrnoStatus(const std::string& what, int err) {
  Code code = Code::kIo;
  if (err == ENOENT) code = Code::kNotFound;
  if (err == EEXIST) code = Code::kAlreadyExists;
  if (err == EACCES || err == EPERM) code = Code::kPermission;
  return {code, what + ": " + std::strerror(err)};
}

}  // namespace stb
