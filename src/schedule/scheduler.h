// The core of the backup daemon: runs cron-scheduled jobs one at a time, deciding what happens to a
// run that falls due while another is running. Time comes from an Env so tests need not sleep.
#pragma once

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/env.h"
#include "core/stop.h"
#include "schedule/cron.h"

namespace stb {

struct Job {
  std::string name;
  CronExpr when;
  std::function<int()> run;  // exit code: 0 = success
};

// What happens to a run that falls due while another run (of any job, or of the same one) is in
// progress, or at the same minute as a run listed earlier.
enum class OverlapPolicy {
  kWait,  // it runs as soon as the other finishes: once, however many of its times went by
  kSkip,  // it does not run; the job waits for its next time after the other finished
};

// Runs jobs synchronously on the calling thread, so never two at once. At each step it sleeps until
// the earliest next time of any job (on the Env's wall clock, so tests pass a fake one), then runs the
// due job with the earliest time; on a tie the job
// listed first. When a run finishes, every job that fell due meanwhile (including a job due at the
// same minute the run started, such as the 02:00 incremental behind the 02:00 full listed first) is
// overlapped and follows the policy, with one log line per overlapped job.
// At start, a job whose time is the current second runs; earlier times are not caught up.
class Scheduler {
 public:
  using Logger = std::function<void(const std::string&)>;

  Scheduler(std::vector<Job> jobs, Env& env, OverlapPolicy policy, Logger log);

  // Loops until `stop` is set: checked while sleeping and before starting each run. A run in progress
  // is not interrupted (the caller makes the job itself honour a shutdown). Also returns when no job
  // has a future time, or after max_runs runs.
  void Run(const StopToken& stop);

  void set_max_runs(int n) { max_runs_ = n; }  // 0 = no limit; for tests
  int runs() const { return runs_; }
  // The time job `i` runs next (may be in the past while it waits its turn); nullopt if never.
  std::optional<time_t> next_time(size_t i) const { return next_[i]; }

 private:
  std::optional<time_t> NextTime(size_t i, time_t after);
  void RunJob(size_t i);
  void Overlapped(size_t j, size_t ran, time_t finished);

  std::vector<Job> jobs_;
  Env& env_;
  OverlapPolicy policy_;
  Logger log_;
  std::vector<std::optional<time_t>> next_;
  std::vector<bool> waiting_;  // kWait: already logged that it waits its turn
  int max_runs_ = 0;
  int runs_ = 0;
};

}  // namespace stb
