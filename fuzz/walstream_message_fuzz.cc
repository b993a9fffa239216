// Replication stream messages ('w' XLogData, 'k' keepalive) as the server sends them: a message
// that parses keeps its data inside the input, and a status message always has 34 bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "components/database/pg_walstream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  auto m = stb::ParseWalStreamMessage(in);
  if (m.ok()) {
    if (m->type == stb::WalStreamMessage::kXLogData && (m->data.data() != data + 25 || m->data.size() != size - 25)) {
      abort();
    }
    if (stb::EncodeStandbyStatus(m->wal_end, m->data_start, 0, m->send_time, m->reply_requested).size() != 34) abort();
  }
  return 0;
}
