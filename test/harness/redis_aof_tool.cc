// Test driver for the AOF writer alone (restore uses it through redis_stream_restore):
//   redis_aof_tool PARENT_DIR BASE_RDB STREAM_FILE DB [ARRIVAL_MS]
// Lays PARENT_DIR/appendonlydir down from an RDB file and a raw replication stream (one segment
// whose header db is DB, every byte arrived at ARRIVAL_MS); prints the name the old directory was
// moved to and the number of commands written; exit 1 with the error on failure.
#include <fcntl.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "redisstream/aof_writer.h"

using namespace stb;

int main(int argc, char** argv) {
  auto die = [](const std::string& m) {
    std::cerr << "redis_aof_tool: " << m << "\n";
    return 1;
  };
  if (argc < 5) return die("usage: redis_aof_tool PARENT_DIR BASE_RDB STREAM_FILE DB [ARRIVAL_MS]");
  auto slurp = [](const char* path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  };
  const std::string rdb = slurp(argv[2]), stream = slurp(argv[3]);
  RedisStreamObject seg;
  seg.db = std::atoi(argv[4]);
  seg.raw.assign(stream.begin(), stream.end());
  seg.end = seg.raw.size();
  seg.first_arrival_ms = seg.last_arrival_ms = argc > 5 ? std::atoll(argv[5]) : 1700000000000;
  seg.time_index.push_back({0, seg.last_arrival_ms});
  AofIncrEncoder enc(0, seg.end);
  std::string incr;
  Status st = enc.Add(seg, incr);
  if (!st.ok()) return die(st.message());
  Fd dir(::open(argv[1], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return die(std::string("cannot open ") + argv[1]);
  auto w = AofDirWriter::Create(dir.get(), {});
  if (!w.ok()) return die(w.status().message());
  st = (*w)->AppendBase(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(rdb.data()), rdb.size()));
  if (st.ok()) st = (*w)->AppendIncr(incr);
  if (!st.ok()) return die(st.message());
  auto replaced = (*w)->Commit();
  if (!replaced.ok()) return die(replaced.status().message());
  std::cout << "replaced=" << *replaced << " commands=" << enc.commands() << "\n";
  return 0;
}
