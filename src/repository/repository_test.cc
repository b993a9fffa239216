#include "repository/repository.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/file_util.h"
#include "repository/blob_saver.h"
#include "repository/lock.h"
#include "repository/pack.h"
#include "test_key.h"

namespace stb {
namespace {

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = NewMemStorage();
    ASSERT_TRUE(Repository::Init(*storage_, TestKey(1)).ok());
    auto r = Repository::Open(storage_, TestKey(1));
    ASSERT_TRUE(r.ok()) << r.status().message();
    repo_ = std::move(*r);
  }
  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(RepoTest, InitTwiceIsRefused) {
  EXPECT_EQ(Repository::Init(*storage_, TestKey(1)).code(), Code::kAlreadyExists);
}

TEST_F(RepoTest, WrongKeyIsAClearError) {
  auto r = Repository::Open(storage_, TestKey(2));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kPermission);
  EXPECT_NE(r.status().message().find("does not unlock"), std::string::npos) << r.status().message();
}

TEST_F(RepoTest, SavedBlobsReadBackAfterReopen) {
  Bytes a(100000, 'a'), b = RandomBytes(5000);
  Id ia, ib;
  {
    BlobSaver saver(*repo_, 3);
    ia = *saver.Save(BlobType::kData, a.data(), a.size());
    ib = *saver.Save(BlobType::kData, b.data(), b.size());
    auto again = saver.Save(BlobType::kData, a.data(), a.size());
    EXPECT_EQ(*again, ia);
    ASSERT_TRUE(saver.Finish().ok());
    EXPECT_EQ(saver.stats().new_blobs, 2u);
    EXPECT_EQ(saver.stats().reused_blobs, 1u);
    EXPECT_LT(saver.stats().stored_bytes, 10000u + 5000u);  // 'a' * 100000 compresses
  }
  auto r2 = Repository::Open(storage_, TestKey(1));
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE((*r2)->LoadIndex().ok());
  EXPECT_EQ(*(*r2)->ReadBlob(ia), a);
  EXPECT_EQ(*(*r2)->ReadBlob(ib), b);
  EXPECT_EQ((*r2)->ReadBlob(Id{}).status().code(), Code::kNotFound);
}

// A blob listed by two index objects (two concurrent backups stored it): LoadIndex keeps the copy of
// the object listed first, which is the "canonical" copy prune keeps (design.md §8).
TEST_F(RepoTest, DuplicateBlobKeepsTheCopyOfTheFirstListedIndex) {
  Id blob, pack_a, pack_b;
  blob.b.fill(0x11);
  pack_a.b.fill(0xaa);
  pack_b.b.fill(0xbb);
  const BlobLocation a{pack_a, 0, 100, 80, BlobType::kData}, b{pack_b, 500, 100, 80, BlobType::kData};
  auto name_a = repo_->SaveObject("index", kKindIndex, Repository::IndexToJson({{blob, a}}));
  auto name_b = repo_->SaveObject("index", kKindIndex, Repository::IndexToJson({{blob, b}}));
  ASSERT_TRUE(name_a.ok() && name_b.ok());
  ASSERT_TRUE(repo_->LoadIndex().ok());
  EXPECT_EQ(repo_->index().size(), 1u);
  const BlobLocation want = *name_a < *name_b ? a : b;  // mem storage lists in name order
  EXPECT_EQ(repo_->index().at(blob).pack, want.pack);
  EXPECT_EQ(repo_->index().at(blob).offset, want.offset);
  ASSERT_TRUE(repo_->LoadIndex().ok());  // a reload gives the same answer
  EXPECT_EQ(repo_->index().at(blob).pack, want.pack);
}

// Index objects are loaded on several threads but join in listing order: with many objects, a
// blob in several of them keeps the first listed copy, and a damaged object adds nothing (a problem
// when problems are collected, the load's error otherwise).
TEST_F(RepoTest, ParallelIndexLoadJoinsObjectsInListingOrder) {
  Id shared;
  shared.b.fill(0x42);
  std::vector<std::pair<std::string, Id>> objs;  // name, pack id
  for (int i = 0; i < 24; ++i) {
    Id pack, own;
    pack.b.fill(static_cast<uint8_t>(i + 1));
    own.b.fill(static_cast<uint8_t>(0x80 + i));
    BlobLocation loc{pack, 0, 100, 80, BlobType::kData};
    auto name = repo_->SaveObject("index", kKindIndex, Repository::IndexToJson({{shared, loc}, {own, loc}}));
    ASSERT_TRUE(name.ok());
    objs.push_back({*name, pack});
  }
  std::sort(objs.begin(), objs.end());  // mem storage lists in name order
  const auto& damaged = objs[1];
  Bytes body = *storage_->Get(damaged.first);
  body[body.size() / 2] ^= 1;
  ASSERT_TRUE(storage_->Put(damaged.first, body).ok());

  std::vector<std::string> problems;
  ASSERT_TRUE(repo_->LoadIndex(&problems).ok());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find(damaged.first), std::string::npos) << problems[0];
  EXPECT_EQ(repo_->index().size(), 1u + 23u);
  EXPECT_EQ(repo_->index().at(shared).pack, objs[0].second);
  for (int i = 0; i < 24; ++i) {
    Id own;
    own.b.fill(static_cast<uint8_t>(0x80 + i));
    bool in_damaged = damaged.second.b[0] == i + 1;
    EXPECT_EQ(repo_->index().contains(own), !in_damaged) << i;
  }
  EXPECT_FALSE(repo_->LoadIndex().ok());
}

