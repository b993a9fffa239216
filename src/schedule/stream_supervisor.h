// Keeps the continuous captures (BACKUP_STREAMS, e.g. wal-receive) running beside `schedule`:
// each is a child process, started again with backoff when it exits, and alerted on when down.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/status.h"
#include "core/stop.h"

namespace stb {

// A running child, as the supervisor sees it (a Subprocess in the daemon, a fake in tests).
class StreamChild {
 public:
  virtual ~StreamChild() = default;
  virtual pid_t pid() const = 0;
  virtual bool TryWait(int* exit_code) = 0;  // true once it has exited (128 + signal if signalled)
  virtual void Kill(int sig) = 0;
};

struct StreamSupervisorOptions {
  double first_backoff = 1;  // seconds before the first restart; doubled after each quick exit
  double max_backoff = 60;   // BACKUP_STREAM_MAX_BACKOFF
  double reset_after = 300;  // up this long: the next exit restarts after first_backoff again
  double down_alert = 300;   // down this long: stream_down (BACKUP_RPO_SECONDS)
  double stop_timeout = 60;  // after SIGTERM on stop, then SIGKILL
  double tick = 0.1;         // how often children are looked at
};

class StreamSupervisor {
 public:
  using Spawner = std::function<StatusOr<std::unique_ptr<StreamChild>>(const std::string& stream)>;
  // event: stream_down (message says since when and the last exit), stream_recovered.
  using Alerter = std::function<void(const std::string& event, const std::string& stream, const std::string& message)>;
  using Logger = std::function<void(const std::string&)>;

  StreamSupervisor(std::vector<std::string> streams, Env& env, Spawner spawn, Alerter alert, Logger log,
                   StreamSupervisorOptions o = {});
  ~StreamSupervisor();

  // Looks after the streams until `stop`, then stops them (SIGTERM, stop_timeout, SIGKILL).
  void Run(const StopToken& stop);
  // One look: reaps exited children, starts those whose backoff ended, raises or clears alerts.
  void Tick();
  void StopAll();

  bool running(const std::string& stream) const;
  int restarts(const std::string& stream) const;

 private:
  struct State {
    std::unique_ptr<StreamChild> child;
    double started_at = 0;  // monotonic
    double down_since = 0;  // monotonic; meaningful while !child
    double next_start = 0;  // monotonic
    double backoff = 0;
    int restarts = 0;
    bool alerted = false;
    std::string last_exit;
  };
  void Start(const std::string& name, State& st, double now);

  std::map<std::string, State> streams_;
  Env& env_;
  Spawner spawn_;
  Alerter alert_;
  Logger log_;
  StreamSupervisorOptions o_;
};

}  // namespace stb
