#include "repository/blob_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "repo_fixture.h"
#include "repository/blob_saver.h"

namespace stb {
namespace {

// A location that takes `delay` per read, like a cloud one, and counts the reads it serves at once.
class SlowStorage final : public Storage {
 public:
  explicit SlowStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}
  std::string Describe() const override { return "slow(" + inner_->Describe() + ")"; }
  StorageCaps Caps() const override { return inner_->Caps(); }
  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    return inner_->Put(name, data, n, mode);
  }
  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    if (name.rfind("data/", 0) != 0) return inner_->Get(name, offset, length);
    ++started;
    int now = ++in_flight;
    for (int seen = max_in_flight; now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(delay);
    auto r = inner_->Get(name, offset, length);
    --in_flight;
    if (fail_at && *fail_at == offset) return Unavailable("injected failure reading " + name);
    if (r.ok() && corrupt_at && *corrupt_at == offset) (*r)[r->size() / 2] ^= 1;
    return r;
  }
  StatusOr<uint64_t> Stat(const std::string& name) override { return inner_->Stat(name); }
  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override { return inner_->List(prefix); }
  Status Remove(const std::string& name) override { return inner_->Remove(name); }

  std::chrono::milliseconds delay{20};
  std::optional<uint64_t> fail_at, corrupt_at;  // the read that starts at this pack offset
  std::atomic<int> started{0}, in_flight{0}, max_in_flight{0};

 private:
  std::shared_ptr<Storage> inner_;
};

class BlobStreamTest : public ::testing::Test {
 protected:
  static constexpr size_t kBlobs = 16, kBlobSize = 64 << 10;
  void SetUp() override {
    auto mem = std::shared_ptr<Storage>(NewMemStorage());
    ASSERT_TRUE(Repository::Init(*mem, FixtureKey()).ok());
    slow_ = std::make_shared<SlowStorage>(mem);
    auto r = Repository::Open(slow_, FixtureKey());
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
    BlobSaver saver(*repo_, 0);
    for (size_t i = 0; i < kBlobs; ++i) {
      blobs_.push_back(RandomBytes(kBlobSize));
      auto id = saver.Save(BlobType::kData, blobs_.back().data(), blobs_.back().size());
      ASSERT_TRUE(id.ok());
      ids_.push_back(*id);
    }
    ASSERT_TRUE(saver.Finish().ok());
    ASSERT_TRUE(repo_->LoadIndex().ok());
  }
  uint64_t OffsetOf(size_t i) const { return repo_->index().at(ids_[i]).offset; }
  // Options that read every blob alone: the tests count reads.
  static BlobStreamOptions OneBlobPerRead(int window) { return {.window = window, .max_span = 1}; }

  std::shared_ptr<SlowStorage> slow_;
  std::unique_ptr<Repository> repo_;
  std::vector<Bytes> blobs_;
  std::vector<Id> ids_;
};

TEST_F(BlobStreamTest, KeepsTheWindowInFlightAndReturnsBlobsInOrder) {
  BlobStream stream(*repo_, ids_, OneBlobPerRead(4));
  const auto start = std::chrono::steady_clock::now();
  Bytes b;
  for (size_t i = 0; i < kBlobs; ++i) {
    auto more = stream.Next(b);
    ASSERT_TRUE(more.ok()) << more.status().message();
    ASSERT_TRUE(*more);
    EXPECT_EQ(b, blobs_[i]) << "blob " << i;
  }
  auto end = stream.Next(b);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(*end);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(slow_->max_in_flight, 4);
  EXPECT_EQ(slow_->started, static_cast<int>(kBlobs));
  EXPECT_LT(secs, kBlobs * 0.020 * 0.6) << "16 reads of 20 ms four at a time";
}

TEST_F(BlobStreamTest, MergesNeighboursOfAPackIntoOneRangedRead) {
  std::vector<Bytes> got;
  ASSERT_TRUE(StreamBlobs(*repo_, ids_, [&](const Bytes& b) {
                got.push_back(b);
                return Status::Ok();
              }).ok());
  EXPECT_EQ(got, blobs_);
  EXPECT_EQ(slow_->started, 1) << "16 neighbours of 64 KiB fit one 4 MiB read";

  // Out of pack order, and a blob twice: still the list's order.
  std::vector<Id> ids = {ids_[3], ids_[2], ids_[2], ids_[9], ids_[10], ids_[0]};
  got.clear();
  ASSERT_TRUE(StreamBlobs(*repo_, ids, [&](const Bytes& b) {
                got.push_back(b);
                return Status::Ok();
              }).ok());
  EXPECT_EQ(got, (std::vector<Bytes>{blobs_[3], blobs_[2], blobs_[2], blobs_[9], blobs_[10], blobs_[0]}));
}

