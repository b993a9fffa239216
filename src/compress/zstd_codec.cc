#include "compress/zstd_codec.h"

#include <zstd.h>

#include <memory>

namespace stb {

namespace {
struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};
thread_local std::unique_ptr<ZSTD_CCtx, CCtxFree> tls_cctx;
thread_local std::unique_ptr<ZSTD_DCtx, DCtxFree> tls_dctx;
}  // namespace

bool CompressIfSmaller(const uint8_t* src, size_t n, int level, Bytes& out) {
  if (n < 64) return false;
  // Only a result below n is useful, so the output never needs compressBound's extra room.
  out.resize(n - 1);
  size_t r = CompressIntoIfSmaller(src, n, level, out.data());
  if (r == 0) return false;
  out.resize(r);
  return true;
}

size_t CompressIntoIfSmaller(const uint8_t* src, size_t n, int level, uint8_t* dst) {
  if (n < 64) return 0;
  if (!tls_cctx) tls_cctx.reset(ZSTD_createCCtx());
  ZSTD_CCtx_reset(tls_cctx.get(), ZSTD_reset_session_only);
  ZSTD_CCtx_setParameter(tls_cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(tls_cctx.get(), ZSTD_c_checksumFlag, 0);
  size_t r = ZSTD_compress2(tls_cctx.get(), dst, n - 1, src, n);
  return ZSTD_isError(r) ? 0 : r;  // dstSize_tooSmall: incompressible
}

Status Decompress(const uint8_t* src, size_t n, size_t raw_size, Bytes& out) {
  if (!tls_dctx) tls_dctx.reset(ZSTD_createDCtx());
  out.resize(raw_size);
  size_t r = ZSTD_decompressDCtx(tls_dctx.get(), out.data(), out.size(), src, n);
  if (ZSTD_isError(r)) return Corrupt(std::string("zstd: ") + ZSTD_getErrorName(r));
  if (r != raw_size) return Corrupt("zstd: decompressed size differs from the index");
  return Status::Ok();
}

}  // namespace stb
