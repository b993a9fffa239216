#include "components/redis/redis.h"

#include <cmath>

#include "components/redis/redis_stream_restore.h"

namespace stb {

using json = nlohmann::json;

namespace {

class RedisComponent : public Component {
 public:
  std::string_view name() const override { return "redis"; }

  std::string MissingSetting(const Settings& s) const override { return s.redis_host.empty() ? "REDIS_HOST" : ""; }

  ComponentBackup Backup(BackupContext& ctx) override {
    RedisBackupResult r = BackupRedis(ctx.repo, ctx.saver, RedisOptionsOf(ctx.settings), ctx.progress);
    ComponentBackup b{std::move(r.entry), ComponentReport::FromJson(r.report)};
    b.report.success = r.success;
    return b;
  }

  // --live replaces the running server's data by replication; otherwise dump.rdb is written to
  // --target DIR/redis or REDIS_DATA_DIR.
  ComponentReport Restore(const json& entry, RestoreContext& ctx) override {
    const RestoreOptions& o = ctx.options;
    std::string dir = o.target.empty() ? ctx.settings.redis_data_dir : o.target + "/redis";
    if (!o.redis_stream.empty()) {  // --latest / --target-time: replay the captured stream
      if (o.live) {
        ComponentReport r;
        r.error = "--live with --latest or --target-time is not supported for redis: restore by file";
        return r;
      }
      RedisStreamTarget t;
      t.latest = o.redis_stream == "latest";
      t.time_ms = static_cast<int64_t>(std::llround(o.target_time_unix * 1000.0));
      return ComponentReport::FromJson(
          RestoreRedisFromStream(ctx.repo, entry, dir, RedisOptionsOf(ctx.settings), ctx.settings, t));
    }
    if (o.live) return ComponentReport::FromJson(RestoreRedisLive(ctx.repo, entry, RedisOptionsOf(ctx.settings)));
    return ComponentReport::FromJson(RestoreRedis(ctx.repo, entry, dir, RedisOptionsOf(ctx.settings)));
  }

  void VisitBlobs(Repository& repo, const json& entry, const std::string& prefix, const BlobVisitor& visit,
                  std::vector<std::string>& errors) override {
    std::string kind = entry.value("kind", "");
    if (kind != "redis") {
      errors.push_back(prefix + "redis: unknown component kind '" + kind + "'");
      return;
    }
    VisitIdList(entry.contains("blobs") ? entry["blobs"] : json(), prefix, "redis", "snapshot", visit, errors);
    if (entry.contains("aof") && entry["aof"].is_object()) {
      VisitTreeBlobs(repo, entry["aof"], prefix, "redis", "aof tree", visit, errors);
    }
  }
};

}  // namespace

RedisOptions RedisOptionsOf(const Settings& s) {
  RedisOptions o;
  o.endpoint.host = s.redis_host.empty() ? "localhost" : s.redis_host;
  o.endpoint.port = s.redis_port;
  o.endpoint.username = s.redis_username;
  o.endpoint.password = s.redis_password;
  o.data_dir = s.redis_data_dir;
  o.restart_command = s.redis_restart_command;
  o.digest = s.redis_digest;
  o.live_port = s.redis_live_restore_port;
  o.endpoint.tls = s.redis_tls;
  o.endpoint.tls_ca = s.redis_tls_ca_cert;
  o.endpoint.tls_cert = s.redis_tls_cert;
  o.endpoint.tls_key = s.redis_tls_key;
  o.endpoint.tls_server_name = s.redis_tls_server_name;
  return o;
}

std::unique_ptr<Component> NewRedisComponent() { return std::make_unique<RedisComponent>(); }

}  // namespace stb
