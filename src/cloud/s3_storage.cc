// Amazon S3 and S3-compatible stores (Ceph radosgw, MinIO) as a location: Signature V4 requests
// over HttpClient, multipart upload above a threshold, ListObjectsV2 pages, storage error classes.
#include "cloud/s3_storage.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <optional>

#include "core/encoding.h"
#include "core/env.h"
#include "core/parse.h"
#include "crypto/digest.h"

namespace stb {

namespace {

constexpr uint64_t kMinPartSize = 5ull << 20;  // S3 refuses smaller parts, except the last
constexpr uint64_t kMaxParts = 10000;          // and more parts than this
constexpr const char* kCredentials = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

std::string AmzDateNow() {
  time_t now = Env::Default().Now();
  struct tm t;
  gmtime_r(&now, &t);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &t);
  return buf;
}

// Query parameters by name: a std::map keeps them in the sorted order SigV4 signs.
using Query = std::map<std::string, std::string>;

std::string CanonicalQuery(const Query& q) {
  std::string out;
  for (const auto& [k, v] : q) {
    if (!out.empty()) out += '&';
    out += UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return out;
}

// A decimal byte count from a header or an XML answer; nullopt if it is not one.
std::optional<uint64_t> ParseSize(const std::string& s) {
  auto n = ParseUint(s);
  return n.ok() ? std::optional<uint64_t>(*n) : std::nullopt;
}

}  // namespace

Status ParseS3ListPage(std::string_view xml, const std::string& key_prefix, std::vector<ObjectInfo>& out,
                       std::string& next_token) {
  for (std::string_view c : XmlBlocks(xml, "Contents")) {
    std::string key = XmlValue(c, "Key");
    if (!key.starts_with(key_prefix)) continue;  // not ours (cannot happen with a prefix query)
    std::optional<uint64_t> size = ParseSize(XmlValue(c, "Size"));
    if (!size) return IoError("no size for " + key);
    out.push_back({key.substr(key_prefix.size()), *size});
  }
  next_token.clear();
  if (XmlValue(xml, "IsTruncated") != "true") return Status::Ok();
  next_token = XmlValue(xml, "NextContinuationToken");
  if (next_token.empty()) return IoError("truncated answer without a continuation token");
  return Status::Ok();
}

namespace {

// The S3 error codes a 200 answer to CompleteMultipartUpload may carry that are worth a retry.
bool RetryableCode(const std::string& code) {
  return code == "InternalError" || code == "SlowDown" || code == "ServiceUnavailable" || code == "RequestTimeout";
}

class S3Storage final : public Storage {
 public:
  S3Storage(S3Options o, std::string scheme, std::string authority, bool virtual_host)
      : o_(std::move(o)),
        scheme_(std::move(scheme)),
        authority_(std::move(authority)),
        virtual_host_(virtual_host),
        http_(o_.http) {}

