// CheckRepository against an in-memory repository damaged in each way `check` must notice (a
// pack missing, cut short or changed; a snapshot that does not parse; a listing that fails), and
// the damage it must not call an error (packs an interrupted backup left).
#include "checker/checker.h"

#include <gtest/gtest.h>

#include "fault_storage.h"
#include "repo_fixture.h"

namespace stb {
namespace {

constexpr int64_t kT0 = 1704291930;

struct Fixture {
  std::shared_ptr<Storage> storage = NewMemStorage();
  std::unique_ptr<Repository> repo;

  Fixture() {
    EXPECT_TRUE(Repository::Init(*storage, FixtureKey()).ok());
    repo = Open(storage);
    EXPECT_TRUE(MiniBackup(*repo, {TestBlob(1), TestBlob(2), TestBlob(3)}, kT0).ok());
  }
  static std::unique_ptr<Repository> Open(std::shared_ptr<Storage> s) {
    auto r = Repository::Open(std::move(s), FixtureKey());
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::string OnePack() {
    auto packs = Listed(storage->List("data/"));
    EXPECT_FALSE(packs.empty());
    return packs.empty() ? "" : packs.front().name;
  }
  CheckResult Check(bool read_data, std::shared_ptr<Storage> through = nullptr) {
    auto r = Open(through ? through : storage);
    Progress progress;
    if (!r) return {};
    return CheckRepository(*r, {.read_data = read_data, .read_data_percent = 100, .workers = 1}, progress);
  }
};

bool AnyContains(const std::vector<std::string>& v, const std::string& what) {
  for (const auto& s : v) {
    if (s.find(what) != std::string::npos) return true;
  }
  return false;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "\n";
  return out;
}

TEST(Check, AnIntactRepositoryHasNoErrorsOrWarnings) {
  Fixture f;
  CheckResult r = f.Check(true);
  EXPECT_TRUE(r.ok()) << Joined(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << Joined(r.warnings);
}

TEST(Check, AMissingPackIsNamedWithoutReadingData) {
  Fixture f;
  std::string pack = f.OnePack();
  ASSERT_TRUE(f.storage->Remove(pack).ok());
  CheckResult r = f.Check(false);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(AnyContains(r.errors, pack + ": listed in the index but missing")) << Joined(r.errors);
}

TEST(Check, ATruncatedPackIsNamed) {
  Fixture f;
  std::string pack = f.OnePack();
  Bytes data = *f.storage->Get(pack);
  data.resize(data.size() / 2);
  ASSERT_TRUE(f.storage->Put(pack, data).ok());
  CheckResult r = f.Check(false);
  EXPECT_TRUE(AnyContains(r.errors, pack + ": shorter than the index says")) << Joined(r.errors);
}

// A changed byte keeps the size: only reading the data finds it, and it names the pack.
TEST(Check, AChangedByteIsFoundByReadDataOnly) {
  Fixture f;
  std::string pack = f.OnePack();
  Bytes data = *f.storage->Get(pack);
  data[data.size() / 3] ^= 0x40;
  ASSERT_TRUE(f.storage->Put(pack, data).ok());
  EXPECT_TRUE(f.Check(false).ok());
  CheckResult r = f.Check(true);
  EXPECT_TRUE(AnyContains(r.errors, pack + ": content does not match its name")) << Joined(r.errors);
}

TEST(Check, ASnapshotThatDoesNotParseIsAnError) {
  Fixture f;
  auto snaps = Listed(f.storage->List("snapshots/"));
  ASSERT_EQ(snaps.size(), 1u);
  ASSERT_TRUE(f.storage->Put(snaps[0].name, Bytes{'g', 'a', 'r', 'b', 'a', 'g', 'e'}).ok());
  CheckResult r = f.Check(false);
  EXPECT_TRUE(AnyContains(r.errors, snaps[0].name)) << Joined(r.errors);
}

// Packs written by a backup that died before its index: a warning (prune removes them), never an
// error, since no snapshot can reference them.
TEST(Check, PacksNoIndexListsAreAWarning) {
  Fixture f;
  for (const auto& o : Listed(f.storage->List("index/"))) ASSERT_TRUE(f.storage->Remove(o.name).ok());
  for (const auto& o : Listed(f.storage->List("snapshots/"))) ASSERT_TRUE(f.storage->Remove(o.name).ok());
  CheckResult r = f.Check(true);
  EXPECT_TRUE(r.ok()) << Joined(r.errors);
  EXPECT_TRUE(AnyContains(r.warnings, "not in any index")) << Joined(r.warnings);
}

TEST(Check, AFailedListingIsAnErrorNotASuccess) {
  Fixture f;
  auto fault = std::make_shared<FaultStorage>(f.storage);
  auto repo = Fixture::Open(fault);
  ASSERT_NE(repo, nullptr);
  fault->SetHook([](FaultOp op, const std::string& name) {
    return op == FaultOp::kList && name == "data/" ? Unavailable("listing refused") : Status::Ok();
  });
  Progress progress;
  CheckResult r = CheckRepository(*repo, {.read_data = false, .read_data_percent = 100, .workers = 1}, progress);
  EXPECT_TRUE(AnyContains(r.errors, "listing data/: ")) << Joined(r.errors);
}

}  // namespace
}  // namespace stb
