#include "checker/redis_check.h"

namespace stb {

using json = nlohmann::json;

namespace {

std::string ChainName(const std::string& src, const std::string& chain) { return "redis/" + src + "/chains/" + chain; }

// One chain: its meta, base pieces, events, and the segments from its base on.
void CheckChain(const RedisStreamStore& store, Storage& from, const std::string& id, const RedisChainListing& c,
                bool newest, const RedisCheckOptions& o, std::vector<std::string>& errors,
                std::vector<std::string>& warnings, json& out, json& recorded_gaps, size_t& read) {
  const std::string meta_name = ChainName(store.source(), id);
  out = {{"chain", id},
         {"has_meta", c.has_meta},
         {"pieces", c.pieces.size()},
         {"segments", c.segments.size()},
         {"events", c.events.size()}};
  auto piece_name = [&](uint32_t i) {
    RedisStreamName n;
    n.kind = RedisObjectKind::kBasePiece;
    n.source = store.source();
    n.chain = id;
    n.piece = i;
    return RedisObjectName(n);
  };
  for (int64_t ms : c.events) {
    auto e = store.ReadEvent(from, id, ms);
    ++read;
    if (!e.ok()) {
      errors.push_back(e.status().message());
      continue;
    }
    if (e->type == RedisChainEvent::kGap || e->type == RedisChainEvent::kRestart) {
      recorded_gaps.push_back({{"chain", id},
                               {"type", RedisEventTypeName(e->type)},
                               {"at_ms", e->at_ms},
                               {"offset", e->offset},
                               {"next_chain", e->next_chain}});
    }
  }
  if (!c.has_meta) {
    // No restore and no capture reads a chain without meta: a capture still storing its base
    // (the newest chain), or what an interrupted prune or an abandoned start left.
    warnings.push_back(meta_name + " is absent: " + std::to_string(c.segments.size() + c.pieces.size()) +
                       " objects of this chain are not used by any restore" +
                       (newest ? " (a capture may still be storing its base)" : "; prune removes them"));
    return;
  }
  auto meta = store.ReadMeta(from, id);
  ++read;
  if (!meta.ok()) {
    errors.push_back(meta.status().message());
    return;
  }
  out["base_offset"] = meta->base_offset;
  for (uint32_t i = 0; i < meta->pieces.size(); ++i) {
    const std::string pname = piece_name(i);
    auto it = c.pieces.find(i);
    if (it == c.pieces.end()) {
      errors.push_back(pname + ": base piece " + std::to_string(i) + " of " + std::to_string(meta->pieces.size()) +
                       " is missing (chain " + id + " cannot restore from its own base)");
      continue;
    }
    if (!o.read_data) continue;
    auto obj = store.ReadObject(from, pname);
    ++read;
    if (!obj.ok()) {
      errors.push_back(obj.status().message());
    } else if (obj->content_id != meta->pieces[i].content_id || obj->raw.size() != meta->pieces[i].size) {
      errors.push_back(pname + ": content does not match the chain meta (damaged or swapped)");
    }
  }
  for (const auto& [i, size] : c.pieces) {
    if (i >= meta->pieces.size()) {
      warnings.push_back(piece_name(i) + ": a base piece the chain meta does not list; ignored");
    }
  }
  const RedisContiguity k = ChainContiguity(meta->base_offset, c.Ranges());
  out["durable_end"] = k.durable_end;
  json missing = json::array();
  for (const auto& m : k.missing) {
    // The capture stores a chain's stream in order and starts a new chain after any loss, so a
    // hole inside a chain was never recorded: segments were lost or deleted.
    missing.push_back({{"start", m.start}, {"end", m.end}});
    errors.push_back("redis/" + store.source() + "/seg/" + id + "/: stream bytes " + std::to_string(m.start) + "-" +
                     std::to_string(m.end) + " are missing (no event records a gap there): restores after offset " +
                     std::to_string(m.start) + " of chain " + id + " fail");
  }
  out["missing"] = missing;
  if (!o.read_data) return;
  for (const auto& s : c.segments) {
    auto obj = store.ReadObject(from, s.name);
    ++read;
    if (!obj.ok()) errors.push_back(obj.status().message());
  }
  for (uint64_t at : c.replid_switches) {
    auto r = store.ReadReplidSwitch(from, id, at);
    ++read;
    if (!r.ok()) errors.push_back(r.status().message());
  }
}

}  // namespace

void CheckRedisStream(const Repository& repo, Storage& from, const RedisCheckOptions& o,
                      std::vector<std::string>& errors, std::vector<std::string>& warnings, json& report) {
  report = {{"sources", json::array()}, {"objects", 0}, {"objects_read", 0}, {"recorded_gaps", json::array()}};
  auto all = from.List("redis/");
  if (!all.ok()) {
    errors.push_back("listing redis/: " + all.status().message());
    return;
  }
  report["objects"] = all->size();
  for (const auto& obj : *all) {
    auto n = ParseRedisObjectName(obj.name);
    if (!n.ok()) errors.push_back(obj.name + ": " + n.status().message());
  }
  auto sources = RedisStreamStore::ListSources(from);
  if (!sources.ok()) {
    errors.push_back("listing redis/: " + sources.status().message());
    return;
  }
  size_t read = 0;
  for (const auto& src : *sources) {
    RedisStreamStore store(repo, src);
    auto l = store.List(from);
    if (!l.ok()) {
      errors.push_back("listing redis/" + src + "/: " + l.status().message());
      continue;
    }
    json chains = json::array();
    for (const auto& [id, c] : l->chains) {
      json one;
      CheckChain(store, from, id, c, id == l->chains.rbegin()->first, o, errors, warnings, one, report["recorded_gaps"],
                 read);
      chains.push_back(one);
    }
    report["sources"].push_back({{"source", src}, {"chains", chains}});
  }
  report["objects_read"] = read;
}

}  // namespace stb