  std::string Describe() const override { return "s3 " + o_.bucket + "/" + o_.prefix; }
  // Create-only is "If-None-Match: *" on the PUT: AWS checks it atomically (since 2024), and so
  // does radosgw (an exclusive create in RADOS; s3_conformance races 8 writers for it each run).
  // A store that ignored the header would break this promise.
  StorageCaps Caps() const override { return {.atomic_create = true, .parallelism = 4}; }

  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    // A create-only object goes up in one request: If-None-Match is checked on that PUT.
    if (n >= o_.multipart_threshold && mode == PutMode::kReplace) return PutMultipart(name, data, n);
    HttpHeaders h;
    if (mode == PutMode::kCreateOnly) h.emplace_back("If-None-Match", "*");
    ASSIGN_OR_RETURN(HttpResponse r, Send("PUT", Key(name), {}, h, data, n));
    if (r.status == 200) return Status::Ok();
    return Error(r, "put " + name);
  }

  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    if (length == 0) return EmptyRead(name, offset);
    HttpHeaders h;
    bool to_end = length == kToEnd || offset + length < offset;
    if (offset > 0 || !to_end) {
      h.emplace_back("Range",
                     "bytes=" + std::to_string(offset) + "-" + (to_end ? "" : std::to_string(offset + length - 1)));
    }
    // A server that ignored the range sends the object from its start: offset + length bytes are
    // all this read needs of it, and more than length in a 206 is refused below.
    ASSIGN_OR_RETURN(HttpResponse r, Send("GET", Key(name), {}, h, nullptr, 0, to_end ? 0 : offset + length));
    if (r.status == 206) {
      if (!to_end && r.body.size() > length) return RangeOverrun(Describe() + ": get " + name, length, r.body.size());
      return std::move(r.body);
    }
    if (r.status == 200) {
      // No Range sent, or a server that ignores it: cut the whole object here.
      if (offset > r.body.size()) return InvalidArgument("read past the end of " + name + " in " + Describe());
      uint64_t end = to_end ? r.body.size() : std::min<uint64_t>(r.body.size(), offset + length);
      return Bytes(r.body.begin() + static_cast<ptrdiff_t>(offset), r.body.begin() + static_cast<ptrdiff_t>(end));
    }
    // 416: the range starts at or after the end; reading at the very end gives no bytes.
    if (r.status == 416) return EmptyRead(name, offset);
    return Error(r, "get " + name);
  }

