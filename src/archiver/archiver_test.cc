// Adding a component takes one file and one registry line: a toy component, written here and
// registered in a registry of its own, is backed up by the archiver into a snapshot, and check
// finds and reads every blob it stored through the component's VisitBlobs.
#include "archiver/archiver.h"

#include <gtest/gtest.h>

#include <set>

#include "checker/checker.h"
#include "checker/references.h"
#include "repo_fixture.h"
#include "repository/blob_saver.h"
#include "repository/snapshots.h"
#include "storage/storage.h"

namespace stb {
namespace {

using json = nlohmann::json;

// The toy: keeps a few notes, each as one blob, listed in its snapshot entry.
class NotesComponent : public Component {
 public:
  explicit NotesComponent(std::vector<std::string> notes) : notes_(std::move(notes)) {}
  std::string_view name() const override { return "notes"; }
  std::string MissingSetting(const Settings&) const override { return notes_.empty() ? "NOTES" : ""; }
  ComponentBackup Backup(BackupContext& ctx) override {
    ComponentBackup b{{{"kind", "notes"}, {"blobs", json::array()}}, {}};
    for (const auto& n : notes_) {
      auto id = ctx.saver.Save(BlobType::kData, reinterpret_cast<const uint8_t*>(n.data()), n.size());
      if (!id.ok()) return {nullptr, ComponentReport::FromJson({{"success", false}, {"error", id.status().message()}})};
      b.entry["blobs"].push_back(id->Hex());
    }
    b.report.success = true;
    b.report.size_bytes = notes_.size();
    return b;
  }
  ComponentReport Restore(const json&, RestoreContext&) override { return {}; }
  void VisitBlobs(Repository&, const json& entry, const std::string& prefix, const BlobVisitor& visit,
                  std::vector<std::string>& errors) override {
    VisitIdList(entry.contains("blobs") ? entry["blobs"] : json(), prefix, "notes", "note", visit, errors);
  }

 private:
  std::vector<std::string> notes_;
};

class ArchiverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Repository::Init(*storage_, FixtureKey()).ok());
    auto r = Repository::Open(storage_, FixtureKey());
    ASSERT_TRUE(r.ok());
    repo_ = std::move(*r);
  }
  std::shared_ptr<Storage> storage_ = NewMemStorage();
  std::unique_ptr<Repository> repo_;
  Settings settings_;
};

TEST_F(ArchiverTest, AToyComponentIsBackedUpAndChecked) {
  ComponentRegistry registry;
  registry.Add(std::make_unique<NotesComponent>(std::vector<std::string>{"first note", "second note"}), 1, 1);

  auto done = ArchiveBackup(*repo_, settings_, registry, {"full", "", false, 1704291930.5});
  ASSERT_TRUE(done.ok()) << done.status().message();
  done->lock.reset();
  const BackupReport& r = done->report;
  EXPECT_TRUE(r.overall_success);
  EXPECT_TRUE(r.Stored());
  EXPECT_EQ(r.type, "full");
  EXPECT_FALSE(r.parent);
  ASSERT_EQ(r.components.count("notes"), 1u);
  EXPECT_EQ(r.components.at("notes").status, "success");
  EXPECT_EQ(r.components.at("notes").size_bytes.value_or(0), 2u);
  ASSERT_TRUE(r.repository);
  EXPECT_EQ(r.repository->new_blobs, 2u);

  // Read back as the next process would: a fresh open, its index loaded.
  auto reopened = Repository::Open(storage_, FixtureKey());
  ASSERT_TRUE(reopened.ok());
  repo_ = std::move(*reopened);
  ASSERT_TRUE(repo_->LoadIndex().ok());
  auto snap = FindSnapshot(*repo_, "latest");
  ASSERT_TRUE(snap.ok()) << snap.status().message();
  EXPECT_EQ(snap->backup_id, r.backup_id);
  EXPECT_DOUBLE_EQ(snap->doc["time_unix"].get<double>(), 1704291930.5);
  EXPECT_EQ(snap->doc["report"]["components"]["notes"]["status"], "success");
  std::set<std::string> notes;
  std::vector<std::string> errors;
  ForEachBlobOf(
      *repo_, *snap,
      [&](const Id& id, const std::string& comp, const std::string& what) {
        EXPECT_EQ(comp, "notes");
        EXPECT_EQ(what, "note");
        auto b = repo_->ReadBlob(id);
        ASSERT_TRUE(b.ok()) << b.status().message();
        notes.insert(std::string(b->begin(), b->end()));
      },
      errors, registry);
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(notes, (std::set<std::string>{"first note", "second note"}));

  // The built-in registry does not know the toy: check reports its entry instead of skipping it.
  ForEachBlobOf(
      *repo_, *snap, [](const Id&, const std::string&, const std::string&) {}, errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("notes: unknown component"), std::string::npos) << errors[0];

  Progress progress;
  CheckResult check = CheckRepository(*repo_, {.read_data = true, .workers = 1, .components = &registry}, progress);
  for (const auto& e : check.errors) ADD_FAILURE() << "check: " << e;
  EXPECT_EQ(check.report["snapshots"], 1);
}

TEST_F(ArchiverTest, NothingConfiguredWritesNoSnapshotAndNamesTheSettings) {
  ComponentRegistry registry;
  registry.Add(std::make_unique<NotesComponent>(std::vector<std::string>{}), 1, 1);
  auto done = ArchiveBackup(*repo_, settings_, registry, {"incremental", "", false});
  ASSERT_TRUE(done.ok()) << done.status().message();
  const BackupReport& r = done->report;
  EXPECT_FALSE(r.overall_success);
  EXPECT_FALSE(r.Stored());
  EXPECT_EQ(r.error.value_or(""), "nothing to back up: set NOTES (see --help)");
  EXPECT_EQ(r.components.at("notes").status, "skipped");
  EXPECT_EQ(r.components.at("notes").reason.value_or(""), "not configured (NOTES)");
  std::vector<std::string> problems;
  auto all = ListSnapshots(*repo_, &problems);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(ArchiverTest, AParentThatIsNoBackupIdIsRefusedBeforeAnythingIsStored) {
  ComponentRegistry registry;
  registry.Add(std::make_unique<NotesComponent>(std::vector<std::string>{"x"}), 1, 1);
  auto done = ArchiveBackup(*repo_, settings_, registry, {"incremental", "/backups/yesterday", false});
  ASSERT_FALSE(done.ok());
  EXPECT_NE(done.status().message().find("PARENT '/backups/yesterday'"), std::string::npos);
}

}  // namespace
}  // namespace stb
