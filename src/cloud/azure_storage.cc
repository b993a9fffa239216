// Azure Blob Storage driver: Shared Key or SAS requests over HttpClient, Put Blob or Put Block +
// Put Block List, ranged Get Blob, List Blobs by marker. Retries are the wrapper's job, not ours.
#include "cloud/azure_storage.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>

#include "core/encoding.h"
#include "core/env.h"
#include "core/parse.h"
#include "crypto/crypto.h"
#include "crypto/digest.h"

namespace stb {

namespace {

constexpr const char* kApiVersion = "2021-08-06";
constexpr const char* kConnVar = "AZURE_STORAGE_CONNECTION_STRING";
// Azurite's fixed development account (https://learn.microsoft.com/azure/storage/common/storage-use-azurite):
// a published, well-known key, not a secret.
constexpr const char* kDevAccount = "devstoreaccount1";
constexpr const char* kDevKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// RFC 1123 date in GMT, written by hand: strftime's %a/%b follow the process locale.
std::string HttpDate(std::time_t t) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday], tm.tm_mday,
                kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::optional<uint64_t> ParseU64(const std::string& s) {
  auto n = ParseUint(s);
  return n.ok() ? std::optional<uint64_t>(*n) : std::nullopt;
}

}  // namespace

Status ParseAzureListPage(std::string_view xml, const std::string& name_prefix, std::vector<ObjectInfo>& out,
                          std::string& next_marker) {
  for (std::string_view blob : XmlBlocks(xml, "Blob")) {
    std::string full = XmlValue(blob, "Name");
    if (full.size() < name_prefix.size() || full.compare(0, name_prefix.size(), name_prefix) != 0) continue;
    std::optional<uint64_t> size = ParseU64(XmlValue(blob, "Content-Length"));
    if (!size) return IoError("no Content-Length for " + full);
    out.push_back({full.substr(name_prefix.size()), *size});
  }
  next_marker = XmlValue(xml, "NextMarker");
  return Status::Ok();
}

namespace {

std::string StripQuestionMark(std::string s) {
  if (!s.empty() && s[0] == '?') s.erase(0, 1);
  return s;
}

class AzureStorage final : public Storage {
 public:
  AzureStorage(const AzureOptions& o, Bytes key, std::string origin, std::string base_path)
      : o_(o), key_(std::move(key)), origin_(std::move(origin)), base_path_(std::move(base_path)), http_(o.http) {
    o_.account_key.clear();  // the decoded key_ is all we keep
    if (!o_.credential_setting.empty()) {
      cred_var_ = o_.credential_setting;
    } else {
      cred_var_ = key_.empty() ? "AZURE_STORAGE_SAS_TOKEN" : "AZURE_STORAGE_KEY";
    }
  }

