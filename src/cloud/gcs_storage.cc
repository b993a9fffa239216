// Google Cloud Storage driver: the JSON API (media and chunked resumable uploads, ranged downloads,
// paged listing) authorised by a service account's RS256 JWT exchanged for a cached bearer token.
#include "cloud/gcs_storage.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/encoding.h"
#include "core/env.h"
#include "core/file_util.h"
#include "core/parse.h"
#include "crypto/digest.h"

namespace stb {

namespace {

constexpr const char* kCredentialVar = "GOOGLE_APPLICATION_CREDENTIALS";
constexpr const char* kScope = "https://www.googleapis.com/auth/devstorage.read_write";
constexpr const char* kDefaultEndpoint = "https://storage.googleapis.com";
constexpr uint64_t kChunkGranularity = 256 * 1024;  // GCS wants non-final chunks in multiples of this
// A token with less than this left is replaced before use, so that it cannot expire mid-request.
constexpr double kTokenMarginSeconds = 300;
// Asking a resumable session where it stands after a failed chunk is not a retry of the request
// (no waiting, no resending what it has): a few such resumes per upload, then the wrapper retries.
constexpr int kMaxResumes = 3;

using Json = nlohmann::json;

std::optional<Json> ParseJson(const Bytes& body) {
  Json j = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string StringField(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// GCS sends int64 fields (size) as decimal strings; accept numbers too.
std::optional<uint64_t> SizeField(const Json& j) {
  auto it = j.find("size");
  if (it == j.end()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (!it->is_string()) return std::nullopt;
  auto v = ParseUint(it->get_ref<const std::string&>());
  return v.ok() ? std::optional<uint64_t>(*v) : std::nullopt;
}

}  // namespace

Status ParseGcsListPage(const Bytes& body, const std::string& name_prefix, std::vector<ObjectInfo>& out,
                        std::string& next_page) {
  std::optional<Json> j = ParseJson(body);
  if (!j || !j->is_object()) return IoError("unreadable answer");
  if (auto items = j->find("items"); items != j->end() && items->is_array()) {
    for (const Json& item : *items) {
      std::string full = item.is_object() ? StringField(item, "name") : "";
      std::optional<uint64_t> size = item.is_object() ? SizeField(item) : std::nullopt;
      if (!full.starts_with(name_prefix) || !size) return IoError("unreadable item in the answer");
      out.push_back({full.substr(name_prefix.size()), *size});
    }
  }
  next_page = StringField(*j, "nextPageToken");
  return Status::Ok();
}

namespace {

std::string Body(const HttpResponse& r) { return std::string(AsString(r.body)); }

// A resumable session's "Range: bytes=0-N" says it holds N+1 bytes; no Range, none.
uint64_t CommittedBytes(const HttpResponse& r) {
  std::string range = r.Header("range");
  size_t dash = range.find('-');
  if (!range.starts_with("bytes=") || dash == std::string::npos) return 0;
  // An unreadable or absurd end reads as "more than anything sent", which the caller rejects.
  auto last = ParseUint(std::string_view(range).substr(dash + 1), (1ull << 62));
  return last.ok() ? *last + 1 : UINT64_MAX;
}

struct ServiceAccount {
  std::string client_email;
  std::string token_uri;
  std::optional<RsaPrivateKey> key;
};

StatusOr<ServiceAccount> LoadServiceAccount(const std::string& path) {
  std::string where = std::string(kCredentialVar) + " (" + path + ")";
  auto bytes = ReadWholeFile(path);
  if (!bytes.ok()) {
    return InvalidArgument("gcs: cannot read the key file named by " + where + ": " + bytes.status().message());
  }
  std::optional<Json> j = ParseJson(*bytes);
  Cleanse(bytes->data(), bytes->size());
  if (!j || !j->is_object()) return InvalidArgument("gcs: " + where + " is not a JSON key file");
  if (std::string type = StringField(*j, "type"); type != "service_account") {
    return InvalidArgument("gcs: " + where + " is not a service-account key (type '" + type.substr(0, 40) +
                           "'); create a key for a service account");
  }
  ServiceAccount sa;
  sa.client_email = StringField(*j, "client_email");
  sa.token_uri = StringField(*j, "token_uri");
  std::string pem = StringField(*j, "private_key");
  for (auto [field, value] :
       {std::pair{"client_email", &sa.client_email}, {"token_uri", &sa.token_uri}, {"private_key", &pem}}) {
    if (value->empty()) return InvalidArgument("gcs: " + where + " has no " + field);
  }
  if (!sa.token_uri.starts_with("https://") && !sa.token_uri.starts_with("http://")) {
    return InvalidArgument("gcs: " + where + " has a token_uri that is not an http(s) URL");
  }
  auto key = RsaPrivateKey::FromPem(pem);
  Cleanse(pem.data(), pem.size());
  if (std::string& in_json = (*j)["private_key"].get_ref<std::string&>(); !in_json.empty()) {
    Cleanse(in_json.data(), in_json.size());
  }
  if (!key.ok()) {
    return InvalidArgument("gcs: " + where + " has a private_key that is not an unencrypted RSA key in PEM");
  }
  sa.key = std::move(*key);
  return sa;
}

// The OAuth 2.0 JWT-bearer flow for a service account; the token is shared by all threads and
// replaced when it nears its expiry or the API rejects it.
class TokenSource {
 public:
  TokenSource(ServiceAccount sa, HttpClient* http, std::string describe)
      : sa_(std::move(sa)), http_(http), describe_(std::move(describe)) {}

  StatusOr<std::string> Get() {
    std::lock_guard lk(mu_);  // held while fetching: concurrent callers wait for one exchange
    if (!token_.empty() && Env::Default().MonotonicSeconds() + kTokenMarginSeconds < expiry_) return token_;
    return Fetch();
  }

  // The API answered 401 with this token: drop it unless another thread already replaced it.
  void Invalidate(const std::string& token) {
    std::lock_guard lk(mu_);
    if (token_ == token) token_.clear();
  }

 private:
  StatusOr<std::string> Assertion() const {
    int64_t now = Env::Default().Now();
    Json claims = {
        {"iss", sa_.client_email}, {"scope", kScope}, {"aud", sa_.token_uri}, {"iat", now}, {"exp", now + 3600}};
    std::string header = R"({"alg":"RS256","typ":"JWT"})";
    std::string claims_text = claims.dump();
    std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(claims_text);
    auto sig = sa_.key->SignSha256(input);
    if (!sig.ok()) return Internal(describe_ + ": signing the token request failed (check " + kCredentialVar + ")");
    return input + "." + Base64UrlEncode(sig->data(), sig->size());
  }

  StatusOr<std::string> Fetch() {
    const std::string what = describe_ + ": getting an access token";
    ASSIGN_OR_RETURN(std::string jwt, Assertion());
    std::string form =
        "grant_type=" + UriEncode("urn:ietf:params:oauth:grant-type:jwt-bearer", false) + "&assertion=" + jwt;
    HttpRequest req;
    req.method = "POST";
    req.url = sa_.token_uri;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    req.body = reinterpret_cast<const uint8_t*>(form.data());
    req.body_size = form.size();
    auto resp = http_->Send(req);
    if (!resp.ok()) return resp.status().Context(what);
    std::optional<Json> j = ParseJson(resp->body);
    long s = resp->status;
    if (s == 400 || s == 401 || s == 403) {
      // OAuth errors are {"error": "invalid_grant", "error_description": "..."}: names, no secrets.
      std::string code = j && j->is_object() ? StringField(*j, "error") : "";
      std::string detail = j && j->is_object() ? StringField(*j, "error_description") : "";
      if (!detail.empty()) code += (code.empty() ? "" : ": ") + detail;
      return PermissionDenied(what + ": HTTP " + std::to_string(s) + (code.empty() ? "" : " " + code.substr(0, 200)) +
                              " (check " + kCredentialVar + ")");
    }
    if (s < 200 || s > 299) return HttpError(*resp, what, kCredentialVar);
    std::string token = j && j->is_object() ? StringField(*j, "access_token") : "";
    if (token.empty()) return IoError(what + ": the answer has no access_token (check " + kCredentialVar + ")");
    int64_t expires_in = 3600;
    // Google grants an hour; anything beyond a day is read as a day (and cannot overflow the clock).
    if (auto it = j->find("expires_in"); it != j->end() && it->is_number_integer()) {
      expires_in = it->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(it->get<uint64_t>(), 86400))
                                            : std::clamp<int64_t>(it->get<int64_t>(), 0, 86400);
    }
    token_ = token;
    expiry_ = Env::Default().MonotonicSeconds() + static_cast<double>(expires_in);
    return token_;
  }

  const ServiceAccount sa_;
  HttpClient* const http_;
  const std::string describe_;
  std::mutex mu_;
  std::string token_;  // "" = none yet, or invalidated
  double expiry_ = 0;  // Env::MonotonicSeconds()
};

class GcsStorage : public Storage {
 public:
  GcsStorage(const GcsOptions& o, std::string base, std::optional<ServiceAccount> sa)
      : o_(o), base_(std::move(base)), http_(o.http) {
    if (sa) tokens_ = std::make_unique<TokenSource>(std::move(*sa), &http_, Describe());
  }

  std::string Describe() const override { return "gcs " + o_.bucket + "/" + o_.prefix; }

  StorageCaps Caps() const override {
    // ifGenerationMatch=0 is an atomic precondition on GCS itself; the emulator ignores it.
    return {.atomic_create = o_.emulator_host.empty(), .parallelism = 8};
  }

  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    if (n > o_.resumable_threshold) return PutResumable(name, data, n, mode);
    HttpRequest req;
    req.method = "POST";
    req.url = UploadUrl(name, "media", mode);
    req.headers = {{"Content-Type", "application/octet-stream"}};
    req.body = data;
    req.body_size = n;
    ASSIGN_OR_RETURN(HttpResponse r, Send(req, "put", name));
    if (r.status != 200 && r.status != 201) return Fail(r, "put", name);
    return Status::Ok();
  }

  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    if (length == 0) {
      ASSIGN_OR_RETURN(uint64_t size, Stat(name));
      if (offset > size) return InvalidArgument(Describe() + ": read past the end of " + name);
      return Bytes();
    }
    HttpRequest req;
    req.url = ObjectUrl(name) + "?alt=media";
    bool ranged = offset > 0 || length != kToEnd;
    bool to_end = length == kToEnd || length > kToEnd - offset;
    if (ranged) {
      req.headers.emplace_back(
          "Range", "bytes=" + std::to_string(offset) + "-" + (to_end ? "" : std::to_string(offset + length - 1)));
    }
    // A server that ignored the range sends the object from its start: offset + length bytes are
    // all this read needs of it, and more than length in a 206 is refused below.
    if (!to_end) req.max_body = offset + length;
    ASSIGN_OR_RETURN(HttpResponse r, Send(req, "get", name));
    if (r.status == 206) {
      if (!to_end && r.body.size() > length) return RangeOverrun(Describe() + ": get " + name, length, r.body.size());
      return std::move(r.body);
    }
    if (r.status == 200) {
      if (!ranged) return std::move(r.body);
      // A server may ignore a Range (the emulator does for one past the end): cut it here.
      if (offset > r.body.size()) return InvalidArgument(Describe() + ": read past the end of " + name);
      uint64_t end = offset + std::min<uint64_t>(length, r.body.size() - offset);
      return Bytes(r.body.begin() + static_cast<ptrdiff_t>(offset), r.body.begin() + static_cast<ptrdiff_t>(end));
    }
    if (r.status == 416) {  // the range starts at or past the end: empty at the end, else an error
      ASSIGN_OR_RETURN(uint64_t size, Stat(name));
      if (offset == size) return Bytes();
      return InvalidArgument(Describe() + ": read past the end of " + name);
    }
    return Fail(r, "get", name);
  }

  StatusOr<uint64_t> Stat(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    HttpRequest req;
    req.url = ObjectUrl(name) + "?fields=size";
    ASSIGN_OR_RETURN(HttpResponse r, Send(req, "stat", name));
    if (r.status != 200) return Fail(r, "stat", name);
    std::optional<Json> j = ParseJson(r.body);
    std::optional<uint64_t> size = j && j->is_object() ? SizeField(*j) : std::nullopt;
    if (!size) return IoError(Describe() + ": stat " + name + ": the answer has no size");
    return *size;
  }

  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::string page;
    do {
      HttpRequest req;
      req.url = base_ + "/storage/v1/b/" + UriEncode(o_.bucket, false) +
                "/o?prefix=" + UriEncode(o_.prefix + prefix, false) +
                "&fields=" + UriEncode("items(name,size),nextPageToken", false) +
                (page.empty() ? "" : "&pageToken=" + UriEncode(page, false));
      ASSIGN_OR_RETURN(HttpResponse r, Send(req, "list", prefix));
      if (r.status != 200) return Fail(r, "list", prefix, /*bucket_level=*/true);
      std::string next;
      RETURN_IF_ERROR(ParseGcsListPage(r.body, o_.prefix, out, next).Context(Describe() + ": list " + prefix));
      if (!next.empty() && next == page) return IoError(Describe() + ": list " + prefix + ": the listing repeats");
      page = next;
    } while (!page.empty());
    return out;
  }

