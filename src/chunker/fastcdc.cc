#include "chunker/fastcdc.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "crypto/crypto.h"

namespace stb {

static uint64_t TopBits(int n) { return n <= 0 ? 0 : ~uint64_t{0} << (64 - n); }

Chunker::Chunker(const Bytes& seed, ChunkerParams params) : params_(params) {
  if (!std::has_single_bit(params.avg_size) || params.min_size >= params.avg_size ||
      params.avg_size >= params.max_size) {
    throw std::invalid_argument("chunker: need min < avg < max and avg a power of two");
  }
  Bytes table = Hkdf(seed, {}, "spacetime-backup gear table v1", sizeof(gear_));
  std::memcpy(gear_.data(), table.data(), sizeof(gear_));
  // The gear hash shifts left, so its top bits mix the last 64 bytes: test those (FastCDC).
  int bits = std::countr_zero(params.avg_size);
  mask_small_ = TopBits(bits + 2);
  mask_large_ = TopBits(bits - 2);
}

size_t Chunker::FindBoundary(const uint8_t* data, size_t n, bool eof) const {
  const size_t min = params_.min_size, normal = params_.avg_size, max = params_.max_size;
  if (n <= min) return eof ? n : 0;
  size_t limit = n < max ? n : max;
  uint64_t fp = 0;
  size_t i = min;
  const size_t normal_end = limit < normal ? limit : normal;
  for (; i < normal_end; ++i) {
    fp = (fp << 1) + gear_[data[i]];
    if (!(fp & mask_small_)) return i + 1;
  }
  for (; i < limit; ++i) {
    fp = (fp << 1) + gear_[data[i]];
    if (!(fp & mask_large_)) return i + 1;
  }
  if (limit == max) return max;
  return eof ? n : 0;
}

ChunkStream::ChunkStream(const Chunker& chunker, ReadFn read, uint64_t size_hint)
    : chunker_(chunker), read_(std::move(read)) {
  size_t cap = chunker.params().max_size + (1u << 20);
  if (size_hint + 1 < cap) cap = static_cast<size_t>(size_hint) + 1;  // +1: see the end in one read
  buf_.resize(cap);
}

ChunkStream::ChunkStream(const Chunker& chunker, int fd, uint64_t size_hint, std::string what)
    : ChunkStream(
          chunker,
          [fd, what = std::move(what)](uint8_t* buf, size_t n) -> StatusOr<size_t> {
            for (;;) {
              ssize_t r = ::read(fd, buf, n);
              if (r >= 0) return static_cast<size_t>(r);
              if (errno != EINTR) return ErrnoStatus("reading " + what, errno);
            }
          },
          size_hint) {
#ifdef POSIX_FADV_SEQUENTIAL
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

Status ChunkStream::Fill() {
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == buf_.size())
    buf_.resize(buf_.size() * 2 > chunker_.params().max_size + (1u << 20) ? chunker_.params().max_size + (1u << 20)
                                                                          : buf_.size() * 2);
  while (end_ < buf_.size() && !eof_) {
    ASSIGN_OR_RETURN(size_t r, read_(buf_.data() + end_, buf_.size() - end_));
    if (r == 0) eof_ = true;
    end_ += r;
    bytes_read_ += r;
  }
  return Status::Ok();
}

Status ChunkStream::Next(std::span<const uint8_t>& chunk) {
  for (;;) {
    size_t avail = end_ - pos_;
    size_t cut = chunker_.FindBoundary(buf_.data() + pos_, avail, eof_);
    if (cut > 0 || (eof_ && avail == 0)) {
      chunk = {buf_.data() + pos_, cut};
      pos_ += cut;
      return Status::Ok();
    }
    RETURN_IF_ERROR(Fill());
  }
}

}  // namespace stb
