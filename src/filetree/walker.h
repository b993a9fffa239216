// Walks a set of roots (a file component's, Redis's AOF directory) into a Tree (content not yet read), applying exclude
// patterns; unreadable entries are reported as problems rather than failing the walk.
//
// A root is an operator-configured path and is opened as given (a deploy symlink such as
// /opt/game/current is followed). Beneath it the walk is relative to directory descriptors and
// never follows a symlink: each subdirectory is opened with O_NOFOLLOW|O_DIRECTORY from its
// parent, so one swapped for a symlink mid-walk is skipped, not entered. Nodes carry the device
// and inode the walk saw, which the reads check.
#pragma once

#include <string>
#include <vector>

#include "repository/tree.h"

namespace stb {

// True when a name (or, for patterns with '/', the relative path) matches a glob pattern.
bool IsExcluded(const std::vector<std::string>& patterns, const std::string& name, const std::string& rel_path);

// Root names are the paths' basenames, made unique ("config", "config-2").
std::vector<TreeRoot> NameRoots(const std::vector<std::string>& paths);

// Missing roots are errors; problems gets "path: reason" for entries that were skipped.
StatusOr<Tree> WalkRoots(const std::vector<TreeRoot>& roots, const std::vector<std::string>& excludes,
                         std::vector<std::string>& problems);

}  // namespace stb
