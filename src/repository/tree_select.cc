#include "repository/tree_select.h"

#include <fnmatch.h>

namespace stb {

bool GlobMatches(const std::string& pattern, const std::string& path) {
  if (pattern.find('/') != std::string::npos) return ::fnmatch(pattern.c_str(), path.c_str(), FNM_PATHNAME) == 0;
  size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return ::fnmatch(pattern.c_str(), base.c_str(), 0) == 0;
}

namespace {

bool AnyMatches(const std::vector<std::string>& globs, const std::string& path) {
  for (const auto& g : globs) {
    if (GlobMatches(g, path)) return true;
  }
  return false;
}

// True when the path or one of its ancestors matches one of the globs.
bool PathOrParentMatches(const std::vector<std::string>& globs, const std::string& path) {
  for (std::string p = path;;) {
    if (AnyMatches(globs, p)) return true;
    size_t slash = p.rfind('/');
    if (slash == std::string::npos) return false;
    p.resize(slash);
  }
}

bool IsBelow(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path[dir.size()] == '/' && path.compare(0, dir.size(), dir) == 0;
}

}  // namespace

NodeSelector::NodeSelector(NodeSource source, std::string component, std::vector<std::string> includes,
                           std::vector<std::string> excludes)
    : source_(std::move(source)),
      component_(std::move(component)),
      includes_(std::move(includes)),
      excludes_(std::move(excludes)) {}

StatusOr<bool> NodeSelector::Next(FileNode& node) {
  while (out_.empty()) {
    FileNode n;
    ASSIGN_OR_RETURN(bool more, source_(n));
    if (!more) return false;
    Take(n);
  }
  node = std::move(out_.front());
  out_.pop_front();
  return true;
}

void NodeSelector::Take(FileNode& n) {
  while (!path_.empty() && !IsBelow(n.path, path_.back().node.path)) path_.pop_back();
  const std::string full = component_ + "/" + n.path;
  bool included, excluded;
  size_t slash = n.path.rfind('/');
  if (!path_.empty() && slash == path_.back().node.path.size()) {  // its directory is held: inherit
    included = path_.back().included || AnyMatches(includes_, full);
    excluded = path_.back().excluded || AnyMatches(excludes_, full);
  } else {
    included = PathOrParentMatches(includes_, full);
    excluded = PathOrParentMatches(excludes_, full);
  }
  const bool wanted = (includes_.empty() || included) && !excluded;
  if (wanted) {
    for (auto& h : path_) {
      if (!h.passed) {
        out_.push_back(h.node);
        h.passed = true;
      }
    }
  }
  if (n.type == FileNode::Type::kDir) {
    path_.push_back({n, wanted, included, excluded});
    if (wanted) out_.push_back(std::move(n));
  } else if (wanted) {
    out_.push_back(std::move(n));
  }
}

Tree SelectNodes(const Tree& tree, const std::string& component, const std::vector<std::string>& includes,
                 const std::vector<std::string>& excludes) {
  size_t i = 0;
  NodeSelector sel(
      [&](FileNode& n) -> StatusOr<bool> {
        if (i >= tree.nodes.size()) return false;
        n = tree.nodes[i++];
        return true;
      },
      component, includes, excludes);
  Tree out;
  out.roots = tree.roots;
  for (FileNode n;;) {
    auto more = sel.Next(n);
    if (!more.ok() || !*more) break;
    out.nodes.push_back(std::move(n));
  }
  return out;
}

}  // namespace stb
