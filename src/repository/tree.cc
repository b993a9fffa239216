#include "repository/tree.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "repository/blob_saver.h"
#include "repository/blob_stream.h"
#include "repository/repository.h"

namespace stb {

namespace {

// Binary tree encoding (doc/design.md, "Tree"): "STBT", version byte, then varints and
// length-prefixed byte strings. Paths share the prefix of the previous node's path.
constexpr char kMagic[4] = {'S', 'T', 'B', 'T'};
constexpr uint8_t kVersion = 1;

void PutVar(Bytes& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}
void PutStr(Bytes& out, std::string_view s) {
  PutVar(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

class Reader {
 public:
  explicit Reader(const Bytes& b) : p_(b.data()), end_(b.data() + b.size()) {}
  uint64_t Var() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t c = Byte();
      v |= uint64_t(c & 0x7f) << shift;
      if (!(c & 0x80)) return v;
    }
    throw std::runtime_error("varint too long");
  }
  uint8_t Byte() {
    Need(1);
    return *p_++;
  }
  std::string Str() {
    uint64_t n = Var();
    Need(n);
    std::string s(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return s;
  }
  void Raw(uint8_t* dst, size_t n) {
    Need(n);
    std::memcpy(dst, p_, n);
    p_ += n;
  }
  bool done() const { return p_ == end_; }

 private:
  void Need(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) throw std::runtime_error("truncated");
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace

bool IsSafeRelativePath(const std::string& path) {
  if (path.empty() || path[0] == '/' || path.find('\0') != std::string::npos) return false;
  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string part = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (end == std::string::npos) return true;
    start = end + 1;
  }
}

Bytes SerializeTree(const Tree& tree) {
  Bytes out(kMagic, kMagic + 4);
  out.push_back(kVersion);
  PutVar(out, tree.roots.size());
  for (const auto& r : tree.roots) {
    PutStr(out, r.name);
    PutStr(out, r.path);
  }
  PutVar(out, tree.nodes.size());
  std::string_view prev;
  for (const auto& n : tree.nodes) {
    out.push_back(static_cast<uint8_t>(n.type));
    size_t common = 0;
    while (common < prev.size() && common < n.path.size() && prev[common] == n.path[common]) ++common;
    PutVar(out, common);
    PutStr(out, std::string_view(n.path).substr(common));
    prev = n.path;
    PutVar(out, n.mode);
    PutVar(out, n.uid);
    PutVar(out, n.gid);
    PutVar(out, static_cast<uint64_t>(n.mtime_ns));  // two's complement: pre-1970 times survive
    if (n.type == FileNode::Type::kFile) {
      PutVar(out, n.size);
      PutVar(out, n.inode);
      PutVar(out, n.content.size());
      for (const auto& id : n.content) out.insert(out.end(), id.b.begin(), id.b.end());
    } else if (n.type == FileNode::Type::kSymlink) {
      PutStr(out, n.target);
    }
  }
  return out;
}

StatusOr<Tree> ParseTree(const Bytes& data) {
  try {
    if (data.size() < 5 || std::memcmp(data.data(), kMagic, 4) != 0) throw std::runtime_error("not a tree");
    Reader in(data);
    for (int i = 0; i < 4; ++i) in.Byte();
    if (in.Byte() != kVersion) throw std::runtime_error("unknown tree version");
    Tree t;
    uint64_t roots = in.Var();
    for (uint64_t i = 0; i < roots; ++i) {
      TreeRoot r;
      r.name = in.Str();
      r.path = in.Str();
      t.roots.push_back(std::move(r));
    }
    uint64_t count = in.Var();
    t.nodes.reserve(static_cast<size_t>(std::min<uint64_t>(count, data.size())));
    std::string prev;
    for (uint64_t i = 0; i < count; ++i) {
      FileNode n;
      uint8_t type = in.Byte();
      if (type > 2) throw std::runtime_error("unknown node type");
      n.type = static_cast<FileNode::Type>(type);
      uint64_t common = in.Var();
      if (common > prev.size()) throw std::runtime_error("bad path prefix");
      n.path = prev.substr(0, static_cast<size_t>(common)) + in.Str();
      prev = n.path;
      n.mode = static_cast<uint32_t>(in.Var());
      n.uid = static_cast<uint32_t>(in.Var());
      n.gid = static_cast<uint32_t>(in.Var());
      n.mtime_ns = static_cast<int64_t>(in.Var());
      if (n.type == FileNode::Type::kFile) {
        n.size = in.Var();
        n.inode = in.Var();
        uint64_t blobs = in.Var();
        if (blobs > data.size() / 32) throw std::runtime_error("bad blob count");
        n.content.resize(static_cast<size_t>(blobs));
        for (auto& id : n.content) in.Raw(id.b.data(), id.b.size());
      } else if (n.type == FileNode::Type::kSymlink) {
        n.target = in.Str();
      }
      t.nodes.push_back(std::move(n));
    }
    if (!in.done()) throw std::runtime_error("trailing bytes");
    return t;
  } catch (const std::exception& e) {
    return Corrupt(std::string("tree: ") + e.what());
  }
}

StatusOr<std::vector<Id>> SaveTree(Repository& repo, BlobSaver& saver, const Tree& tree) {
  Bytes data = SerializeTree(tree);
  std::vector<Id> ids;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t cut = repo.chunker().FindBoundary(data.data() + pos, data.size() - pos, true);
    ASSIGN_OR_RETURN(Id id, saver.Save(BlobType::kTree, data.data() + pos, cut));
    ids.push_back(id);
    pos += cut;
  }
  return ids;
}

StatusOr<Tree> LoadTree(Repository& repo, const nlohmann::json& entry) {
  Bytes data;
  ASSIGN_OR_RETURN(std::vector<Id> ids, EntryBlobIds(entry, "tree"));
  RETURN_IF_ERROR(StreamBlobs(repo, std::move(ids), [&](const Bytes& part) {
    data.insert(data.end(), part.begin(), part.end());
    return Status::Ok();
  }));
  return ParseTree(data);
}

}  // namespace stb