  StatusOr<uint64_t> Stat(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    ASSIGN_OR_RETURN(HttpResponse r, Send("HEAD", Key(name), {}, {}, nullptr, 0));
    if (r.status != 200) return Error(r, "stat " + name);
    std::optional<uint64_t> size = ParseSize(r.Header("content-length"));
    if (!size) return IoError(Describe() + ": stat " + name + ": no Content-Length in the answer");
    return *size;
  }

  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    Query q{{"list-type", "2"}, {"prefix", o_.prefix + prefix}};
    while (true) {
      ASSIGN_OR_RETURN(HttpResponse r, Send("GET", "", q, {}, nullptr, 0));
      if (r.status != 200) return Error(r, "list " + prefix);
      std::string token;
      RETURN_IF_ERROR(
          ParseS3ListPage(AsString(r.body), o_.prefix, out, token).Context(Describe() + ": list " + prefix));
      if (token.empty()) break;
      q["continuation-token"] = token;
    }
    return out;
  }

  Status Remove(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    ASSIGN_OR_RETURN(HttpResponse r, Send("DELETE", Key(name), {}, {}, nullptr, 0));
    if (r.status == 204 || r.status == 200 || r.status == 404) return Status::Ok();
    return Error(r, "remove " + name);
  }

 private:
  std::string Key(const std::string& name) const { return o_.prefix + name; }

  // One signed request for an object key ("" = the bucket itself).
  StatusOr<HttpResponse> Send(const std::string& method, const std::string& key, const Query& query,
                              const HttpHeaders& extra, const uint8_t* body, size_t n, uint64_t max_body = 0) const {
    SigV4Request s;
    s.method = method;
    s.host = virtual_host_ ? o_.bucket + "." + authority_ : authority_;
    std::string object_path = key.empty() ? "" : "/" + UriEncode(key, true);
    s.path = virtual_host_ ? (key.empty() ? "/" : object_path) : "/" + UriEncode(o_.bucket, false) + object_path;
    s.query = CanonicalQuery(query);
    s.payload_sha256_hex = Sha256Hex(body, n);
    std::string date = AmzDateNow();
    s.headers = extra;
    s.headers.emplace_back("x-amz-content-sha256", s.payload_sha256_hex);
    s.headers.emplace_back("x-amz-date", date);
    if (!o_.session_token.empty()) s.headers.emplace_back("x-amz-security-token", o_.session_token);

    HttpRequest req;
    req.method = method;
    req.url = scheme_ + "://" + s.host + s.path + (s.query.empty() ? "" : "?" + s.query);
    req.headers = s.headers;
    // Sent as signed: libcurl would derive the same value, but the signature must not depend on it.
    req.headers.emplace_back("Host", s.host);
    req.headers.emplace_back("Authorization",
                             SigV4Authorization(s, o_.access_key_id, o_.secret_access_key, o_.region, "s3", date));
    req.body = body;
    req.body_size = n;
    req.max_body = max_body;
    auto r = http_.Send(req);
    if (!r.ok()) return r.status().Context(Describe());
    return r;
  }

  Status Error(const HttpResponse& r, const std::string& op) const {
    Status st = HttpError(r, Describe() + ": " + op, kCredentials);
    // A missing bucket is a setting to fix, not a missing object: never kNotFound.
    if (XmlValue(AsString(r.body), "Code") == "NoSuchBucket") {
      return InvalidArgument(st.message() + " (create the bucket or check BACKUP_S3_BUCKET)");
    }
    return st;
  }

  // A read of no bytes at offset: fine up to the object's end, an error past it.
  StatusOr<Bytes> EmptyRead(const std::string& name, uint64_t offset) {
    ASSIGN_OR_RETURN(uint64_t size, Stat(name));
    if (offset > size) return InvalidArgument("read past the end of " + name + " in " + Describe());
    return Bytes();
  }

  Status PutMultipart(const std::string& name, const uint8_t* data, size_t n) {
    const std::string key = Key(name);
    ASSIGN_OR_RETURN(HttpResponse r, Send("POST", key, {{"uploads", ""}}, {}, nullptr, 0));
    if (r.status != 200) return Error(r, "put " + name + " (create multipart upload)");
    std::string upload_id = XmlValue(AsString(r.body), "UploadId");
    if (upload_id.empty()) return IoError(Describe() + ": put " + name + ": no UploadId in the answer");
    Status st = UploadParts(name, upload_id, data, n);
    if (!st.ok()) {
      // Parts left behind cost storage until a lifecycle rule removes them; the abort's own
      // failure changes nothing for the caller, who sees the first error.
      Send("DELETE", key, {{"uploadId", upload_id}}, {}, nullptr, 0).status().IgnoreError();
    }
    return st;
  }

  Status UploadParts(const std::string& name, const std::string& upload_id, const uint8_t* data, size_t n) {
    const std::string key = Key(name);
    uint64_t part = std::max<uint64_t>(o_.part_size, (n + kMaxParts - 1) / kMaxParts);
    std::string complete = "<CompleteMultipartUpload>";
    int number = 1;
    for (uint64_t off = 0; off < n; off += part, ++number) {
      size_t len = static_cast<size_t>(std::min<uint64_t>(part, n - off));
      std::string what = "put " + name + " (part " + std::to_string(number) + ")";
      ASSIGN_OR_RETURN(
          HttpResponse r,
          Send("PUT", key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}}, {}, data + off, len));
      if (r.status != 200) return Error(r, what);
      std::string etag = r.Header("etag");
      if (etag.empty()) return IoError(Describe() + ": " + what + ": no ETag in the answer");
      complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" + etag + "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    std::string what = "put " + name + " (complete multipart upload)";
    ASSIGN_OR_RETURN(HttpResponse r, Send("POST", key, {{"uploadId", upload_id}}, {},
                                          reinterpret_cast<const uint8_t*>(complete.data()), complete.size()));
    if (r.status != 200) return Error(r, what);
    // S3 may answer 200 and then report a failure in the body (it keeps the connection alive with
    // whitespace while it assembles the parts). radosgw's answer has an empty ETag: not checked.
    std::string_view body = AsString(r.body);
    if (body.find("<Error>") != std::string_view::npos) {
      std::string code = XmlValue(body, "Code");
      std::string msg = Describe() + ": " + what + ": HTTP 200 with error " + (code.empty() ? "(no code)" : code);
      return RetryableCode(code) ? Unavailable(msg) : IoError(msg);
    }
    return Status::Ok();
  }

  const S3Options o_;
  const std::string scheme_, authority_;  // "https", "s3.us-east-1.amazonaws.com"
  const bool virtual_host_;
  mutable HttpClient http_;
};

}  // namespace

