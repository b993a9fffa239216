#include "monitor/exporter.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/env.h"
#include "core/log.h"
#include "core/stop.h"
#include "monitor/status_page.h"

namespace stb {

StatusOr<ListenAddress> ParseListen(const std::string& value) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("--listen '" + value + "': " + why + " (use HOST:PORT, :PORT or PORT, e.g. :9091)");
  };
  ListenAddress a;
  std::string port;
  if (!value.empty() && value[0] == '[') {  // [::1]:9091
    size_t close = value.find("]:");
    if (close == std::string::npos) return bad("an IPv6 address is written [ADDRESS]:PORT");
    a.host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    size_t colon = value.rfind(':');
    if (colon == std::string::npos) {
      port = value;
    } else {
      a.host = value.substr(0, colon);
      port = value.substr(colon + 1);
      if (a.host.find(':') != std::string::npos) return bad("an IPv6 address is written [ADDRESS]:PORT");
    }
  }
  if (a.host.empty()) a.host = "0.0.0.0";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) {
    return bad("the port must be a number");
  }
  a.port = std::stoi(port);
  if (a.port < 1 || a.port > 65535) return bad("the port must be between 1 and 65535");
  return a;
}

Status RunExporter(Catalog& catalog, const ExporterOptions& opt, const std::function<void()>& ready) {
  // SIGTERM and SIGINT go to one thread (sigtimedwait below), not to whichever thread they hit; it
  // stops the process's token, which ends the server whoever stops it.
  sigset_t sigs, old;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, &old);

  httplib::Server svr;
  // cpp-httplib sets SO_REUSEPORT by default, which would let a second exporter share the port
  // silently; SO_REUSEADDR alone still refuses a port that another socket listens on.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    auto summary = catalog.Summary();
    if (!summary.ok()) {
      LogError("/metrics: " + summary.status().message());
      res.status = 500;
      res.set_content("catalog unreadable: " + summary.status().message() + "\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_content(RenderMetrics(*summary, opt.info, NowSeconds()), "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    auto summary = catalog.Summary();
    res.status = summary.ok() ? 200 : 503;
    res.set_content(summary.ok() ? "ok\n" : "catalog unreadable\n", "text/plain; charset=utf-8");
  });
  svr.Get("/", [&](const httplib::Request&, httplib::Response& res) {
    auto summary = catalog.Summary();
    if (!summary.ok()) {
      res.status = 500;
      res.set_content("catalog unreadable: " + summary.status().message() + "\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_content(RenderStatusPage(*summary, opt.info, NowSeconds()), "text/html; charset=utf-8");
  });

  errno = 0;
  if (!svr.bind_to_port(opt.listen.host, opt.listen.port)) {
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    std::string why = err == EADDRINUSE      ? "the port is already in use"
                      : err == EADDRNOTAVAIL ? "the address is not one of this host's"
                      : err == EACCES        ? "permission denied (ports below 1024 need privileges)"
                      : err != 0             ? std::strerror(err)
                                             : "the address cannot be resolved or bound";
    return Unavailable("cannot listen on " + opt.listen.host + ":" + std::to_string(opt.listen.port) +
                       " (--listen): " + why);
  }

  // Probes run on their own thread so a slow location (retries) never delays a scrape.
  struct ProbeState {
    std::mutex mu;
    std::condition_variable cv;
    bool stop = false, probing = false;
  };
  auto ps = std::make_shared<ProbeState>();
  std::thread prober([ps, &opt] {
    std::unique_lock<std::mutex> l(ps->mu);
    while (!ps->stop) {
      ps->probing = true;
      l.unlock();
      if (opt.probe) opt.probe();
      l.lock();
      ps->probing = false;
      ps->cv.notify_all();
      ps->cv.wait_for(l, std::chrono::duration<double>(opt.probe_interval_seconds), [&] { return ps->stop; });
    }
  });
  std::atomic<bool> served{false};
  std::thread signals([&] {
    struct timespec tick {
      0, 200 * 1000 * 1000
    };
    StopToken& stop = ProcessStopToken();
    while (!served) {
      int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGTERM || sig == SIGINT) stop.Stop(sig);
      if (stop.stopped()) {
        LogInfo("monitor: stopping (" + (stop.signal() != 0 ? "signal " + std::to_string(stop.signal()) : "requested") +
                ")");
        svr.stop();
        return;
      }
    }
  });
  if (ready) ready();
  LogInfo("monitor: serving /metrics on " + opt.listen.host + ":" + std::to_string(opt.listen.port));
  bool clean = svr.listen_after_bind();
  served = true;
  signals.join();
  {
    std::unique_lock<std::mutex> l(ps->mu);
    ps->stop = true;
    ps->cv.notify_all();
    // A probe stuck in a location's retries (up to 90 s) must not hold up the shutdown.
    if (!ps->cv.wait_for(l, std::chrono::seconds(3), [&] { return !ps->probing; })) {
      LogWarn("monitor: a location probe was still running at shutdown; abandoned");
      std::_Exit(0);
    }
  }
  prober.join();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  (void)clean;  // listen_after_bind returns false after stop() too
  return Status::Ok();
}

}  // namespace stb
