// `monitor [--listen ADDR] [--probe-interval S]`: the Prometheus exporter. Serves the guide's
// metrics from the catalog and probes each configured cloud location in the background: 1 when it
// answers and holds the newest local snapshot object (snapshots/<id>), else 0.
#include <cstdio>
#include <memory>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/recovery_state.h"
#include "cloud/locations.h"
#include "core/log.h"
#include "monitor/exporter.h"
#include "repository/snapshots.h"

namespace stb {

namespace {

// Reachable and up to date: the location has the newest local snapshot object ("config" when
// there is no backup yet).
Status ProbeLocation(const Settings& s, const LocationInfo& loc, const std::string& newest_object,
                     const std::string& newest_id) {
  ASSIGN_OR_RETURN(auto remote, OpenLocation(s, loc.name));
  auto st = remote->Stat(newest_object.empty() ? "config" : newest_object);
  if (st.ok()) return Status::Ok();
  if (st.status().code() == Code::kNotFound) {
    return NotFound(remote->Describe() +
                    (newest_object.empty() ? " holds no repository" : " does not hold the newest backup " + newest_id));
  }
  return st.status();
}

}  // namespace

int RunMonitor(const Settings& s, const MonitorArgs& a) {
  InitLog(s.log_dir, "monitor.log");
  auto listen = ParseListen(a.listen);
  if (!listen.ok()) {  // a usage error
    std::fprintf(stderr, "error: %s\n", listen.status().message().c_str());
    return 2;
  }
  auto catalog = Catalog::Open(s.state_dir);
  if (!catalog.ok()) return Fail(catalog.status());

  std::vector<LocationInfo> clouds;
  for (const auto& loc : ConfiguredLocations(s)) {
    if (loc.name != "local") clouds.push_back(loc);
  }
  ExporterOptions opt;
  opt.listen = *listen;
  opt.probe_interval_seconds = a.probe_interval_seconds;
  opt.info.version = a.version;
  opt.info.target_rpo_seconds = s.rpo_seconds;
  for (const auto& c : clouds) opt.info.location_labels.push_back(c.label);
  for (const auto& [comp, configured] : {std::pair<std::string, bool>{"database", !s.db_host.empty()},
                                         {"redis", !s.redis_host.empty()},
                                         {"player_saves", !s.player_saves_dir.empty()},
                                         {"configuration", !s.config_dirs.empty()},
                                         {"application", !s.app_dir.empty()}}) {
    if (configured) opt.info.components.push_back(comp);
  }
  Catalog& cat = **catalog;
  // The local repository stays open between probes (opening it derives the key).
  auto repo = std::make_shared<std::unique_ptr<Repository>>();
  opt.probe = [&s, &cat, clouds, repo] {
    std::string newest_object, newest_id;
    Status local = Status::Ok();
    if (!*repo) {
      auto r = OpenRepository(s, "local");
      if (r.ok()) {
        *repo = std::move(*r);
      } else {
        local = r.status();
      }
    }
    if (*repo) {
      auto snaps = ListSnapshots(**repo, nullptr);
      if (snaps.ok() && !snaps->empty()) {
        newest_object = snaps->back().object;
        newest_id = snaps->back().backup_id;
        // backup_recovery_window_seconds stays fresh without anyone running `snapshots`.
        std::vector<std::string> errors;
        RefreshRecoveryWindows(s, **repo, *snaps, "local", errors);
        for (const auto& e : errors) LogWarn("recovery window: " + e);
      } else if (!snaps.ok()) {
        local = snaps.status();
        repo->reset();
      }
    }
    for (const auto& loc : clouds) {
      Status st = local.ok() ? ProbeLocation(s, loc, newest_object, newest_id)
                             : local.Context("reading the local repository to compare");
      if (!st.ok()) LogWarn("probe " + loc.label + ": " + st.message());
      Status rec = cat.RecordProbe(loc.label, st.ok(), st.message());
      if (!rec.ok()) LogWarn("probe " + loc.label + ": " + rec.message());
    }
  };
  Status st = RunExporter(cat, opt, [&] {
    std::fprintf(stderr,
                 "monitor: serving /metrics and /healthz on %s:%d (catalog %s, %zu location(s) probed every %gs)\n",
                 listen->host.c_str(), listen->port, cat.path().c_str(), clouds.size(), a.probe_interval_seconds);
  });
  if (!st.ok()) return Fail(st);
  return 0;
}

}  // namespace stb
