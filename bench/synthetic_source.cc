#include "synthetic_source.h"

#include <algorithm>
#include <cstdio>

namespace stb {

namespace {

constexpr int64_t kBaseMtime = 1'700'000'000;  // as bench/gen_small.py: file i has mtime base + i s
constexpr uint64_t kMinBody = 1024, kMaxBody = 8192;

// splitmix64's finalizer: a well-mixed 64-bit value from any input.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int Digits(uint64_t v) {
  int d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

std::string Padded(uint64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

SyntheticSource::SyntheticSource(const SyntheticShape& shape) : shape_(shape) {
  shape_.per_dir = std::max<uint64_t>(1, shape_.per_dir);
  shape_.bodies = std::max<uint64_t>(1, shape_.bodies);
  roots_.push_back({"synthetic", "/synthetic"});
  dirs_ = (shape_.entries + shape_.per_dir - 1) / shape_.per_dir;
  // Fixed widths keep the numeric order the tree's byte order.
  dir_digits_ = std::max(4, Digits(dirs_ == 0 ? 0 : dirs_ - 1));
  file_digits_ = std::max(7, Digits(shape_.entries == 0 ? 0 : shape_.entries - 1));
}

uint64_t SyntheticSource::BodyOf(uint64_t file) const {
  return Mix(shape_.seed * 0x100000001b3ULL ^ file) % shape_.bodies;
}

uint64_t SyntheticSource::BodySize(uint64_t body) const {
  return kMinBody + Mix(~shape_.seed ^ (body << 1)) % (kMaxBody - kMinBody + 1);
}

// Lowercase hex text, 16 characters per 64-bit word of a stream keyed by (seed, body).
void SyntheticSource::BodyBytes(uint64_t body, uint64_t offset, uint8_t* buf, size_t n) const {
  static const char kHex[] = "0123456789abcdef";
  uint64_t key = Mix(shape_.seed ^ Mix(body));
  size_t k = 0;
  while (k < n) {
    uint64_t p = offset + k;
    uint64_t w = Mix(key + (p >> 4));  // one word per 16 characters
    for (unsigned nib = p & 15; nib < 16 && k < n; ++nib, ++k)
      buf[k] = static_cast<uint8_t>(kHex[(w >> (nib * 4)) & 15]);
  }
}

StatusOr<bool> SyntheticSource::Next(FileNode& node, std::shared_ptr<const WalkDir>& dir) {
  node = FileNode();
  node.uid = 0;
  node.gid = 0;
  if (!root_done_) {
    root_done_ = true;
    node.path = roots_[0].name;
    node.type = FileNode::Type::kDir;
    node.mode = 0755;
    node.mtime_ns = kBaseMtime * 1'000'000'000LL;
    node.inode = 1;
    dir.reset();
    return true;
  }
  if (next_file_ >= shape_.entries) return false;
  uint64_t d = next_file_ / shape_.per_dir;
  std::string dir_rel = roots_[0].name + "/d" + Padded(d, dir_digits_);
  if (dir_pending_) {
    dir_pending_ = false;
    node.path = dir_rel;
    node.type = FileNode::Type::kDir;
    node.mode = 0755;
    node.mtime_ns = (kBaseMtime + static_cast<int64_t>(d)) * 1'000'000'000LL;
    node.inode = 2 + d;
    dir.reset();
    auto w = std::make_shared<WalkDir>();
    w->abs = "/" + dir_rel;
    dir_ = std::move(w);
    return true;
  }
  uint64_t i = next_file_++;
  if (next_file_ % shape_.per_dir == 0) dir_pending_ = true;
  node.path = dir_rel + "/save_" + Padded(i, file_digits_) + ".json";
  node.type = FileNode::Type::kFile;
  node.mode = 0644;
  node.mtime_ns = (kBaseMtime + static_cast<int64_t>(i)) * 1'000'000'000LL;
  node.size = BodySize(BodyOf(i));
  node.inode = 2 + dirs_ + i;  // after the directories'; OpenFile reads the index back from it
  dir = dir_;
  return true;
}

StatusOr<ReadFn> SyntheticSource::OpenFile(const WalkDir*, FileNode& node, std::string&) {
  if (node.inode < 2 + dirs_ || node.inode - 2 - dirs_ >= shape_.entries) {
    return Internal("synthetic source: " + node.path + " is not one of its files");
  }
  uint64_t body = BodyOf(node.inode - 2 - dirs_);
  uint64_t size = BodySize(body), pos = 0;
  return ReadFn([this, body, size, pos](uint8_t* buf, size_t n) mutable -> StatusOr<size_t> {
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, size - pos));
    BodyBytes(body, pos, buf, k);
    pos += k;
    return k;
  });
}

std::string SyntheticSource::AbsPath(const WalkDir*, const FileNode& node) const { return "/" + node.path; }

}  // namespace stb
