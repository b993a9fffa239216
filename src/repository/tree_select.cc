#include "repository/tree_select.h"

#include <fnmatch.h>

#include <set>

namespace stb {

bool GlobMatches(const std::string& pattern, const std::string& path) {
  if (pattern.find('/') != std::string::npos) return ::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return ::fnmatch(pattern.c_str(), base.c_str(), 0) == 0;
}

namespace {

// True when the path or one of its ancestors matches one of the globs.
bool PathOrParentMatches(const std::vector<std::string>& globs, const std::string& path) {
  for (std::string p = path;;) {
    for (const auto& g : globs) {
      if (GlobMatches(g, p)) return true;
    }
    size_t slash = p.rfind('/');
    if (slash == std::string::npos) return false;
    p.resize(slash);
  }
}

}  // namespace

Tree SelectNodes(const Tree& tree, const std::string& component, const std::vector<std::string>& includes,
                 const std::vector<std::string>& excludes) {
  std::set<std::string> wanted;  // node paths, with the directories above them
  for (const auto& n : tree.nodes) {
    std::string full = component + "/" + n.path;
    if (!includes.empty() && !PathOrParentMatches(includes, full)) continue;
    if (PathOrParentMatches(excludes, full)) continue;
    for (std::string p = n.path; wanted.insert(p).second;) {
      size_t slash = p.rfind('/');
      if (slash == std::string::npos) break;
      p.resize(slash);
    }
  }
  Tree out;
  out.roots = tree.roots;
  for (const auto& n : tree.nodes) {
    if (wanted.count(n.path)) out.nodes.push_back(n);
  }
  return out;
}

}  // namespace stb
