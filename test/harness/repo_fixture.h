// Test helpers over a real repository: a small backup done the way `backup` does it (lock, then
// index, blobs, snapshot under the lock), and the checks every repository-changing test ends with.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "checker/references.h"
#include "repository/blob_saver.h"
#include "repository/lock.h"
#include "repository/snapshots.h"
#include "test_key.h"

namespace stb {

inline KeySource FixtureKey() { return TestKey(0x5a, "fixture-key"); }

// A new repository in memory under FixtureKey(), opened.
inline std::unique_ptr<Repository> NewMemRepository(std::shared_ptr<Storage>& storage) {
  storage = NewMemStorage();
  EXPECT_TRUE(Repository::Init(*storage, FixtureKey()).ok());
  auto r = Repository::Open(storage, FixtureKey());
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(*r) : nullptr;
}

// Stores each component's blobs and a snapshot listing them as {"kind": kind, "blobs": [ids]} (a
// database component's dump). The order is backup's: the shared lock, the index read under it,
// packs and index, the snapshot last. Returns the snapshot's object name.
inline StatusOr<std::string> BackupOfBlobs(Repository& repo,
                                           const std::vector<std::pair<std::string, std::vector<Bytes>>>& comps,
                                           const std::string& kind, int64_t t, std::chrono::seconds wait) {
  ASSIGN_OR_RETURN(auto lock, LockAndLoadIndex(repo, false, wait));
  BlobSaver saver(repo, 1);
  nlohmann::json entries = nlohmann::json::object();
  for (const auto& [comp, blobs] : comps) {
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& b : blobs) {
      ASSIGN_OR_RETURN(Id id, saver.Save(BlobType::kData, b.data(), b.size()));
      ids.push_back(id.Hex());
    }
    entries[comp] = {{"kind", kind}, {"blobs", ids}};
  }
  RETURN_IF_ERROR(saver.Finish());
  nlohmann::json doc = {{"version", 1},
                        {"backup_id", FormatBackupId(t)},
                        {"type", "full"},
                        {"time_unix", static_cast<double>(t)},
                        {"components", entries}};
  return WriteSnapshot(repo, *lock, doc);
}

// A backup whose database component lists these blobs.
inline StatusOr<std::string> MiniBackup(Repository& repo, const std::vector<Bytes>& blobs, int64_t t,
                                        std::chrono::seconds wait = std::chrono::seconds(0)) {
  return BackupOfBlobs(repo, {{"database", blobs}}, "postgresql", t, wait);
}

// Deterministic blob contents: small, incompressible.
inline Bytes TestBlob(int i, size_t n = 3000) {
  Bytes b(n);
  uint32_t x = 2654435761u * static_cast<uint32_t>(i + 1);
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<uint8_t>(x);
  }
  return b;
}

// A backup of these components, one blob each (TestBlob(0), TestBlob(1), ...). Returns its id.
inline StatusOr<std::string> ComponentsBackup(Repository& repo, const std::vector<std::string>& comps,
                                              const std::string& kind = "postgresql", int64_t t = 1700000000) {
  std::vector<std::pair<std::string, std::vector<Bytes>>> blobs;
  for (size_t i = 0; i < comps.size(); ++i) blobs.push_back({comps[i], {TestBlob(static_cast<int>(i))}});
  RETURN_IF_ERROR(BackupOfBlobs(repo, blobs, kind, t, std::chrono::seconds(0)).status());
  return FormatBackupId(t);
}

// The repository in storage, opened afresh (a new process): the checker with --read-data finds
// no error, and every blob of every snapshot reads back. Returns the number of snapshots.
inline size_t ExpectRepositoryIntact(std::shared_ptr<Storage> storage, const std::string& when) {
  auto repo = Repository::Open(storage, FixtureKey());
  EXPECT_TRUE(repo.ok()) << when << ": " << repo.status().message();
  if (!repo.ok()) return 0;
  Progress progress;
  CheckResult r = CheckRepository(**repo, {.read_data = true, .read_data_percent = 100, .workers = 1}, progress);
  for (const auto& e : r.errors) ADD_FAILURE() << when << ": check: " << e;
  EXPECT_TRUE((*repo)->LoadIndex().ok());
  std::vector<std::string> problems;
  auto snaps = ListSnapshots(**repo, &problems);
  EXPECT_TRUE(snaps.ok() && problems.empty()) << when;
  if (!snaps.ok()) return 0;
  for (const auto& s : *snaps) {
    ForEachBlobOf(
        **repo, s,
        [&](const Id& id, const std::string&, const std::string&) {
          auto b = (*repo)->ReadBlob(id);
          EXPECT_TRUE(b.ok()) << when << ": backup " << s.backup_id
                              << " references a missing blob: " << b.status().message();
        },
        problems);
  }
  EXPECT_TRUE(problems.empty()) << when;
  return snaps->size();
}

}  // namespace stb