TEST_F(BlobStreamTest, HoldsAtMostTheWindow) {
  const int window = 3;
  BlobStream stream(*repo_, ids_, OneBlobPerRead(window));
  Bytes b;
  for (size_t i = 0; i < kBlobs; ++i) {
    ASSERT_TRUE(*stream.Next(b));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // a slow consumer: the readers wait
    // The caller is in read i (not yet released): reads i .. i+window-1 at most have started.
    EXPECT_LE(slow_->started, static_cast<int>(i) + window) << "after blob " << i;
  }
  EXPECT_LE(stream.peak_held_bytes(), window * kBlobSize);
  EXPECT_GE(stream.peak_held_bytes(), (window - 1) * kBlobSize) << "the window was used";
}

TEST_F(BlobStreamTest, AFailedReadFailsTheStreamAfterTheBlobsBeforeIt) {
  slow_->fail_at = OffsetOf(5);
  BlobStream stream(*repo_, ids_, OneBlobPerRead(4));
  Bytes b;
  for (size_t i = 0; i < 5; ++i) {
    auto more = stream.Next(b);
    ASSERT_TRUE(more.ok() && *more) << i;
    EXPECT_EQ(b, blobs_[i]);
  }
  auto failed = stream.Next(b);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::kUnavailable);
  EXPECT_NE(failed.status().message().find("injected failure"), std::string::npos);
  int started = slow_->started;
  auto again = stream.Next(b);  // sticky, and reads nothing more
  EXPECT_EQ(again.status().code(), Code::kUnavailable);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(slow_->started, started);
  EXPECT_LE(started, 5 + 4);
}

TEST_F(BlobStreamTest, ACorruptBlobFailsTheStream) {
  slow_->corrupt_at = OffsetOf(7);
  std::vector<Bytes> got;
  Status st = StreamBlobs(
      *repo_, ids_,
      [&](const Bytes& b) {
        got.push_back(b);
        return Status::Ok();
      },
      OneBlobPerRead(4));
  EXPECT_EQ(st.code(), Code::kCorrupt) << st.message();
  ASSERT_EQ(got.size(), 7u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], blobs_[i]);

  // Merged into one read, the corrupt blob fails that read: nothing of it is handed out.
  slow_->corrupt_at = OffsetOf(0);
  got.clear();
  st = StreamBlobs(*repo_, ids_, [&](const Bytes& b) {
    got.push_back(b);
    return Status::Ok();
  });
  EXPECT_EQ(st.code(), Code::kCorrupt);
  EXPECT_TRUE(got.empty());
}

TEST_F(BlobStreamTest, AMissingBlobFailsBeforeAnyIsRead) {
  std::vector<Id> ids = ids_;
  ids.push_back(Id{});
  BlobStream stream(*repo_, ids, OneBlobPerRead(4));
  Bytes b;
  auto r = stream.Next(b);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(slow_->started, 0);
}

TEST_F(BlobStreamTest, AbandonedOrStoppedBySinkEndsWithoutHanging) {
  {
    BlobStream stream(*repo_, ids_, OneBlobPerRead(4));
    Bytes b;
    ASSERT_TRUE(*stream.Next(b));
  }  // the destructor waits for the reads in flight only
  EXPECT_LE(slow_->started, 1 + 4);
  size_t seen = 0;
  Status st = StreamBlobs(
      *repo_, ids_, [&](const Bytes&) { return ++seen == 3 ? IoError("disk full") : Status::Ok(); }, OneBlobPerRead(4));
  EXPECT_EQ(st.code(), Code::kIo);
  EXPECT_EQ(seen, 3u);
}

TEST(EntryBlobIds, RefusesABadId) {
  auto ok = EntryBlobIds(nlohmann::json{{"blobs", {std::string(64, 'a')}}}, "blobs");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 1u);
  EXPECT_EQ(EntryBlobIds(nlohmann::json{{"blobs", {"xyz"}}}, "blobs").status().code(), Code::kCorrupt);
  EXPECT_EQ(EntryBlobIds(nlohmann::json{{"blobs", {1}}}, "blobs").status().code(), Code::kCorrupt);
  EXPECT_EQ(EntryBlobIds(nlohmann::json::object(), "tree").status().code(), Code::kCorrupt);
}

}  // namespace
}  // namespace stb
