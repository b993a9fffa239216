// Replication between two locations of one repository: copies what the target lacks, in an order
// that keeps the target a consistent repository at every moment, and verifies what it copies.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/status.h"
#include "core/stop.h"
#include "storage/storage.h"

namespace stb {

struct ReplicateOptions {
  int jobs = 4;  // objects copied at once
  // Also delete from the target what the source no longer has. Only ever explicit (`replicate
  // --delete`): the copies after a backup only add, so that a rolled-back or partly restored
  // source cannot take the copies' history with it. Refused when the source holds fewer
  // snapshots than the target, unless force is set.
  bool mirror_deletions = false;
  bool force = false;
  const StopToken* stop = nullptr;  // e.g. ProcessStopToken(): stop between objects
};

struct ReplicateStats {
  uint64_t objects_copied = 0, bytes_copied = 0;
  uint64_t objects_present = 0;  // already in the target
  uint64_t objects_deleted = 0;
  double seconds = 0;
};

// The options of the copies made after every init and backup: additions only, never a deletion.
ReplicateOptions AutomaticCopyOptions(int jobs);

// Copies config, keys/, ids/, data/, index/ and then snapshots/ (a snapshot only once everything
// it references is there), skipping locks/. An object named by its hash (data/, index/,
// snapshots/) is checked against its name before it is written, so a corrupt source object is
// reported, never spread. Refuses when both sides have a config and they differ (two different
// repositories). The first failure stops the copy: the target is then behind, never inconsistent.
StatusOr<ReplicateStats> Replicate(Storage& from, Storage& to, const ReplicateOptions& options);

}  // namespace stb