  Status Remove(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    HttpRequest req;
    req.method = "DELETE";
    req.url = ObjectUrl(name);
    ASSIGN_OR_RETURN(HttpResponse r, Send(req, "remove", name));
    if ((r.status >= 200 && r.status <= 299) || (r.status == 404 && !MissingBucket(r))) return Status::Ok();
    return Fail(r, "remove", name);
  }

 private:
  std::string ObjectUrl(const std::string& name) const {
    return base_ + "/storage/v1/b/" + UriEncode(o_.bucket, false) + "/o/" + UriEncode(o_.prefix + name, false);
  }

  std::string UploadUrl(const std::string& name, const char* type, PutMode mode) const {
    return base_ + "/upload/storage/v1/b/" + UriEncode(o_.bucket, false) + "/o?uploadType=" + type +
           "&name=" + UriEncode(o_.prefix + name, false) + (mode == PutMode::kCreateOnly ? "&ifGenerationMatch=0" : "");
  }

  // One exchange with the bearer token attached; a 401 gets one more try with a fresh token
  // (a token revoked or expired before its time).
  StatusOr<HttpResponse> Send(const HttpRequest& req, const char* op, const std::string& name) {
    const std::string what = Describe() + ": " + op + " " + name;
    for (int attempt = 0;; ++attempt) {
      HttpRequest r = req;
      std::string token;
      if (tokens_) {
        auto t = tokens_->Get();
        if (!t.ok()) return t.status();
        token = std::move(*t);
        r.headers.emplace_back("Authorization", "Bearer " + token);
      }
      auto resp = http_.Send(r);
      if (!resp.ok()) return resp.status().Context(what);
      if (resp->status != 401 || !tokens_ || attempt > 0) return resp;
      tokens_->Invalidate(token);
    }
  }