  std::string Describe() const override { return "azure " + o_.container + "/" + o_.prefix; }
  // If-None-Match: * makes Put Blob and Put Block List exclusive (Azure and Azurite answer 409).
  StorageCaps Caps() const override { return {.atomic_create = true, .parallelism = 4}; }

  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    HttpHeaders cond;
    if (mode == PutMode::kCreateOnly) cond.emplace_back("If-None-Match", "*");
    if (n <= o_.single_put_limit) {
      HttpHeaders h = cond;
      h.emplace_back("x-ms-blob-type", "BlockBlob");
      ASSIGN_OR_RETURN(HttpResponse r, Send("PUT", BlobPath(name), {}, h, data, n, "put", name));
      if (r.status / 100 != 2) return Error(r, "put", name);
      return Status::Ok();
    }
    if ((n - 1) / o_.block_size + 1 > 50000) {
      return InvalidArgument(Describe() + ": put " + name + ": more than 50000 blocks; raise the block size");
    }
    // Block ids: one random tag per upload so that two writers of the same name never mix their
    // uncommitted blocks, then the index; all of one length, as Azure requires.
    std::string tag = ToHex(RandomBytes(8));
    std::string list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
    size_t index = 0;
    for (size_t off = 0; off < n; off += o_.block_size, ++index) {
      size_t len = std::min<size_t>(o_.block_size, n - off);
      char idx[16];
      std::snprintf(idx, sizeof idx, "%06zu", index);
      std::string id = Base64Encode(tag + "-" + idx);
      ASSIGN_OR_RETURN(HttpResponse r, Send("PUT", BlobPath(name), {{"comp", "block"}, {"blockid", id}}, {}, data + off,
                                            len, "put block of", name));
      if (r.status / 100 != 2) return Error(r, "put block of", name);
      list += "<Latest>" + id + "</Latest>";
    }
    list += "</BlockList>";
    HttpHeaders h = cond;
    h.emplace_back("Content-Type", "application/xml");
    ASSIGN_OR_RETURN(HttpResponse r, Send("PUT", BlobPath(name), {{"comp", "blocklist"}}, h,
                                          reinterpret_cast<const uint8_t*>(list.data()), list.size(), "put", name));
    if (r.status / 100 != 2) return Error(r, "put", name);
    return Status::Ok();
  }

  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    if (length == 0) {  // no range can say "nothing": the size tells whether offset is legal
      ASSIGN_OR_RETURN(uint64_t size, Stat(name));
      if (offset > size) return OffsetPastEnd(name, offset, size);
      return Bytes();
    }
    HttpHeaders h;
    bool ranged = offset != 0 || length != kToEnd;
    bool bounded = length != kToEnd && length - 1 <= ~uint64_t{0} - offset;
    if (ranged) {
      std::string range = "bytes=" + std::to_string(offset) + "-";
      if (bounded) range += std::to_string(offset + length - 1);
      h.emplace_back("x-ms-range", range);
    }
    // A server that ignored the range sends the object from its start: offset + length bytes are
    // all this read needs of it, and more than length in a 206 is refused below.
    uint64_t max_body = bounded && offset + length != 0 ? offset + length : 0;
    ASSIGN_OR_RETURN(HttpResponse r, Send("GET", BlobPath(name), {}, h, nullptr, 0, "get", name, max_body));
    if (r.status == 416) {
      // Azure refuses a range that starts at the end ("bytes */<size>" says where that is); the
      // Storage contract makes that an empty read and only a start past the end an error.
      std::optional<uint64_t> size;
      std::string cr = r.Header("content-range");
      if (size_t slash = cr.rfind('/'); slash != std::string::npos) size = ParseU64(cr.substr(slash + 1));
      if (!size) {
        ASSIGN_OR_RETURN(size, Stat(name));
      }
      if (offset == *size) return Bytes();
      return Error(r, "get", name);
    }
    if (r.status / 100 != 2) return Error(r, "get", name);
    if (bounded && r.status == 206 && r.body.size() > length) {
      return RangeOverrun(Describe() + ": get " + name, length, r.body.size());
    }
    if (ranged && r.status == 200) {
      // A server that ignored the range sent the whole object: cut out what was asked for.
      if (offset > r.body.size()) return OffsetPastEnd(name, offset, r.body.size());
      uint64_t end = std::min<uint64_t>(r.body.size(), length == kToEnd ? r.body.size() : offset + length);
      return Bytes(r.body.begin() + static_cast<ptrdiff_t>(offset), r.body.begin() + static_cast<ptrdiff_t>(end));
    }
    return std::move(r.body);
  }

  StatusOr<uint64_t> Stat(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    ASSIGN_OR_RETURN(HttpResponse r, Send("HEAD", BlobPath(name), {}, {}, nullptr, 0, "stat", name));
    if (r.status / 100 != 2) return Error(r, "stat", name);
    std::optional<uint64_t> size = ParseU64(r.Header("content-length"));
    if (!size) return IoError(Describe() + ": stat " + name + ": no Content-Length in the answer");
    return *size;
  }

  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    std::vector<ObjectInfo> out;
    std::string marker;
    do {
      HttpHeaders q = {{"restype", "container"}, {"comp", "list"}, {"prefix", o_.prefix + prefix}};
      if (!marker.empty()) q.emplace_back("marker", marker);
      ASSIGN_OR_RETURN(HttpResponse r, Send("GET", ContainerPath(), q, {}, nullptr, 0, "list", prefix));
      if (r.status / 100 != 2) return Error(r, "list", prefix);
      RETURN_IF_ERROR(
          ParseAzureListPage(AsString(r.body), o_.prefix, out, marker).Context(Describe() + ": list " + prefix));
    } while (!marker.empty());
    return out;
  }

  Status Remove(const std::string& name) override {
    RETURN_IF_ERROR(CheckObjectName(name));
    ASSIGN_OR_RETURN(HttpResponse r, Send("DELETE", BlobPath(name), {}, {}, nullptr, 0, "remove", name));
    if (r.status / 100 == 2) return Status::Ok();
    Status st = Error(r, "remove", name);
    return st.code() == Code::kNotFound ? Status::Ok() : st;
  }

 private:
  std::string ContainerPath() const { return base_path_ + "/" + UriEncode(o_.container, false); }
  std::string BlobPath(const std::string& name) const {
    return ContainerPath() + "/" + UriEncode(o_.prefix + name, /*keep_slash=*/true);
  }

  Status OffsetPastEnd(const std::string& name, uint64_t offset, uint64_t size) const {
    return InvalidArgument(Describe() + ": get " + name + ": offset " + std::to_string(offset) +
                           " is past the end of the object (" + std::to_string(size) + " bytes)");
  }

  // The storage error for a non-2xx answer. A missing container would otherwise read as a missing
  // object (kNotFound), which callers take for "not written yet": make it a configuration error.
  Status Error(const HttpResponse& r, const std::string& op, const std::string& name) const {
    Status st = HttpError(r, Describe() + ": " + op + " " + name, cred_var_);
    if (r.status == 404 && (r.Header("x-ms-error-code") == "ContainerNotFound" ||
                            XmlValue(AsString(r.body), "Code") == "ContainerNotFound")) {
      return InvalidArgument(st.message() + " (create the container or check BACKUP_AZURE_CONTAINER)");
    }
    return st;
  }

  // One signed request. path is already encoded; query holds decoded values.
  StatusOr<HttpResponse> Send(const std::string& method, const std::string& path, const HttpHeaders& query,
                              HttpHeaders headers, const uint8_t* body, size_t n, const std::string& op,
                              const std::string& name, uint64_t max_body = 0) {
    headers.emplace_back("x-ms-date", HttpDate(Env::Default().Now()));
    headers.emplace_back("x-ms-version", kApiVersion);
    std::string url = origin_ + path;
    char sep = '?';
    for (const auto& [k, v] : query) {
      url += sep + UriEncode(k, false) + "=" + UriEncode(v, false);
      sep = '&';
    }
    if (!key_.empty()) {
      HttpHeaders signed_headers = headers;
      if (method == "PUT" || method == "POST") signed_headers.emplace_back("Content-Length", std::to_string(n));
      std::string sts = AzureStringToSign(method, signed_headers, o_.account, path, query);
      headers.emplace_back("Authorization", AzureSharedKeyAuthorization(o_.account, key_, sts));
    } else {
      url += sep + o_.sas_token;  // already URL-encoded, as issued
    }
    HttpRequest req;
    req.method = method;
    req.url = std::move(url);
    req.headers = std::move(headers);
    req.body = body;
    req.body_size = n;
    req.max_body = max_body;
    StatusOr<HttpResponse> r = http_.Send(req);
    if (!r.ok()) return r.status().Context(Describe() + ": " + op + " " + name);
    return r;
  }

  AzureOptions o_;
  Bytes key_;              // decoded Shared Key; empty in SAS mode
  std::string origin_;     // "http://127.0.0.1:10000"
  std::string base_path_;  // the endpoint's own path, "" or "/devstoreaccount1"
  std::string cred_var_;   // named by authorization failures
  HttpClient http_;
};

}  // namespace