std::string SigV4Authorization(const SigV4Request& r, const std::string& access_key_id,
                               const std::string& secret_access_key, const std::string& region,
                               const std::string& service, const std::string& amz_date) {
  std::map<std::string, std::string> headers{{"host", FoldSpaces(r.host)}};
  for (const auto& [k, v] : r.headers) headers[AsciiLower(k)] = FoldSpaces(v);
  std::string canonical_headers, signed_headers;
  for (const auto& [k, v] : headers) {
    canonical_headers += k + ":" + v + "\n";
    signed_headers += (signed_headers.empty() ? "" : ";") + k;
  }
  std::string canonical = r.method + "\n" + r.path + "\n" + r.query + "\n" + canonical_headers + "\n" + signed_headers +
                          "\n" + r.payload_sha256_hex;
  std::string day = amz_date.substr(0, 8);
  std::string scope = day + "/" + region + "/" + service + "/aws4_request";
  std::string to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" +
                        Sha256Hex(reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size());
  Bytes key = HmacSha256(ToBytes("AWS4" + secret_access_key), day);
  key = HmacSha256(key, region);
  key = HmacSha256(key, service);
  key = HmacSha256(key, "aws4_request");
  return "AWS4-HMAC-SHA256 Credential=" + access_key_id + "/" + scope + ",SignedHeaders=" + signed_headers +
         ",Signature=" + ToHex(HmacSha256(key, to_sign));
}

StatusOr<std::unique_ptr<Storage>> OpenS3Storage(const S3Options& options) {
  S3Options o = options;
  if (o.bucket.empty()) return InvalidArgument("s3: no bucket: set BACKUP_S3_BUCKET");
  if (o.access_key_id.empty()) return InvalidArgument("s3 " + o.bucket + ": no access key: set AWS_ACCESS_KEY_ID");
  if (o.secret_access_key.empty()) {
    return InvalidArgument("s3 " + o.bucket + ": no secret key: set AWS_SECRET_ACCESS_KEY");
  }
  if (o.region.empty()) o.region = "us-east-1";
  if (o.part_size < kMinPartSize) return InvalidArgument("s3: part size below S3's minimum of 5 MiB");
  if (o.multipart_threshold < o.part_size) o.multipart_threshold = o.part_size;
  std::string scheme = "https", authority = "s3." + o.region + ".amazonaws.com";
  if (!o.endpoint.empty()) {
    size_t sep = o.endpoint.find("://");
    scheme = sep == std::string::npos ? "" : AsciiLower(o.endpoint.substr(0, sep));
    if (scheme != "http" && scheme != "https") {
      return InvalidArgument("BACKUP_S3_ENDPOINT must start with http:// or https://");
    }
    std::string rest = o.endpoint.substr(sep + 3);
    size_t slash = rest.find('/');
    authority = rest.substr(0, slash);
    if (authority.empty() || (slash != std::string::npos && rest.substr(slash) != "/")) {
      return InvalidArgument("BACKUP_S3_ENDPOINT must be scheme://host[:port], without a path");
    }
  }
  bool virtual_host;
  if (o.url_style == "auto") {
    virtual_host = o.endpoint.empty();
  } else if (o.url_style == "path" || o.url_style == "virtual") {
    virtual_host = o.url_style == "virtual";
  } else {
    return InvalidArgument("BACKUP_S3_URL_STYLE must be auto, path or virtual, not '" + o.url_style + "'");
  }
  return std::unique_ptr<Storage>(new S3Storage(std::move(o), scheme, authority, virtual_host));
}

}  // namespace stb