  static bool MissingBucket(const HttpResponse& r) {
    return r.status == 404 && Body(r).find("bucket does not exist") != std::string::npos;
  }

  // HttpError's classes, except that a missing bucket is a setting to fix, not a missing object.
  Status Fail(const HttpResponse& r, const char* op, const std::string& name, bool bucket_level = false) const {
    Status st = HttpError(r, Describe() + ": " + op + " " + name, kCredentialVar);
    if (r.status == 404 && (bucket_level || MissingBucket(r))) {
      return InvalidArgument(st.message() + " (no such bucket? check BACKUP_GCS_BUCKET)");
    }
    return st;
  }

  // POST uploadType=resumable opens a session (its URI authorises the upload: never shown); then
  // chunks go up with Content-Range, and each 308 says through its Range how much the session holds.
  Status PutResumable(const std::string& name, const uint8_t* data, size_t n, PutMode mode) {
    HttpRequest open;
    open.method = "POST";
    open.url = UploadUrl(name, "resumable", mode);
    open.headers = {{"X-Upload-Content-Type", "application/octet-stream"},
                    {"X-Upload-Content-Length", std::to_string(n)}};
    ASSIGN_OR_RETURN(HttpResponse r, Send(open, "put", name));
    if (r.status != 200 && r.status != 201) return Fail(r, "put", name);
    const std::string session = r.Header("location");
    if (session.empty()) return IoError(Describe() + ": put " + name + ": no resumable session in the answer");

    const std::string total = std::to_string(n);
    uint64_t off = 0;
    int resumes = 0, stalls = 0;
    while (true) {
      uint64_t len = std::min<uint64_t>(o_.chunk_size, n - off);
      bool last = off + len == n;
      HttpRequest chunk;
      chunk.method = "PUT";
      chunk.url = session;
      chunk.headers = {{"Content-Range", len == 0 ? "bytes */" + total
                                                  : "bytes " + std::to_string(off) + "-" +
                                                        std::to_string(off + len - 1) + "/" + (last ? total : "*")}};
      chunk.body = data + off;
      chunk.body_size = len;
      auto sent = Send(chunk, "put", name);
      uint64_t held;
      if (sent.ok() && (sent->status == 200 || sent->status == 201)) return Status::Ok();
      if (sent.ok() && sent->status == 308) {
        held = CommittedBytes(*sent);
      } else {
        Status failed = sent.ok() ? SessionError(*sent, name) : sent.status();
        if (failed.code() != Code::kUnavailable || ++resumes > kMaxResumes) return failed;
        // Ask the session what it kept (PUT "bytes */total", no body) and go on from there.
        HttpRequest query;
        query.method = "PUT";
        query.url = session;
        query.headers = {{"Content-Range", "bytes */" + total}};
        auto q = Send(query, "put", name);
        if (!q.ok()) return failed;
        if (q->status == 200 || q->status == 201) return Status::Ok();
        if (q->status != 308) return failed;
        held = CommittedBytes(*q);
      }
      if (held > n) return IoError(Describe() + ": put " + name + ": the upload session claims more bytes than sent");
      // A session that keeps answering without taking anything new would loop forever.
      stalls = held > off ? 0 : stalls + 1;
      if (stalls > 3) return Unavailable(Describe() + ": put " + name + ": the upload session accepts no more bytes");
      off = held;
    }
  }

