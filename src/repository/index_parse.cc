// Index objects parsed as they are read (SAX), straight into the caller's sink: a JSON document of
// a few hundred thousand entries costs ~250 bytes an entry as a DOM, which was most of the peak
// memory of loading a million-blob index. Every number is checked (doc/design.md §8).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "repository/repository.h"

namespace stb {

namespace {

using json = nlohmann::json;

class IndexSax final : public nlohmann::json_sax<json> {
 public:
  explicit IndexSax(const IndexSink& sink) : sink_(sink) {}

  bool null() override { return Scalar(Value{}); }
  bool boolean(bool) override { return Scalar(Value{}); }
  bool number_integer(number_integer_t) override { return Scalar(Value{}); }  // only negatives come here
  bool number_unsigned(number_unsigned_t v) override { return Scalar(Value{.is_uint = true, .uint = v}); }
  bool number_float(number_float_t, const string_t&) override { return Scalar(Value{}); }
  bool string(string_t& s) override { return Scalar(Value{.str = &s}); }
  bool binary(binary_t&) override { return Scalar(Value{}); }

  bool start_object(std::size_t) override {
    if (Skipping()) return true;
    switch (Top()) {
      case In::kTop:
        stack_.push_back(In::kRoot);
        return true;
      case In::kPacks:
        stack_.push_back(In::kPack);
        pack_.reset();
        have_blobs_ = false;
        pending_.clear();
        return true;
      default:
        return Fail(Expected());
    }
  }
  bool end_object() override {
    if (Unskip()) return true;
    if (Top() == In::kPack) {
      if (!pack_) return Fail("pack without an id");
      if (!have_blobs_) return Fail("pack without blobs");
      for (auto& [id, loc] : pending_) {
        loc.pack = *pack_;
        sink_(id, loc);
      }
      pending_.clear();
    }
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (Skipping()) return true;
    In top = Top();
    if (top == In::kRoot && key_ == "packs") {
      have_packs_ = true;
      stack_.push_back(In::kPacks);
    } else if (top == In::kPack && key_ == "blobs") {
      have_blobs_ = true;
      stack_.push_back(In::kBlobs);
    } else if (top == In::kBlobs) {
      stack_.push_back(In::kBlob);
      field_ = 0;
    } else {
      return Fail(Expected());
    }
    return true;
  }
  bool end_array() override {
    if (Unskip()) return true;
    if (Top() == In::kBlob) {
      if (field_ < 5) return Fail("index entry with fewer than 5 fields");
      if (cur_.second.length < kSealOverhead) return Fail("blob length too small");
      pending_.push_back(cur_);
    }
    stack_.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    if (skip_ > 0) return true;
    In top = Top();
    if ((top == In::kRoot && k == "packs") || (top == In::kPack && (k == "id" || k == "blobs"))) {
      key_ = k;
    } else {
      skip_value_ = true;  // other members are allowed and ignored
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return Fail(std::string("bad JSON: ") + e.what());
  }

  Status Result() const {
    if (!error_.empty()) return Corrupt(error_);
    if (!have_packs_) return Corrupt("index without packs");
    return Status::Ok();
  }

 private:
  enum class In { kTop, kRoot, kPacks, kPack, kBlobs, kBlob };
  struct Value {
    bool is_uint = false;
    uint64_t uint = 0;
    const std::string* str = nullptr;
  };

  In Top() const { return stack_.empty() ? In::kTop : stack_.back(); }
  bool Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return false;
  }
  std::string Expected() const {
    switch (Top()) {
      case In::kTop:
        return "index is not an object";
      case In::kRoot:
        return "packs is not an array";
      case In::kPacks:
        return "pack is not an object";
      case In::kPack:
        return key_ == "id" ? "bad pack id" : "blobs is not an array";
      case In::kBlobs:
        return "index entry is not an array";
      case In::kBlob:
        return field_ == 0 ? "bad blob id" : "index entry field " + std::to_string(field_) + " is not a number";
    }
    return "bad index";
  }
  // A value being skipped (a member we ignore): containers are counted to their end.
  bool Skipping() {
    if (skip_ > 0 || skip_value_) {
      skip_value_ = false;
      ++skip_;
      return true;
    }
    return false;
  }
  bool Unskip() {
    if (skip_ == 0) return false;
    --skip_;
    return true;
  }

  bool Scalar(const Value& v) {
    if (skip_ > 0) return true;
    if (skip_value_) {
      skip_value_ = false;
      return true;
    }
    switch (Top()) {
      case In::kPack: {  // "id" (keys other than id and blobs were skipped)
        std::optional<Id> id = v.str && key_ == "id" ? Id::FromHex(*v.str) : std::nullopt;
        if (!id) return Fail(Expected());
        pack_ = *id;
        return true;
      }
      case In::kBlob:
        return Field(v);
      default:
        return Fail(Expected());
    }
  }
  bool Field(const Value& v) {
    size_t f = field_++;
    if (f == 0) {
      std::optional<Id> id = v.str ? Id::FromHex(*v.str) : std::nullopt;
      if (!id) return Fail("bad blob id");
      cur_.first = *id;
      return true;
    }
    if (f >= 5) return true;  // later fields are ignored
    if (!v.is_uint || v.uint > UINT32_MAX) {
      return Fail("index entry field " + std::to_string(f) + " is not a number from 0 to 4294967295");
    }
    uint32_t n = static_cast<uint32_t>(v.uint);
    BlobLocation& loc = cur_.second;
    if (f == 1) {
      if (n > static_cast<uint32_t>(BlobType::kTree)) return Fail("unknown blob type");
      loc.type = static_cast<BlobType>(n);
    } else if (f == 2) {
      loc.offset = n;
    } else if (f == 3) {
      loc.length = n;
    } else {
      loc.raw_length = n;
    }
    return true;
  }

  const IndexSink& sink_;
  std::vector<In> stack_;
  std::string key_;
  int skip_ = 0;
  bool skip_value_ = false;
  bool have_packs_ = false, have_blobs_ = false;
  std::optional<Id> pack_;
  std::vector<std::pair<Id, BlobLocation>> pending_;  // a pack's entries until its id is known
  std::pair<Id, BlobLocation> cur_;
  size_t field_ = 0;
  std::string error_;
};

}  // namespace

Status Repository::ParseIndexText(std::string_view text, const IndexSink& sink) {
  IndexSax sax(sink);
  json::sax_parse(text.begin(), text.end(), &sax, json::input_format_t::json, /*strict=*/true);
  return sax.Result();
}

StatusOr<std::vector<std::pair<Id, BlobLocation>>> Repository::ParseIndex(const json& doc) {
  std::vector<std::pair<Id, BlobLocation>> out;
  RETURN_IF_ERROR(
      ParseIndexText(doc.dump(), [&](const Id& id, const BlobLocation& loc) { out.emplace_back(id, loc); }));
  return out;
}

}  // namespace stb
