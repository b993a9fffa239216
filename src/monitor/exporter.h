// The `monitor` HTTP server: GET /metrics (from the catalog at each scrape) and /healthz, and a
// background probe of the cloud locations every interval, until SIGTERM or SIGINT.
#pragma once

#include <functional>
#include <string>

#include "catalog/catalog.h"
#include "monitor/metrics.h"

namespace stb {

struct ListenAddress {
  std::string host;  // "0.0.0.0" when only a port was given
  int port = 0;
};
// "HOST:PORT", ":PORT", "PORT" or "[IPv6]:PORT"; the port 1..65535.
StatusOr<ListenAddress> ParseListen(const std::string& value);

struct ExporterOptions {
  ListenAddress listen;
  double probe_interval_seconds = 60;
  MetricsInfo info;
  // Checks every configured location and records the results in the catalog; runs on the probe
  // thread, at start and then every interval. May take long (retries): scrapes do not wait for it.
  std::function<void()> probe;
};

// Binds (an error names the address and the cause: in use, not local, permission), then serves
// until SIGTERM or SIGINT, or until ProcessStopToken() is stopped. ready is called once the socket listens.
Status RunExporter(Catalog& catalog, const ExporterOptions& opt, const std::function<void()>& ready = nullptr);

}  // namespace stb
