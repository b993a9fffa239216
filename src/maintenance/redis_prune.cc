#include "maintenance/redis_prune.h"

#include <cmath>
#include <map>

#include "core/log.h"

namespace stb {

RedisPrunePlan PlanRedisPrune(const RedisStreamListing& listing, std::optional<int64_t> window_ms) {
  RedisPrunePlan plan;
  if (!window_ms || listing.chains.empty()) return plan;
  // Chain ids start with their base time as 12 hex digits: the map's order is the time order.
  const std::string& newest = listing.chains.rbegin()->first;
  for (const auto& [id, c] : listing.chains) {
    auto cid = ParseRedisChainId(id);
    if (!cid.ok() || cid->base_ms > *window_ms) break;
    if (c.has_meta) plan.kept_from = id;
  }
  if (plan.kept_from.empty()) return plan;                    // no chain reaches back to the window: all may be needed
  std::map<std::string, std::vector<RedisPruneObject>> rest;  // per chain, all but its meta
  std::map<std::string, RedisPruneObject> metas;
  for (const auto& [name, size] : listing.objects) {
    auto n = ParseRedisObjectName(name);
    if (!n.ok() || n->chain >= plan.kept_from || n->chain == newest) continue;
    if (n->kind == RedisObjectKind::kChainMeta) {
      metas[n->chain] = {name, size};
    } else {
      rest[n->chain].push_back({name, size});
    }
  }
  for (const auto& [id, c] : listing.chains) {
    if (id >= plan.kept_from || id == newest) break;
    plan.chains.push_back(id);
    // The meta first: from then on nothing trusts the chain's other objects.
    if (auto m = metas.find(id); m != metas.end()) plan.delete_.push_back(m->second);
    for (const auto& o : rest[id]) plan.delete_.push_back(o);
  }
  for (const auto& o : plan.delete_) plan.bytes += o.size;
  return plan;
}

std::optional<int64_t> OldestRedisBackupMs(const std::vector<SnapshotRef>& snaps) {
  std::optional<int64_t> out;
  for (const auto& s : snaps) {
    auto comps = s.doc.find("components");
    if (comps == s.doc.end() || !comps->is_object()) continue;
    bool redis = false;
    for (const auto& [name, e] : comps->items()) redis |= e.is_object() && e.value("kind", "") == "redis";
    auto t = s.doc.find("time_unix");
    if (!redis || t == s.doc.end() || !t->is_number()) continue;
    const double secs = t->get<double>();
    if (!std::isfinite(secs) || secs < 0 || secs > 253402300799.0) continue;  // year 9999
    const auto ms = static_cast<int64_t>(std::floor(secs * 1000));
    if (!out || ms < *out) out = ms;
  }
  return out;
}

StatusOr<RedisPruneResult> PruneRedisStream(const Repository& repo, Storage& where, std::optional<int64_t> window_ms,
                                            bool dry_run) {
  RedisPruneResult r;
  ASSIGN_OR_RETURN(auto sources, RedisStreamStore::ListSources(where));
  for (const auto& src : sources) {
    RedisStreamStore store(repo, src);
    ASSIGN_OR_RETURN(RedisStreamListing l, store.List(where));
    if (!window_ms) {
      r.warnings.push_back("redis/" + src + "/: no Redis backup is kept; all " + std::to_string(l.objects.size()) +
                           " Redis stream objects are kept");
      continue;
    }
    RedisPrunePlan plan = PlanRedisPrune(l, window_ms);
    for (const auto& o : plan.delete_) {
      if (!dry_run) {
        Status st = where.Remove(o.name);
        if (!st.ok() && st.code() != Code::kNotFound) return st.Context("prune of Redis stream objects");
      }
      r.objects_deleted++;
      r.bytes_deleted += o.size;
    }
    std::map<std::string, RedisPruneResult::Chain> per;
    for (const auto& o : plan.delete_) {
      auto n = ParseRedisObjectName(o.name);
      if (!n.ok()) continue;
      per[n->chain].objects++;
      per[n->chain].bytes += o.size;
    }
    for (const auto& c : plan.chains) {
      RedisPruneResult::Chain rc = per[c];
      rc.name = src + "/" + c;
      r.chains_deleted.push_back(rc);
    }
    if (!dry_run && !plan.chains.empty()) {
      LogInfo("prune: deleted " + std::to_string(plan.chains.size()) + " Redis stream chains (" +
              std::to_string(plan.delete_.size()) + " objects, " + std::to_string(plan.bytes) + " bytes) of source " +
              src + " before chain " + plan.kept_from);
    }
  }
  return r;
}

}  // namespace stb
