// The restorer against an in-memory repository with fake components in a test registry: the
// restore order, a failing component among others, a component asked for but missing, an
// unknown --components name, a stop between components.
#include "restorer/restorer.h"

#include <gtest/gtest.h>

#include <set>

#include "fake_component.h"
#include "repo_fixture.h"
#include "storage/storage.h"

namespace stb {
namespace {

using json = nlohmann::json;

class RestorerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Repository::Init(*storage_, FixtureKey()).ok()); }

  // The built-in components' names and restore ranks, registered out of order; failing: the
  // one that fails its restore.
  void Register(const std::string& failing = "") {
    const std::vector<std::pair<std::string, int>> comps = {
        {"player_saves", 4}, {"application", 5}, {"database", 2}, {"configuration", 1}, {"redis", 3}};
    int backup_rank = 0;
    for (const auto& [name, rank] : comps) {
      registry_.Add(std::make_unique<FakeComponent>(name, &calls_, name == failing ? "verification failed" : ""),
                    ++backup_rank, rank);
    }
  }

  std::string Backup(const std::vector<std::string>& comps) {
    auto repo = Repository::Open(storage_, FixtureKey());
    EXPECT_TRUE(repo.ok());
    auto id = ComponentsBackup(**repo, comps);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : "";
  }

  std::set<std::string> ObjectNames() {
    std::set<std::string> names;
    auto list = storage_->List("");
    EXPECT_TRUE(list.ok());
    if (list.ok()) {
      for (const auto& o : *list) names.insert(o.name);
    }
    return names;
  }

  StatusOr<RestoreReport> Restore(RestoreRequest req) {
    req.progress = false;
    req.options.target = "/restore-target";
    return RestoreBackup(registry_, settings_, opener_, req);
  }

  std::shared_ptr<Storage> storage_ = NewMemStorage();
  int opened_ = 0;
  RepositoryOpener opener_ = [this](const std::string& location) -> StatusOr<std::unique_ptr<Repository>> {
    ++opened_;
    if (location != "local") return NotFound("location " + location + " is not configured");
    return Repository::Open(storage_, FixtureKey());
  };
  Settings settings_;
  ComponentRegistry registry_;
  std::vector<std::string> calls_;
};

TEST_F(RestorerTest, RestoresEveryComponentInTheRegistrysRestoreOrder) {
  Register();
  std::string id = Backup({"database", "redis", "player_saves", "configuration", "application"});
  auto before = ObjectNames();
  ASSERT_FALSE(before.empty());
  auto r = Restore({.backup_id = "latest"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  const std::vector<std::string> order = {"configuration", "database", "redis", "player_saves", "application"};
  EXPECT_EQ(calls_, order);
  EXPECT_EQ(r->restore_order, order);
  EXPECT_TRUE(r->overall_success);
  EXPECT_EQ(r->backup_id, id);
  EXPECT_EQ(r->restore_location, "local");
  EXPECT_EQ(r->target, "/restore-target");
  EXPECT_FALSE(r->error);
  EXPECT_TRUE(r->errors.empty());
  EXPECT_GE(r->rto_seconds, 0);
  EXPECT_FALSE(r->start_time.empty());
  EXPECT_FALSE(r->end_time.empty());
  for (const auto& name : order) {
    const ComponentReport& c = r->components.at(name);
    EXPECT_TRUE(c.success) << name;
    EXPECT_TRUE(c.duration_seconds && *c.duration_seconds >= 0 && *c.duration_seconds <= r->rto_seconds) << name;
    EXPECT_EQ(c.size_bytes, 3000u) << name;
    EXPECT_EQ(c.details["restored_to"], "/restore-target/" + name);
  }
  EXPECT_EQ(r->FirstError(), "");
  // A restore writes nothing to the repository and releases its lock.
  EXPECT_EQ(ObjectNames(), before);
}

TEST_F(RestorerTest, AFailingComponentIsReportedAndTheOthersAreStillRestored) {
  Register("database");
  Backup({"database", "redis", "player_saves", "configuration"});
  auto r = Restore({.backup_id = "latest"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(calls_, (std::vector<std::string>{"configuration", "database", "redis", "player_saves"}));
  EXPECT_EQ(r->restore_order, calls_);
  EXPECT_FALSE(r->overall_success);
  EXPECT_FALSE(r->components.at("database").success);
  EXPECT_TRUE(r->components.at("database").duration_seconds);
  EXPECT_TRUE(r->components.at("redis").success);
  EXPECT_TRUE(r->components.at("player_saves").success);
  EXPECT_EQ(r->components.count("application"), 0u);  // not in the backup, not asked for
  EXPECT_FALSE(r->error);
  EXPECT_EQ(r->FirstError(), "database: verification failed");
}

TEST_F(RestorerTest, OnlyTheNamedComponentsAndAMissingOneFails) {
  Register();
  std::string id = Backup({"database", "redis", "player_saves"});
  auto r = Restore({.backup_id = id, .components = {"player_saves", "application", "database"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(calls_, (std::vector<std::string>{"database", "player_saves"}));
  EXPECT_EQ(r->restore_order, calls_);
  EXPECT_FALSE(r->overall_success);
  ASSERT_EQ(r->components.size(), 3u);
  EXPECT_EQ(r->components.at("application").ToJson(),
            json({{"success", false}, {"error", "backup " + id + " does not contain application"}}));
  EXPECT_EQ(r->FirstError(), "application: backup " + id + " does not contain application");
}

TEST_F(RestorerTest, AnUnknownComponentNameIsAnErrorBeforeTheRepositoryIsOpened) {
  Register();
  Backup({"database"});
  auto r = Restore({.backup_id = "latest", .components = {"database", "bogus"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      r.status().message(),
      "--components: unknown component 'bogus' (known: configuration, database, redis, player_saves, application)");
  EXPECT_EQ(opened_, 0);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(RestorerTest, ErrorsBeforeAnyRestore) {
  Register();
  Backup({"database"});
  auto other = Restore({.backup_id = "latest", .location = "s3"});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message(), "location s3 is not configured");
  auto missing = Restore({.backup_id = "19990101_000000"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("19990101_000000"), std::string::npos) << missing.status().message();
  EXPECT_TRUE(calls_.empty());
}

TEST_F(RestorerTest, NothingWantedInTheBackupIsNothingRestored) {
  Register();
  Backup({});
  auto r = Restore({.backup_id = "latest"});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->overall_success);
  EXPECT_EQ(r->error, "nothing was restored");
  EXPECT_TRUE(r->restore_order.empty());
}

TEST_F(RestorerTest, AStopEndsTheRestoreBeforeTheNextComponent) {
  Register();
  Backup({"database", "redis", "player_saves", "configuration"});
  auto r = Restore({.backup_id = "latest", .stop_requested = [&] { return calls_.size() == 2; }});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(calls_, (std::vector<std::string>{"configuration", "database"}));
  EXPECT_FALSE(r->overall_success);
  EXPECT_EQ(r->error, "stopped before redis: the restore did not complete");
  EXPECT_EQ(r->components.size(), 2u);
}

}  // namespace
}  // namespace stb