TEST_F(RepoTest, NothingInObjectNamesOrBytesRevealsContent) {
  std::string secret = "PLAYER-SECRET-INVENTORY-1234567890";
  Bytes data(secret.begin(), secret.end());
  BlobSaver saver(*repo_, 0);
  ASSERT_TRUE(saver.Save(BlobType::kData, data.data(), data.size()).ok());
  ASSERT_TRUE(saver.Finish().ok());
  ASSERT_TRUE(repo_->SaveObject("snapshots", kKindSnapshot, nlohmann::json{{"note", secret}}).ok());
  for (const auto& prefix : {"data/", "index/", "snapshots/", "keys/", "config"}) {
    auto listed = storage_->List(prefix);
    ASSERT_TRUE(listed.ok());
    for (const auto& o : *listed) {
      Bytes body = *storage_->Get(o.name);
      EXPECT_EQ(AsString(body).find("PLAYER-SECRET"), std::string::npos) << o.name;
    }
  }
}

TEST_F(RepoTest, PackHeaderListsItsBlobs) {
  PackBuilder pb(std::move(storage_->CreatePending().value()));
  Bytes s1, s2;
  repo_->aead().Seal(reinterpret_cast<const uint8_t*>("one"), 3, nullptr, 0, s1);
  repo_->aead().Seal(reinterpret_cast<const uint8_t*>("two!"), 4, nullptr, 0, s2);
  Id a, b;
  a.b[0] = 1;
  b.b[0] = 2;
  ASSERT_TRUE(pb.Add(a, BlobType::kData, s1.data(), s1.size(), 3).ok());
  ASSERT_TRUE(pb.Add(b, BlobType::kTree, s2.data(), s2.size(), 4).ok());
  auto pack_id = pb.Finish(repo_->aead());
  ASSERT_TRUE(pack_id.ok());
  ASSERT_TRUE(pb.Commit(*pack_id).ok());
  Bytes pack = *storage_->Get(PackName(*pack_id));
  EXPECT_EQ(*pack_id, Sha256(pack));
  auto parsed = ParsePackHeader(repo_->aead(), pack);
  ASSERT_TRUE(parsed.ok());
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[1].id, b);
  EXPECT_EQ((*parsed)[1].type, BlobType::kTree);
  EXPECT_EQ((*parsed)[1].offset, s1.size());
  pack[pack.size() - 10] ^= 1;
  EXPECT_FALSE(ParsePackHeader(repo_->aead(), pack).ok());
}

TEST_F(RepoTest, FlippedBlobByteIsNamedOnRead) {
  Bytes data = RandomBytes(4096);
  Id id;
  {
    BlobSaver saver(*repo_, 1);
    id = *saver.Save(BlobType::kData, data.data(), data.size());
    ASSERT_TRUE(saver.Finish().ok());
  }
  ASSERT_TRUE(repo_->LoadIndex().ok());
  std::string pack = PackName(repo_->index().at(id).pack);
  Bytes body = *storage_->Get(pack);
  body[20] ^= 0x40;
  ASSERT_TRUE(storage_->Put(pack, body).ok());
  auto r = repo_->ReadBlob(id);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(pack), std::string::npos) << r.status().message();
}

TEST_F(RepoTest, BackupIdsAreUniqueWithinOneSecond) {
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.insert(*repo_->ReserveBackupId(1704291930));
  EXPECT_EQ(ids.size(), 5u);
  for (const auto& id : ids) EXPECT_TRUE(IsBackupId(id)) << id;
}

TEST_F(RepoTest, KeysAddListRemove) {
  auto added = repo_->AddKey(TestKey(7));
  ASSERT_TRUE(added.ok());
  auto other = Repository::Open(storage_, TestKey(7));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*other)->config().id, repo_->config().id);
  EXPECT_EQ((*other)->current_key_id(), *added);
  EXPECT_EQ(repo_->ListKeys()->size(), 2u);
  ASSERT_TRUE((*other)->RemoveKey(repo_->current_key_id()).ok());
  EXPECT_FALSE(Repository::Open(storage_, TestKey(1)).ok());              // the old key no longer opens it
  EXPECT_EQ((*other)->RemoveKey(*added).code(), Code::kInvalidArgument);  // never the last key
}

TEST_F(RepoTest, PassphraseKeys) {
  ASSERT_TRUE(repo_->AddKey(FromPassphrase("correct horse")).ok());
  EXPECT_TRUE(Repository::Open(storage_, FromPassphrase("correct horse")).ok());
  EXPECT_FALSE(Repository::Open(storage_, FromPassphrase("wrong horse")).ok());
}

