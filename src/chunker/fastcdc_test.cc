#include "chunker/fastcdc.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <random>
#include <set>

#include "crypto/crypto.h"

namespace stb {
namespace {

Bytes RandomData(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

std::vector<size_t> Cuts(const Chunker& c, const Bytes& data) {
  std::vector<size_t> cuts;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = c.FindBoundary(data.data() + pos, data.size() - pos, true);
    pos += n;
    cuts.push_back(pos);
  }
  return cuts;
}

TEST(FastCdc, ChunkSizesStayWithinBounds) {
  Chunker c(Bytes(32, 7), {});
  Bytes data = RandomData(40 << 20, 1);
  auto cuts = Cuts(c, data);
  size_t prev = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    size_t len = cuts[i] - prev;
    if (i + 1 < cuts.size()) {
      EXPECT_GE(len, c.params().min_size);
    }
    EXPECT_LE(len, c.params().max_size);
    prev = cuts[i];
  }
  // Average near 1 MiB: 40 MiB gives roughly 20 to 60 chunks.
  EXPECT_GT(cuts.size(), 20u);
  EXPECT_LT(cuts.size(), 60u);
}

TEST(FastCdc, InsertNearStartKeepsMostBoundaries) {
  Chunker c(Bytes(32, 9), {});
  Bytes data = RandomData(32 << 20, 2);
  auto before = Cuts(c, data);
  Bytes edited = data;
  Bytes insert = RandomData(1000, 3);
  edited.insert(edited.begin() + 5000, insert.begin(), insert.end());
  auto after = Cuts(c, edited);
  std::set<size_t> shifted;
  for (size_t x : after) shifted.insert(x - 1000);
  size_t kept = 0;
  for (size_t x : before) kept += shifted.count(x);
  // All but the first chunk or two are found again, 1000 bytes later.
  EXPECT_GE(kept + 2, before.size()) << kept << " of " << before.size();
}

TEST(FastCdc, BoundariesDependOnTheKey) {
  Bytes data = RandomData(16 << 20, 4);
  auto a = Cuts(Chunker(Bytes(32, 1), {}), data);
  auto b = Cuts(Chunker(Bytes(32, 2), {}), data);
  EXPECT_NE(a, b);
}

TEST(FastCdc, StreamMatchesWholeBufferWhateverTheReadSizes) {
  Chunker c(Bytes(32, 5), {});
  Bytes data = RandomData(20 << 20, 6);
  auto expect = Cuts(c, data);
  char path[] = "/tmp/stb-cdc-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  lseek(fd, 0, SEEK_SET);
  ChunkStream stream(c, fd, 1000, "test");  // a wrong size hint must not change the result
  std::vector<size_t> got;
  size_t pos = 0;
  Bytes joined;
  for (;;) {
    std::span<const uint8_t> chunk;
    ASSERT_TRUE(stream.Next(chunk).ok());
    if (chunk.empty()) break;
    joined.insert(joined.end(), chunk.begin(), chunk.end());
    pos += chunk.size();
    got.push_back(pos);
  }
  close(fd);
  unlink(path);
  EXPECT_EQ(got, expect);
  EXPECT_EQ(joined, data);
}

TEST(FastCdc, EmptyAndTinyInputs) {
  Chunker c(Bytes(32, 5), {});
  EXPECT_EQ(c.FindBoundary(nullptr, 0, true), 0u);
  uint8_t b[10] = {1};
  EXPECT_EQ(c.FindBoundary(b, 10, true), 10u);
  EXPECT_EQ(c.FindBoundary(b, 10, false), 0u);  // undecided until more data or end of input
}

}  // namespace
}  // namespace stb
