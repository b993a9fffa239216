#include "schedule/stream_supervisor.h"

#include <signal.h>

#include <algorithm>

namespace stb {

namespace {

std::string ExitText(int code) {
  if (code >= 128) return "ended by signal " + std::to_string(code - 128);
  return "exited " + std::to_string(code);
}

std::string Seconds(double s) { return std::to_string(static_cast<long long>(s + 0.5)) + " s"; }

}  // namespace

StreamSupervisor::StreamSupervisor(std::vector<std::string> streams, Env& env, Spawner spawn, Alerter alert, Logger log,
                                   StreamSupervisorOptions o)
    : env_(env), spawn_(std::move(spawn)), alert_(std::move(alert)), log_(std::move(log)), o_(o) {
  double now = env_.MonotonicSeconds();
  for (const auto& name : streams) {
    State& st = streams_[name];
    st.down_since = now;
    st.next_start = now;
    st.backoff = o_.first_backoff;
  }
}

StreamSupervisor::~StreamSupervisor() { StopAll(); }

void StreamSupervisor::Start(const std::string& name, State& st, double now) {
  auto child = spawn_(name);
  if (!child.ok()) {
    st.last_exit = "could not start: " + child.status().message();
    log_("stream " + name + " " + st.last_exit + "; trying again in " + Seconds(st.backoff));
    st.next_start = now + st.backoff;
    st.backoff = std::min(st.backoff * 2, o_.max_backoff);
    return;
  }
  st.child = std::move(*child);
  st.started_at = now;
  log_("stream " + name + " started (pid " + std::to_string(st.child->pid()) + ")");
  // Running again counts as recovered: a capture that cannot reach its server retries inside
  // the process and says so in its own log and through wal_behind.
  if (st.alerted) {
    st.alerted = false;
    alert_("stream_recovered", name, "running again after " + Seconds(now - st.down_since) + " down");
  }
}

void StreamSupervisor::Tick() {
  double now = env_.MonotonicSeconds();
  for (auto& [name, st] : streams_) {
    int code = 0;
    if (st.child && st.child->TryWait(&code)) {
      st.child.reset();
      ++st.restarts;
      st.down_since = now;
      st.last_exit = ExitText(code);
      if (now - st.started_at >= o_.reset_after) st.backoff = o_.first_backoff;
      st.next_start = now + st.backoff;
      log_("stream " + name + " " + st.last_exit + "; starting it again in " + Seconds(st.backoff));
      st.backoff = std::min(st.backoff * 2, o_.max_backoff);
    }
    if (st.child) continue;
    if (!st.alerted && now - st.down_since >= o_.down_alert) {
      st.alerted = true;
      alert_("stream_down", name,
             "down for " + Seconds(now - st.down_since) + " (more than the recovery point target, " +
                 Seconds(o_.down_alert) + "); last: " + (st.last_exit.empty() ? "not started" : st.last_exit));
    }
    if (now >= st.next_start) Start(name, st, now);
  }
}

void StreamSupervisor::Run(const StopToken& stop) {
  while (!stop.stopped()) {
    Tick();
    env_.SleepFor(o_.tick, stop);
  }
  StopAll();
}

void StreamSupervisor::StopAll() {
  bool any = false;
  for (auto& [name, st] : streams_) {
    if (st.child) {
      st.child->Kill(SIGTERM);
      any = true;
    }
  }
  if (!any) return;
  double deadline = env_.MonotonicSeconds() + o_.stop_timeout;
  for (;;) {
    bool left = false;
    for (auto& [name, st] : streams_) {
      int code = 0;
      if (st.child && st.child->TryWait(&code)) {
        log_("stream " + name + " stopped (" + ExitText(code) + ")");
        st.child.reset();
      }
      left = left || st.child != nullptr;
    }
    if (!left) return;
    if (env_.MonotonicSeconds() >= deadline) break;
    env_.SleepFor(o_.tick, NeverStop());
  }
  for (auto& [name, st] : streams_) {
    if (!st.child) continue;
    log_("stream " + name + " did not stop within " + Seconds(o_.stop_timeout) + ": SIGKILL");
    st.child->Kill(SIGKILL);
    int code = 0;
    while (!st.child->TryWait(&code)) env_.SleepFor(o_.tick, NeverStop());
    st.child.reset();
  }
}

bool StreamSupervisor::running(const std::string& stream) const {
  auto it = streams_.find(stream);
  return it != streams_.end() && it->second.child != nullptr;
}

int StreamSupervisor::restarts(const std::string& stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : it->second.restarts;
}

}  // namespace stb