std::string AzureStringToSign(const std::string& method, const HttpHeaders& headers, const std::string& account,
                              const std::string& encoded_path, const HttpHeaders& query) {
  std::map<std::string, std::string> std_headers;  // lower-case name -> value
  std::map<std::string, std::string> ms_headers;
  for (const auto& [k, v] : headers) {
    std::string name = AsciiLower(k);
    if (name.starts_with("x-ms-")) {
      ms_headers[name] = FoldSpaces(v);
    } else {
      std_headers[name] = v;
    }
  }
  // Since version 2015-02-21 a zero Content-Length is signed as an empty string.
  if (std_headers["content-length"] == "0") std_headers["content-length"] = "";
  std::string s = method + "\n";
  for (const char* h : {"content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
                        "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"}) {
    s += std_headers[h] + "\n";
  }
  for (const auto& [k, v] : ms_headers) s += k + ":" + v + "\n";
  s += "/" + account + encoded_path;
  std::map<std::string, std::vector<std::string>> params;
  for (const auto& [k, v] : query) params[AsciiLower(k)].push_back(v);
  for (auto& [k, values] : params) {
    std::sort(values.begin(), values.end());
    s += "\n" + k + ":";
    for (size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + values[i];
  }
  return s;
}

std::string AzureSharedKeyAuthorization(const std::string& account, const Bytes& key,
                                        const std::string& string_to_sign) {
  Bytes mac = HmacSha256(key, string_to_sign);
  return "SharedKey " + account + ":" + Base64Encode(mac.data(), mac.size());
}

StatusOr<AzureOptions> ParseAzureConnectionString(const std::string& connection_string, AzureOptions base) {
  std::map<std::string, std::string> kv;  // lower-case key -> value; keys are case-insensitive
  size_t start = 0, part = 0;
  while (start <= connection_string.size()) {
    size_t end = connection_string.find(';', start);
    if (end == std::string::npos) end = connection_string.size();
    std::string seg = FoldSpaces(connection_string.substr(start, end - start));
    start = end + 1;
    ++part;
    if (seg.empty()) continue;
    size_t eq = seg.find('=');
    // Never echo a segment: it may be (part of) the key.
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument(std::string(kConnVar) + ": part " + std::to_string(part) + " is not Key=Value");
    }
    std::string key = AsciiLower(FoldSpaces(seg.substr(0, eq)));
    static const char* kKnown[] = {
        "accountname",    "accountkey",           "blobendpoint", "sharedaccesssignature", "defaultendpointsprotocol",
        "endpointsuffix", "usedevelopmentstorage"};
    bool known = std::find(std::begin(kKnown), std::end(kKnown), key) != std::end(kKnown);
    // Other services' endpoints (QueueEndpoint, BlobSecondaryEndpoint, ...) are legal and unused here.
    if (!known && !key.ends_with("endpoint")) {
      return InvalidArgument(std::string(kConnVar) + ": unknown key '" + seg.substr(0, eq) +
                             "' (expected AccountName, AccountKey, BlobEndpoint, SharedAccessSignature, "
                             "DefaultEndpointsProtocol, EndpointSuffix or UseDevelopmentStorage)");
    }
    if (known) kv[key] = FoldSpaces(seg.substr(eq + 1));
  }
  AzureOptions o = std::move(base);
  if (kv.count("usedevelopmentstorage")) {
    if (AsciiLower(kv["usedevelopmentstorage"]) != "true") {
      return InvalidArgument(std::string(kConnVar) + ": UseDevelopmentStorage must be true");
    }
    o.account = kDevAccount;
    o.account_key = kDevKey;
    o.sas_token.clear();
    o.blob_endpoint = std::string("http://127.0.0.1:10000/") + kDevAccount;
    o.credential_setting = kConnVar;
    return o;
  }
  if (kv.count("accountname")) o.account = kv["accountname"];
  if (kv.count("accountkey") || kv.count("sharedaccesssignature")) {
    // The connection string is one complete way in: its credential replaces any other.
    o.account_key = kv.count("accountkey") ? kv["accountkey"] : "";
    o.sas_token = kv.count("sharedaccesssignature") ? StripQuestionMark(kv["sharedaccesssignature"]) : "";
    o.credential_setting = kConnVar;
    if (!o.account_key.empty() && (!Base64Decode(o.account_key).ok() || Base64Decode(o.account_key)->empty())) {
      return InvalidArgument(std::string(kConnVar) +
                             ": AccountKey is not base64 (copy the key exactly as the portal shows it)");
    }
  }
  std::string protocol = kv.count("defaultendpointsprotocol") ? AsciiLower(kv["defaultendpointsprotocol"]) : "https";
  if (protocol != "http" && protocol != "https") {
    return InvalidArgument(std::string(kConnVar) + ": DefaultEndpointsProtocol must be http or https");
  }
  if (kv.count("blobendpoint")) {
    o.blob_endpoint = kv["blobendpoint"];
  } else if (kv.count("endpointsuffix") || kv.count("defaultendpointsprotocol")) {
    if (o.account.empty()) {
      return InvalidArgument(std::string(kConnVar) + ": AccountName is needed to build the blob endpoint");
    }
    std::string suffix = kv.count("endpointsuffix") ? kv["endpointsuffix"] : "core.windows.net";
    o.blob_endpoint = protocol + "://" + o.account + ".blob." + suffix;
  }
  return o;
}

