// Selecting nodes of a file tree by glob (`restore --include/--exclude`, `find`): paths are
// "<component>/<root>/a/b", matched with fnmatch(3).
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "repository/tree.h"

namespace stb {

// fnmatch(3) glob: a pattern with a '/' is matched against the whole path (a '*' does not cross
// '/'), one without against the last path element.
bool GlobMatches(const std::string& pattern, const std::string& path);

// The nodes of a file component's tree to restore: those that match an include glob (or lie
// below a directory that does; all when there is none), less those that match an exclude glob
// (or lie below one), plus the directories above them so they have somewhere to go. Globs are
// matched as GlobMatches does, against "<component>/<root>/a/b".
//
// Streamed from a source in tree order, in the same order: a directory is only known to be
// wanted when something wanted beneath it arrives, so the directories along the current path are
// held (at most the tree's depth) and passed on when the first wanted node below them is.
class NodeSelector {
 public:
  NodeSelector(NodeSource source, std::string component, std::vector<std::string> includes,
               std::vector<std::string> excludes);
  StatusOr<bool> Next(FileNode& node);

 private:
  struct Held {
    FileNode node;            // a directory of the current path
    bool passed;              // already passed on
    bool included, excluded;  // it or a directory above it matches an include / exclude glob
  };
  void Take(FileNode& n);
  NodeSource source_;
  std::string component_;
  std::vector<std::string> includes_, excludes_;
  std::vector<Held> path_;
  std::deque<FileNode> out_;  // to pass on: the held directories above a wanted node, and it
};

// The same over a whole tree (tests, small trees).
Tree SelectNodes(const Tree& tree, const std::string& component, const std::vector<std::string>& includes,
                 const std::vector<std::string>& excludes);

}  // namespace stb