TEST_F(RepoTest, ExclusiveLockWaitsForSharedAndStaleLocksAreCleared) {
  auto shared = RepoLock::Acquire(*repo_, false);
  ASSERT_TRUE(shared.ok());
  auto shared2 = RepoLock::Acquire(*repo_, false, std::chrono::seconds(0));
  EXPECT_TRUE(shared2.ok());
  auto excl = RepoLock::Acquire(*repo_, true, std::chrono::seconds(0));
  ASSERT_FALSE(excl.ok());
  EXPECT_NE(excl.status().message().find("in use"), std::string::npos);
  shared->reset();
  shared2->reset();
  // A lock of a process that no longer exists on this host is stale.
  nlohmann::json dead = {
      {"host", Hostname()}, {"pid", 999999999}, {"exclusive", true}, {"time", static_cast<int64_t>(NowSeconds())}};
  ASSERT_TRUE(storage_->Put("locks/dead", repo_->SealJson(kKindLock, dead)).ok());
  auto excl2 = RepoLock::Acquire(*repo_, true, std::chrono::seconds(0));
  EXPECT_TRUE(excl2.ok()) << excl2.status().message();
  EXPECT_EQ(storage_->Stat("locks/dead").status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace stb

namespace stb {
namespace {

// Every parser of repository bytes meets damaged input with an error, never a crash (the
// ASan+UBSan run of this test is what catches out-of-bounds reads).
TEST_F(RepoTest, DamagedPackHeadersAreErrors) {
  PackBuilder pb(std::move(storage_->CreatePending().value()));
  Bytes sealed;
  repo_->aead().Seal(reinterpret_cast<const uint8_t*>("blob"), 4, nullptr, 0, sealed);
  Id id;
  ASSERT_TRUE(pb.Add(id, BlobType::kData, sealed.data(), sealed.size(), 4).ok());
  auto pack_id = pb.Finish(repo_->aead());
  ASSERT_TRUE(pack_id.ok() && pb.Commit(*pack_id).ok());
  Bytes pack = *storage_->Get(PackName(*pack_id));
  for (size_t cut = 0; cut < pack.size(); ++cut) {
    EXPECT_FALSE(ParsePackHeader(repo_->aead(), Bytes(pack.begin(), pack.begin() + static_cast<ptrdiff_t>(cut))).ok());
  }
  // A flip in the sealed header or its length is always caught; one among the blobs is the
  // blob's own tag's business, so there any result is fine, as long as nothing crashes.
  size_t header_start = pack.size() - 4 - GetU32(pack.data() + pack.size() - 4);
  std::mt19937 rng(2);
  for (int i = 0; i < 2000; ++i) {
    Bytes b = pack;
    size_t pos = rng() % b.size();
    b[pos] ^= static_cast<uint8_t>(1 + rng() % 255);
    bool ok = ParsePackHeader(repo_->aead(), b).ok();
    if (pos >= header_start) {
      EXPECT_FALSE(ok) << "flip at " << pos;
    }
  }
  // A header length pointing anywhere: the last four bytes are all the parser trusts first.
  for (uint32_t len : {0u, 1u, 27u, 28u, static_cast<uint32_t>(pack.size()), 0xffffffffu}) {
    Bytes b = pack;
    for (int k = 0; k < 4; ++k) b[b.size() - 4 + k] = static_cast<uint8_t>(len >> (8 * k));
    EXPECT_FALSE(ParsePackHeader(repo_->aead(), b).ok()) << len;
  }
}

TEST_F(RepoTest, DamagedSealedObjectsAndIndexesAreErrors) {
  nlohmann::json doc = {{"version", 1}, {"packs", nlohmann::json::array()}};
  Bytes good = repo_->SealJson(kKindIndex, doc);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    EXPECT_FALSE(repo_->OpenJson(Bytes(good.begin(), good.begin() + static_cast<ptrdiff_t>(cut)), kKindIndex).ok());
  }
  EXPECT_FALSE(repo_->OpenJson(good, kKindSnapshot).ok());  // an index is not a snapshot
  // Well-sealed but malformed index documents: LoadIndex names the object and skips it.
  for (const char* bad : {R"({"packs": 5})", R"({"packs": [{"id": "zz", "blobs": []}]})",
                          R"({"packs": [{"id": "00", "blobs": [["ab", 0, 0, 0, 0]]}]})",
                          R"({"packs": [{"id": "0000000000000000000000000000000000000000000000000000000000000000",
                              "blobs": [["0000000000000000000000000000000000000000000000000000000000000000", 0, 0, 3, 0]]}]})",
                          R"([1, 2, 3])", R"("text")"}) {
    ASSERT_TRUE(storage_->Put("index/bad", repo_->SealJson(kKindIndex, nlohmann::json::parse(bad))).ok());
    std::vector<std::string> problems;
    EXPECT_TRUE(repo_->LoadIndex(&problems).ok());
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_NE(problems[0].find("index/bad"), std::string::npos) << problems[0];
    EXPECT_FALSE(repo_->LoadIndex().ok()) << bad;
  }
}

}  // namespace
}  // namespace stb