StatusOr<std::unique_ptr<Storage>> OpenAzureStorage(const AzureOptions& options) {
  const AzureOptions& o = options;
  if (o.container.empty()) return InvalidArgument("azure: set BACKUP_AZURE_CONTAINER");
  std::string key_var = o.credential_setting.empty() ? "AZURE_STORAGE_KEY" : o.credential_setting;
  Bytes key;
  if (!o.account_key.empty()) {
    auto k = Base64Decode(o.account_key);
    if (!k.ok() || k->empty()) return InvalidArgument("azure: " + key_var + " is not a base64 account key");
    key = std::move(*k);
  } else if (o.sas_token.empty()) {
    return InvalidArgument(
        "azure: no credential: set AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN");
  }
  if (o.account.empty() && (!key.empty() || o.blob_endpoint.empty())) {
    return InvalidArgument("azure: set BACKUP_AZURE_ACCOUNT (or AccountName in AZURE_STORAGE_CONNECTION_STRING)");
  }
  if (o.block_size == 0 || o.block_size > (4000ull << 20)) {
    return InvalidArgument("azure: block size must be between 1 byte and 4000 MiB");
  }
  if (o.single_put_limit > (5000ull << 20)) return InvalidArgument("azure: single put limit is at most 5000 MiB");
  std::string endpoint = o.blob_endpoint.empty() ? "https://" + o.account + ".blob.core.windows.net" : o.blob_endpoint;
  while (endpoint.ends_with('/')) endpoint.pop_back();
  size_t scheme = endpoint.find("://");
  if (scheme == std::string::npos ||
      (endpoint.compare(0, scheme, "http") != 0 && endpoint.compare(0, scheme, "https") != 0)) {
    return InvalidArgument("azure: the blob endpoint must start with http:// or https:// (BlobEndpoint in " +
                           std::string(kConnVar) + ")");
  }
  if (endpoint.find_first_of("?#", scheme) != std::string::npos) {
    return InvalidArgument("azure: the blob endpoint may not carry a query (put a SAS in SharedAccessSignature)");
  }
  // The endpoint's own path ("/devstoreaccount1" on a path-style emulator) is part of every
  // blob's path, and so of the canonicalized resource.
  size_t slash = endpoint.find('/', scheme + 3);
  std::string origin = endpoint.substr(0, slash);
  std::string base_path = slash == std::string::npos ? "" : endpoint.substr(slash);
  AzureOptions copy = o;
  copy.sas_token = StripQuestionMark(copy.sas_token);
  return std::unique_ptr<Storage>(new AzureStorage(copy, std::move(key), origin, base_path));
}

}  // namespace stb