  // A chunk's error: a session that is gone (404/410) needs a new upload, which a retry makes.
  Status SessionError(const HttpResponse& r, const std::string& name) const {
    if (r.status == 404 || r.status == 410) {
      return Unavailable(Describe() + ": put " + name + ": HTTP " + std::to_string(r.status) +
                         " (the resumable session expired)");
    }
    return Fail(r, "put", name);
  }

  const GcsOptions o_;
  const std::string base_;
  HttpClient http_;
  std::unique_ptr<TokenSource> tokens_;  // null for an emulator: no credentials
};

}  // namespace

StatusOr<std::unique_ptr<Storage>> OpenGcsStorage(const GcsOptions& options) {
  GcsOptions o = options;
  if (o.bucket.empty()) return InvalidArgument("gcs: no bucket: set BACKUP_GCS_BUCKET");
  if (!o.prefix.empty() && o.prefix.back() != '/') o.prefix += '/';
  if (o.chunk_size == 0 || o.chunk_size % kChunkGranularity != 0) {
    return InvalidArgument("gcs: the resumable chunk size must be a multiple of 256 KiB");
  }
  std::string base = o.endpoint.empty() ? kDefaultEndpoint : o.endpoint;
  std::optional<ServiceAccount> sa;
  if (!o.emulator_host.empty()) {
    base = o.emulator_host.find("://") == std::string::npos ? "http://" + o.emulator_host : o.emulator_host;
  } else if (o.credentials_file.empty()) {
    return InvalidArgument(std::string("gcs: no credentials: set ") + kCredentialVar +
                           " to a service-account key file (or STORAGE_EMULATOR_HOST for an emulator)");
  } else {
    ASSIGN_OR_RETURN(sa, LoadServiceAccount(o.credentials_file));
  }
  while (base.ends_with('/')) base.pop_back();
  return std::unique_ptr<Storage>(std::make_unique<GcsStorage>(o, std::move(base), std::move(sa)));
}

}  // namespace stb
