#include "wal/slot_loss.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>

namespace stb {
namespace {

// A loss stays until a recovery window of the same cluster starts after it.
TEST(WalLoss, RecordedUntilABaseBackupEndsAfterIt) {
  std::string dir = "/tmp/stb-slot-loss-test-" + std::to_string(::getpid());
  auto none = LoadWalLosses(dir);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->empty());
  WalLoss l{"c1", "spacetime_backup", 1, 0x2000000, 0x5000000, 1000};
  ASSERT_TRUE(RecordWalLoss(dir, l).ok());
  l.cluster = "c2";
  ASSERT_TRUE(RecordWalLoss(dir, l).ok());
  auto all = LoadWalLosses(dir);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].cluster, "c1");
  EXPECT_EQ((*all)[0].to_lsn, 0x5000000u);
  EXPECT_NE(DescribeWalLoss((*all)[0]).find("WAL 0/2000000..0/5000000 on timeline 1 of cluster c1"), std::string::npos);
  // c1: one window from before the loss (does not heal it), one after; c2: another cluster's.
  std::multimap<std::string, double> starts{{"c1", 500}, {"c1", 1500}, {"c3", 2000}};
  auto left = UnhealedWalLosses(*all, starts);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].cluster, "c2");
  EXPECT_EQ(UnhealedWalLosses(*all, {{"c1", 500}}).size(), 2u);
  // Found after the backup ended, but the backup started past the lost WAL: healed by LSN.
  EXPECT_EQ(UnhealedWalLosses(*all, {{"c1", 500}}, {{"c1", 0x5000000}}).size(), 1u);
  EXPECT_EQ(UnhealedWalLosses(*all, {{"c1", 500}}, {{"c1", 0x4000000}}).size(), 2u);
  std::system(("rm -rf " + dir).c_str());
}

// Found again by a restarted receiver: still one loss, at the time it was first found, so a base
// backup ended between the two finds heals it.
TEST(WalLoss, TheSameRangeFoundAgainKeepsItsFirstTime) {
  std::string dir = "/tmp/stb-slot-loss-again-" + std::to_string(::getpid());
  WalLoss l{"c1", "spacetime_backup", 1, 0x2000000, 0x5000000, 1000};
  ASSERT_TRUE(RecordWalLoss(dir, l).ok());
  WalLoss again = l;
  again.at = 2000;
  ASSERT_TRUE(RecordWalLoss(dir, again).ok());
  again.from_lsn = 0x3000000;  // inside the recorded range
  ASSERT_TRUE(RecordWalLoss(dir, again).ok());
  auto all = LoadWalLosses(dir);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].at, 1000);
  EXPECT_TRUE(UnhealedWalLosses(*all, {{"c1", 1500}}).empty());
  WalLoss later = l;  // WAL past the recorded range: a new loss
  later.from_lsn = 0x5000000;
  later.to_lsn = 0x6000000;
  later.at = 3000;
  ASSERT_TRUE(RecordWalLoss(dir, later).ok());
  all = LoadWalLosses(dir);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  std::system(("rm -rf " + dir).c_str());
}

TEST(WalLoss, ADamagedRecordIsAnError) {
  std::string dir = "/tmp/stb-slot-loss-bad-" + std::to_string(::getpid());
  std::system(("mkdir -p " + dir + " && echo '{oops' > " + dir + "/wal-slot-lost.json").c_str());
  auto r = LoadWalLosses(dir);
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  std::system(("rm -rf " + dir).c_str());
}

// A field of the wrong type (a hand edit, a damaged disk) is an error, not an exception that
// would end check or schedule.
TEST(WalLoss, AWrongTypedFieldIsAnError) {
  std::string dir = "/tmp/stb-slot-loss-type-" + std::to_string(::getpid());
  std::system(("mkdir -p " + dir +
               " && echo '[{\"cluster\": 7, \"slot\": \"s\", \"timeline\": 1, \"from_lsn\": 1, "
               "\"to_lsn\": 2, \"at\": 3}]' > " +
               dir + "/wal-slot-lost.json")
                  .c_str());
  auto r = LoadWalLosses(dir);
  EXPECT_EQ(r.status().code(), Code::kCorrupt);
  EXPECT_EQ(RecordWalLoss(dir, WalLoss{"c1", "s", 1, 1, 2, 3}).code(), Code::kCorrupt);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace stb
