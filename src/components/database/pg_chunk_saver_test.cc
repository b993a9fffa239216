// The base backup's chunks must fall where ChunkStream puts them over the same file bytes, or a
// physical backup would stop deduplicating against the ones before it: members small and large,
// sharing blocks, crossing blocks, never finding a content boundary, read in odd pieces.
#include "components/database/pg_chunk_saver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "components/database/engines.h"
#include "core/crc32c.h"
#include "repository/repository.h"

namespace stb {
namespace {

Bytes Random(size_t n, uint32_t seed) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>((seed = seed * 1103515245 + 12345) >> 16);
  return b;
}

// The ids of the chunks FastCDC cuts from the whole of `data` in view; ChunkStream (what physical
// backups used before, and file backups use) cuts the same, whatever its window.
std::vector<Id> Expected(const Repository& repo, const Chunker& chunker, const Bytes& data) {
  std::vector<Id> ids;
  for (size_t pos = 0; pos < data.size();) {
    size_t cut = chunker.FindBoundary(data.data() + pos, data.size() - pos, true);
    ids.push_back(repo.hmac().Compute(data.data() + pos, cut));
    pos += cut;
  }
  return ids;
}

TEST(ChunkSaver, CutsWhereChunkStreamCutsInAndAcrossBlocks) {
  std::shared_ptr<Storage> storage = NewMemStorage();
  KeySource k;
  k.secret = Bytes(32, 7);
  ASSERT_TRUE(Repository::Init(*storage, k).ok());
  auto repo = std::move(Repository::Open(storage, k).value());
  Chunker dump = repo->MakeChunker(kDumpChunks);
  struct Member {
    Bytes data;
    const Chunker* chunker;
  };
  std::vector<Member> members;
  members.push_back({Bytes(), &dump});
  members.push_back({Random(1, 1), &dump});
  for (uint32_t i = 0; i < 40; ++i) members.push_back({Random(100 << 10, 10 + i), &dump});  // share blocks
  members.push_back({Random(37 << 20, 2), &dump});                                          // crosses blocks
  members.push_back({Bytes(21 << 20, 0), &repo->chunker()});  // no content boundary: max-size cuts
  members.push_back({Random(3 << 20, 3), &repo->chunker()});
  members.push_back({Random(30 << 20, 4), &repo->chunker()});
  // Each just over a max-size chunk: one block each, more than the saver keeps (it must wait).
  for (uint32_t i = 0; i < 8; ++i)
    members.push_back({Bytes((8 << 20) + 4096, static_cast<uint8_t>(i + 1)), &repo->chunker()});

  Progress progress;
  std::map<size_t, ChunkSaver::Member> cut;
  {
    BlobSaver saver(*repo, 1);
    ChunkSaver cs(saver, 2, progress);
    for (size_t node = 0; node < members.size(); ++node) {
      const Bytes& d = members[node].data;
      size_t pos = 0, piece = 0;
      ReadFn read = [&](uint8_t* buf, size_t n) -> StatusOr<size_t> {
        size_t k = std::min({n, d.size() - pos, size_t{4093} + (piece++ % 7) * 9001});  // odd pieces
        std::copy_n(d.data() + pos, k, buf);
        pos += k;
        return k;
      };
      auto m = cs.CutMember(*members[node].chunker, node, d.size(), read);
      ASSERT_TRUE(m.ok()) << m.status().message();
      cut[node] = *m;
    }
    ASSERT_TRUE(cs.Close().ok());
    std::map<size_t, std::map<size_t, Id>> got;
    for (const auto& s : cs.results()) got[s.node][s.slot] = s.id;
    for (size_t node = 0; node < members.size(); ++node) {
      const Bytes& d = members[node].data;
      std::vector<Id> want = Expected(*repo, *members[node].chunker, d);
      EXPECT_EQ(cut[node].bytes, d.size()) << node;
      EXPECT_EQ(cut[node].crc, Crc32c(0, d.data(), d.size())) << node;
      ASSERT_EQ(cut[node].chunks, want.size()) << node;
      ASSERT_EQ(got[node].size(), want.size()) << node;
      for (size_t slot = 0; slot < want.size(); ++slot) EXPECT_EQ(got[node][slot], want[slot]) << node << " " << slot;
    }
    ASSERT_TRUE(saver.Finish().ok());
  }
  uint64_t total = 0;
  for (const auto& m : members) total += m.data.size();
  EXPECT_EQ(progress.bytes_done.load(), total);
}

}  // namespace
}  // namespace stb
