// WAL that PostgreSQL removed before wal-receive stored it (an invalidated or vanished slot):
// recorded in $BACKUP_STATE_DIR/wal-slot-lost.json until a physical base backup ends after it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace stb {

struct WalLoss {
  std::string cluster;  // the wal/ folder (WalStore::ClusterOf)
  std::string slot;
  uint32_t tli = 0;
  uint64_t from_lsn = 0, to_lsn = 0;  // [from, to): never stored
  double at = 0;                      // Unix seconds when wal-receive found it
};

// Appends one loss (atomic rename; the file is small); a range of the cluster and timeline
// already recorded is not recorded again.
Status RecordWalLoss(const std::string& state_dir, const WalLoss& loss);
// Every loss recorded; none when the file does not exist.
StatusOr<std::vector<WalLoss>> LoadWalLosses(const std::string& state_dir);
// The losses no base backup has healed: none of the cluster's recovery windows starts (base
// backup end, Unix s) at or after the loss, and no backup of one started at or past its end LSN.
// window_starts: cluster -> every window's from_time; window_start_lsns: cluster -> every
// window's newest backup start LSN (a receiver restarted late finds a loss after the backup that
// already starts past it).
std::vector<WalLoss> UnhealedWalLosses(const std::vector<WalLoss>& losses,
                                       const std::multimap<std::string, double>& window_starts,
                                       const std::multimap<std::string, uint64_t>& window_start_lsns = {});
// "WAL 0/2000000..0/5000000 on timeline 1 of cluster c (slot s) was lost at <ISO time>".
std::string DescribeWalLoss(const WalLoss& loss);

}  // namespace stb
