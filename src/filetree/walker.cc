#include "filetree/walker.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "core/file_util.h"

namespace stb {

bool IsExcluded(const std::vector<std::string>& patterns, const std::string& name, const std::string& rel_path) {
  for (const auto& p : patterns) {
    if (p.find('/') != std::string::npos) {
      if (fnmatch(p.c_str(), rel_path.c_str(), FNM_PATHNAME) == 0) return true;
    } else if (fnmatch(p.c_str(), name.c_str(), 0) == 0) {
      return true;
    }
  }
  return false;
}

std::vector<TreeRoot> NameRoots(const std::vector<std::string>& paths) {
  std::vector<TreeRoot> out;
  std::set<std::string> used;
  for (const auto& p : paths) {
    std::string base = Basename(p);
    if (base.empty() || base == "/" || base == "." || base == "..") base = "root";
    std::string name = base;
    for (int i = 2; used.count(name); ++i) name = base + "-" + std::to_string(i);
    used.insert(name);
    out.push_back({name, p});
  }
  return out;
}

namespace {

FileNode FromStat(const std::string& path, const struct stat& st) {
  FileNode n;
  n.path = path;
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  n.inode = st.st_ino;
  n.dev = st.st_dev;
  if (S_ISDIR(st.st_mode)) {
    n.type = FileNode::Type::kDir;
  } else if (S_ISLNK(st.st_mode)) {
    n.type = FileNode::Type::kSymlink;
  } else {
    n.type = FileNode::Type::kFile;
    n.size = static_cast<uint64_t>(st.st_size);
  }
  return n;
}

// Walks the directory open as `dir` (its path `abs`, for messages). One descriptor per level
// of depth is open at a time.
void WalkDir(Fd dir, const std::string& abs, const std::string& rel, const std::string& rel_in_root,
             const std::vector<std::string>& excludes, Tree& tree, std::vector<std::string>& problems) {
  DIR* d = ::fdopendir(dir.get());
  if (!d) {
    problems.push_back(abs + ": " + std::strerror(errno));
    return;
  }
  dir.release();  // closedir closes it
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
  }
  std::sort(names.begin(), names.end());
  int dfd = dirfd(d);
  for (const auto& name : names) {
    std::string child_rel_in_root = rel_in_root.empty() ? name : rel_in_root + "/" + name;
    if (IsExcluded(excludes, name, child_rel_in_root)) continue;
    struct stat st;
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) problems.push_back(abs + "/" + name + ": " + std::strerror(errno));
      continue;  // ENOENT: removed while we walked
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
      problems.push_back(abs + "/" + name + ": skipped (not a file, directory or symlink)");
      continue;
    }
    FileNode n = FromStat(rel + "/" + name, st);
    if (n.type == FileNode::Type::kSymlink) {
      std::string target(static_cast<size_t>(st.st_size) + 256, '\0');
      ssize_t len = ::readlinkat(dfd, name.c_str(), target.data(), target.size());
      if (len < 0) {
        problems.push_back(abs + "/" + name + ": " + std::strerror(errno));
        continue;
      }
      target.resize(static_cast<size_t>(len));
      n.target = std::move(target);
    }
    tree.nodes.push_back(std::move(n));
    if (!S_ISDIR(st.st_mode)) continue;
    // Never through a symlink: one swapped in since the fstatat is skipped, not entered.
    Fd sub(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) {
      int err = errno;
      if (err == ENOENT || err == ELOOP || err == ENOTDIR) {
        tree.nodes.pop_back();  // no longer the directory that was listed
        problems.push_back(abs + "/" + name +
                           (err == ENOENT ? ": removed during the backup"
                                          : ": changed during the backup (no longer a directory); skipped, not read"));
      } else {
        problems.push_back(abs + "/" + name + ": " + std::strerror(err));  // kept as an empty directory
      }
      continue;
    }
    WalkDir(std::move(sub), abs + "/" + name, rel + "/" + name, child_rel_in_root, excludes, tree, problems);
  }
  ::closedir(d);
}

}  // namespace

StatusOr<Tree> WalkRoots(const std::vector<TreeRoot>& roots, const std::vector<std::string>& excludes,
                         std::vector<std::string>& problems) {
  Tree tree;
  tree.roots = roots;
  for (const auto& r : roots) {
    Fd fd(::open(r.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat st;
    if (!fd.valid()) {
      int err = errno;
      if (::stat(r.path.c_str(), &st) != 0) return ErrnoStatus("source directory " + r.path, errno);
      if (!S_ISDIR(st.st_mode)) return InvalidArgument("source " + r.path + " is not a directory");
      tree.nodes.push_back(FromStat(r.name, st));  // a directory we may not list: recorded empty
      problems.push_back(r.path + ": " + std::strerror(err));
      continue;
    }
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("source directory " + r.path, errno);
    tree.nodes.push_back(FromStat(r.name, st));
    WalkDir(std::move(fd), r.path, r.name, "", excludes, tree, problems);
  }
  return tree;
}

}  // namespace stb
