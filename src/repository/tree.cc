#include "repository/tree.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "repository/blob_saver.h"
#include "repository/blob_stream.h"
#include "repository/repository.h"

namespace stb {

class TreeCursor;

namespace {

// Binary tree encoding (doc/design.md, "Tree"): "STBT", version byte, then varints and
// length-prefixed byte strings. Paths share the prefix of the previous node's path. Version 2
// (written since trees are streamed) ends the nodes with kEnd instead of counting them up front,
// as a streaming writer does not know the count until the end.
constexpr char kMagic[4] = {'S', 'T', 'B', 'T'};
constexpr uint8_t kVersionCounted = 1;
constexpr uint8_t kVersion = 2;
constexpr uint8_t kEnd = 0xff;

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

void PutHeader(Bytes& out, const std::vector<TreeRoot>& roots) {
  out.insert(out.end(), kMagic, kMagic + 4);
  out.push_back(kVersion);
  PutVar(out, roots.size());
  for (const auto& r : roots) {
    PutStr(out, r.name);
    PutStr(out, r.path);
  }
}

void PutNode(Bytes& out, const FileNode& n, std::string& prev) {
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

struct NeedMore {};  // the bytes end inside an item: the cursor fetches the next blob and retries

class Reader {
 public:
  Reader(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  uint64_t Var() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      uint8_t c = Byte();
      if (shift == 63 && c > 1) throw std::runtime_error("varint too long");
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
  size_t left() const { return static_cast<size_t>(end_ - p_); }
  const uint8_t* pos() const { return p_; }

 private:
  void Need(uint64_t n) {
    if (n > static_cast<uint64_t>(end_ - p_)) throw NeedMore{};
  }
  const uint8_t* p_;
  const uint8_t* end_;
};

// One node after its type byte. prev is only updated once the whole node was read.
void ReadNode(Reader& in, uint8_t type, std::string& prev, FileNode& n) {
  if (type > 2) throw std::runtime_error("unknown node type");
  n.type = static_cast<FileNode::Type>(type);
  uint64_t common = in.Var();
  if (common > prev.size()) throw std::runtime_error("bad path prefix");
  std::string path = prev.substr(0, static_cast<size_t>(common)) + in.Str();
  n.mode = static_cast<uint32_t>(in.Var());
  n.uid = static_cast<uint32_t>(in.Var());
  n.gid = static_cast<uint32_t>(in.Var());
  n.mtime_ns = static_cast<int64_t>(in.Var());
  n.size = 0;
  n.inode = 0;
  n.dev = 0;
  n.target.clear();
  n.content.clear();
  if (n.type == FileNode::Type::kFile) {
    n.size = in.Var();
    n.inode = in.Var();
    uint64_t blobs = in.Var();
    if (blobs > in.left() / 32) {
      if (blobs > (uint64_t(1) << 40)) throw std::runtime_error("bad blob count");
      throw NeedMore{};  // checked against the bytes before anything is allocated
    }
    n.content.resize(static_cast<size_t>(blobs));
    for (auto& id : n.content) in.Raw(id.b.data(), id.b.size());
  } else if (n.type == FileNode::Type::kSymlink) {
    n.target = in.Str();
  }
  n.path = std::move(path);
  prev = n.path;
}

StatusOr<Tree> ReadWhole(TreeCursor& cursor) {
  Tree t;
  t.roots = cursor.roots();
  FileNode n;
  for (;;) {
    ASSIGN_OR_RETURN(bool more, cursor.Next(n));
    if (!more) return t;
    t.nodes.push_back(std::move(n));
  }
}

}  // namespace

int CompareTreePaths(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return -1;
    if (b[i] == '/') return 1;
    return static_cast<uint8_t>(a[i]) < static_cast<uint8_t>(b[i]) ? -1 : 1;
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

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
  Bytes out;
  PutHeader(out, tree.roots);
  std::string prev;
  for (const auto& n : tree.nodes) PutNode(out, n, prev);
  out.push_back(kEnd);
  return out;
}

StatusOr<Tree> ParseTree(const Bytes& data) {
  ASSIGN_OR_RETURN(auto cursor, TreeCursor::FromBytes(data));
  return ReadWhole(*cursor);
}

TreeWriter::TreeWriter(Repository& repo, BlobSaver& saver, const std::vector<TreeRoot>& roots)
    : repo_(repo), saver_(saver) {
  // Never grown by doubling: a cut happens at max_size, so this holds the window and one node.
  buf_.reserve(repo.chunker().params().max_size + (1u << 20));
  PutHeader(buf_, roots);
}

Status TreeWriter::Add(const FileNode& node) {
  PutNode(buf_, node, prev_);
  if (buf_.size() - pos_ >= repo_.chunker().params().max_size) return Cut(false);
  return Status::Ok();
}

// Stores every chunk the chunker can decide; the rest waits for more nodes (or the end).
Status TreeWriter::Cut(bool eof) {
  while (pos_ < buf_.size()) {
    size_t cut = repo_.chunker().FindBoundary(buf_.data() + pos_, buf_.size() - pos_, eof);
    if (cut == 0) break;
    ASSIGN_OR_RETURN(Id id, saver_.Save(BlobType::kTree, buf_.data() + pos_, cut));
    ids_.push_back(id);
    pos_ += cut;
  }
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
  pos_ = 0;
  return Status::Ok();
}

StatusOr<std::vector<Id>> TreeWriter::Finish() {
  buf_.push_back(kEnd);
  RETURN_IF_ERROR(Cut(true));
  return std::move(ids_);
}

TreeCursor::TreeCursor() = default;
TreeCursor::~TreeCursor() = default;

StatusOr<std::unique_ptr<TreeCursor>> TreeCursor::Open(Repository& repo, const nlohmann::json& entry) {
  ASSIGN_OR_RETURN(std::vector<Id> ids, EntryBlobIds(entry, "tree"));
  std::unique_ptr<TreeCursor> c(new TreeCursor());
  // Two reads ahead: the tree is read while the files it names are, and its blobs are large.
  c->stream_ = std::make_unique<BlobStream>(repo, std::move(ids), BlobStreamOptions{.window = 2});
  RETURN_IF_ERROR(c->Header());
  return c;
}

StatusOr<std::unique_ptr<TreeCursor>> TreeCursor::FromBytes(Bytes data) {
  std::unique_ptr<TreeCursor> c(new TreeCursor());
  c->buf_ = std::move(data);
  RETURN_IF_ERROR(c->Header());
  return c;
}

Status TreeCursor::Fill() {
  Bytes part;
  bool more = false;
  if (stream_) {
    ASSIGN_OR_RETURN(more, stream_->Next(part));
  }
  if (!more) return Corrupt("tree: truncated");
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
  pos_ = 0;
  buf_.insert(buf_.end(), part.begin(), part.end());
  return Status::Ok();
}

Status TreeCursor::Header() {
  for (;;) {
    try {
      Reader in(buf_.data() + pos_, buf_.data() + buf_.size());
      uint8_t magic[4];
      in.Raw(magic, 4);
      if (std::memcmp(magic, kMagic, 4) != 0) return Corrupt("tree: not a tree");
      version_ = in.Byte();
      if (version_ != kVersion && version_ != kVersionCounted) return Corrupt("tree: unknown tree version");
      uint64_t count = in.Var();
      std::vector<TreeRoot> roots;
      for (uint64_t i = 0; i < count; ++i) {
        TreeRoot r;
        r.name = in.Str();
        r.path = in.Str();
        roots.push_back(std::move(r));
      }
      if (version_ == kVersionCounted) remaining_ = in.Var();
      roots_ = std::move(roots);
      pos_ = static_cast<size_t>(in.pos() - buf_.data());
      return Status::Ok();
    } catch (const NeedMore&) {
      RETURN_IF_ERROR(Fill());
    } catch (const std::exception& e) {
      return Corrupt(std::string("tree: ") + e.what());
    }
  }
}

StatusOr<bool> TreeCursor::Next(FileNode& node) {
  if (!error_.ok()) return error_;
  for (;;) {
    if (done_) return false;
    try {
      Reader in(buf_.data() + pos_, buf_.data() + buf_.size());
      if (version_ == kVersionCounted && remaining_ == 0) {
        done_ = true;
      } else {
        uint8_t type = in.Byte();
        if (type == kEnd && version_ == kVersion) {
          done_ = true;
        } else {
          ReadNode(in, type, prev_, node);
          if (version_ == kVersionCounted) --remaining_;
          pos_ = static_cast<size_t>(in.pos() - buf_.data());
          return true;
        }
      }
      // The end: nothing may follow, in this blob or in another.
      pos_ = static_cast<size_t>(in.pos() - buf_.data());
      Bytes part;
      bool more = false;
      if (stream_) {
        auto r = stream_->Next(part);
        if (!r.ok()) return error_ = r.status();
        more = *r;
      }
      if (pos_ != buf_.size() || more) return error_ = Corrupt("tree: trailing bytes");
      return false;
    } catch (const NeedMore&) {
      Status st = Fill();
      if (!st.ok()) return error_ = st;
    } catch (const std::exception& e) {
      return error_ = Corrupt(std::string("tree: ") + e.what());
    }
  }
}

StatusOr<std::vector<Id>> SaveTree(Repository& repo, BlobSaver& saver, const Tree& tree) {
  TreeWriter w(repo, saver, tree.roots);
  for (const auto& n : tree.nodes) RETURN_IF_ERROR(w.Add(n));
  return w.Finish();
}

StatusOr<Tree> LoadTree(Repository& repo, const nlohmann::json& entry) {
  ASSIGN_OR_RETURN(auto cursor, TreeCursor::Open(repo, entry));
  return ReadWhole(*cursor);
}

}  // namespace stb
