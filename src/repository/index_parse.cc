// Index objects parsed as they are read, straight into the caller's sink, with simdjson's On Demand
// front end: no document is built (a DOM cost ~250 bytes an entry), and parsing, which was most of a
// large index's load time with nlohmann's SAX lexer, is several times faster. Every number is
// checked (doc/design.md §8).
#include <simdjson.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "repository/repository.h"

namespace stb {

namespace {

namespace od = simdjson::ondemand;
using Entry = std::pair<Id, BlobLocation>;

// A value of the wrong type gets the index's own message; anything else is malformed JSON.
Status Bad(simdjson::error_code e, const char* wrong_type) {
  if (e == simdjson::INCORRECT_TYPE) return Corrupt(wrong_type);
  return Corrupt(std::string("bad JSON: ") + simdjson::error_message(e));
}

// Reads the next member of an object: its unescaped key, and its value (not yet consumed; a value
// left unread is skipped by the next step).
simdjson::error_code NextMember(simdjson::simdjson_result<od::field> r, std::string_view& key, od::value& value) {
  od::field field;
  if (auto e = std::move(r).get(field)) return e;
  if (auto e = field.unescaped_key().get(key)) return e;
  value = field.value();
  return simdjson::SUCCESS;
}

// An id is a string of 64 hex digits. It is read from the raw token rather than unescaped: hex needs
// no escapes, and unescaping would copy every id into simdjson's string buffer (~0.7 bytes of
// memory per byte of index, per parsing thread). A token with an escape is not a valid id.
std::optional<Id> HexId(od::value v) {
  std::string_view token = v.raw_json_token();
  constexpr size_t kHex = 2 * sizeof(Id{}.b);
  if (token.size() < kHex + 2 || token[0] != '"' || token[kHex + 1] != '"') return std::nullopt;
  if (token.find_first_not_of(" \t\r\n", kHex + 2) != std::string_view::npos) return std::nullopt;
  return Id::FromHex(token.substr(1, kHex));
}

// [id, type, offset, length, raw length, ...]: later fields are ignored.
Status ParseEntry(od::array entry, Entry& out) {
  size_t f = 0;
  for (auto r : entry) {
    od::value v;
    if (auto e = std::move(r).get(v)) return Bad(e, "bad index entry");
    if (f == 0) {
      std::optional<Id> id = HexId(v);
      if (!id) return Corrupt("bad blob id");
      out.first = *id;
    } else if (f < 5) {
      uint64_t n = 0;
      if (v.get_uint64().get(n) || n > UINT32_MAX) {
        return Corrupt("index entry field " + std::to_string(f) + " is not a number from 0 to 4294967295");
      }
      BlobLocation& loc = out.second;
      if (f == 1) {
        if (n > static_cast<uint32_t>(BlobType::kTree)) return Corrupt("unknown blob type");
        loc.type = static_cast<BlobType>(n);
      } else if (f == 2) {
        loc.offset = static_cast<uint32_t>(n);
      } else if (f == 3) {
        loc.length = static_cast<uint32_t>(n);
      } else {
        loc.raw_length = static_cast<uint32_t>(n);
      }
    }
    ++f;
  }
  if (f < 5) return Corrupt("index entry with fewer than 5 fields");
  if (out.second.length < kSealOverhead) return Corrupt("blob length too small");
  return Status::Ok();
}

// {"id": hex, "blobs": [entries]} in any order (the id may come last, so entries wait in pending);
// other members are ignored. A repeated member is an error: a document parser keeps only the last
// copy, and prune must read an object exactly as LoadIndex does.
Status ParsePack(od::object pack, std::vector<Entry>& pending, const IndexSink& sink) {
  std::optional<Id> pack_id;
  bool have_blobs = false;
  pending.clear();
  for (auto r : pack) {
    std::string_view key;
    od::value value;
    if (auto e = NextMember(std::move(r), key, value)) return Bad(e, "bad pack");
    if (key == "id") {
      if (pack_id) return Corrupt("pack with two ids");
      pack_id = HexId(value);
      if (!pack_id) return Corrupt("bad pack id");
    } else if (key == "blobs") {
      od::array blobs;
      if (have_blobs) return Corrupt("pack with two blob lists");
      if (auto e = value.get_array().get(blobs)) return Bad(e, "blobs is not an array");
      have_blobs = true;
      for (auto br : blobs) {
        od::value bv;
        od::array entry;
        if (auto e = std::move(br).get(bv)) return Bad(e, "index entry is not an array");
        if (auto e = bv.get_array().get(entry)) return Bad(e, "index entry is not an array");
        Entry cur;
        RETURN_IF_ERROR(ParseEntry(entry, cur));
        pending.push_back(cur);
      }
    }
  }
  if (!pack_id) return Corrupt("pack without an id");
  if (!have_blobs) return Corrupt("pack without blobs");
  for (auto& [id, loc] : pending) {
    loc.pack = *pack_id;
    sink(id, loc);
  }
  return Status::Ok();
}

// simdjson reads up to SIMDJSON_PADDING bytes past the end of the text.
Status Parse(simdjson::padded_string_view text, const IndexSink& sink) {
  od::parser parser;
  od::document doc;
  if (auto e = parser.iterate(text).get(doc)) return Bad(e, "bad index");
  od::object root;
  if (auto e = doc.get_object().get(root)) return Bad(e, "index is not an object");
  bool have_packs = false;
  std::vector<Entry> pending;  // one pack's entries, until its id is known
  for (auto r : root) {
    std::string_view key;
    od::value value;
    if (auto e = NextMember(std::move(r), key, value)) return Bad(e, "bad index");
    if (key != "packs") continue;  // other members are allowed and ignored
    if (have_packs) return Corrupt("index with two pack lists");
    od::array packs;
    if (auto e = value.get_array().get(packs)) return Bad(e, "packs is not an array");
    have_packs = true;
    for (auto pr : packs) {
      od::value pv;
      od::object pack;
      if (auto e = std::move(pr).get(pv)) return Bad(e, "pack is not an object");
      if (auto e = pv.get_object().get(pack)) return Bad(e, "pack is not an object");
      RETURN_IF_ERROR(ParsePack(pack, pending, sink));
    }
  }
  const char* rest = nullptr;  // a location is only given while tokens remain
  if (doc.current_location().get(rest) == simdjson::SUCCESS) return Corrupt("bad JSON: bytes after the index");
  if (!have_packs) return Corrupt("index without packs");
  return Status::Ok();
}

}  // namespace

Status Repository::ParseIndexText(std::string_view text, const IndexSink& sink) {
  simdjson::padded_string padded(text);
  return Parse(padded, sink);
}

Status Repository::ReadIndexObject(const std::string& name, const IndexSink& sink) {
  Status st;
  {
    auto sealed = storage_->Get(name);
    auto text = sealed.ok() ? OpenText(*sealed, kKindIndex) : StatusOr<Bytes>(sealed.status());
    if (sealed.ok()) Bytes().swap(*sealed);  // not held while the text is parsed (one object a thread)
    if (text.ok()) {
      // Zeroed padding in the text's own buffer (OpenText leaves room for it): a padded copy cost
      // the object's size again on every parsing thread.
      static_assert(simdjson::SIMDJSON_PADDING <= kTextSlack);
      const size_t n = text->size();
      text->resize(n + simdjson::SIMDJSON_PADDING, 0);
      st = Parse(simdjson::padded_string_view(reinterpret_cast<const char*>(text->data()), n, text->size()), sink);
    } else {
      st = text.status();
    }
  }
  return st.ok() ? st : st.Context(name + " in " + storage_->Describe());
}

StatusOr<std::vector<std::pair<Id, BlobLocation>>> Repository::ParseIndex(const nlohmann::json& doc) {
  std::vector<std::pair<Id, BlobLocation>> out;
  RETURN_IF_ERROR(
      ParseIndexText(doc.dump(), [&](const Id& id, const BlobLocation& loc) { out.emplace_back(id, loc); }));
  return out;
}

}  // namespace stb
