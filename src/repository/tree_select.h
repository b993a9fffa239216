// Selecting nodes of a file tree by glob (`restore --include/--exclude`, `find`): paths are
// "<component>/<root>/a/b", matched with fnmatch(3).
#pragma once

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
Tree SelectNodes(const Tree& tree, const std::string& component, const std::vector<std::string>& includes,
                 const std::vector<std::string>& excludes);

}  // namespace stb
