// WAL names: PostgreSQL's %f forms, object names listed from a location, and LSNs; a name that
// parses must format back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "repository/wal_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string s(reinterpret_cast<const char*>(data), size);
  if (auto n = stb::ParsePgWalFileName(s); n.ok() && n->FileName() != s) abort();
  std::string cluster;
  if (auto n = stb::ParseWalObjectName(s, &cluster); n.ok() && stb::WalObjectName(cluster, *n) != s) abort();
  if (auto lsn = stb::ParseLsn(s); lsn.ok() && *stb::ParseLsn(stb::FormatLsn(*lsn)) != *lsn) abort();
  return 0;
}
