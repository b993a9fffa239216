#include "schedule/scheduler.h"

#include <algorithm>
#include <exception>
#include <utility>

namespace stb {

namespace {

std::string HowLong(time_t seconds) {
  if (seconds < 60) return std::to_string(seconds) + " s";
  if (seconds < 3600) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds / 3600) + " h " + std::to_string(seconds % 3600 / 60) + " min";
}

}  // namespace

Scheduler::Scheduler(std::vector<Job> jobs, Env& env, OverlapPolicy policy, Logger log)
    : jobs_(std::move(jobs)),
      env_(env),
      policy_(policy),
      log_(log ? std::move(log) : Logger([](const std::string&) {})),
      next_(jobs_.size()),
      waiting_(jobs_.size(), false) {}

std::optional<time_t> Scheduler::NextTime(size_t i, time_t after) {
  StatusOr<time_t> t = NextRun(jobs_[i].when, after);
  if (!t.ok()) {
    log_(jobs_[i].name + ": disabled: " + t.status().message());
    return std::nullopt;
  }
  return *t;
}

void Scheduler::Run(const StopToken& stop) {
  const time_t start = env_.Now();
  for (size_t i = 0; i < jobs_.size(); ++i) {
    next_[i] = NextTime(i, start - 1);
    waiting_[i] = false;
    if (next_[i]) log_(jobs_[i].name + " (" + jobs_[i].when.text + "): next run at " + FormatLocalTime(*next_[i]));
  }
  while (!stop.stopped()) {
    std::optional<size_t> due;
    for (size_t i = 0; i < jobs_.size(); ++i) {
      if (next_[i] && (!due || *next_[i] < *next_[*due])) due = i;  // strict: ties go to the job listed first
    }
    if (!due) {
      log_("no job has a future run time; scheduler stopping");
      return;
    }
    if (!env_.SleepUntil(static_cast<double>(*next_[*due]), stop) || stop.stopped()) return;
    RunJob(*due);
    if (max_runs_ > 0 && runs_ >= max_runs_) return;
  }
}

void Scheduler::RunJob(size_t i) {
  const Job& job = jobs_[i];
  const time_t due = *next_[i];
  const time_t started = env_.Now();
  std::string line = job.name + ": starting run due at " + FormatLocalTime(due);
  if (started - due >= 60) line += ", " + HowLong(started - due) + " late";
  log_(line);

  std::string outcome;
  try {
    int rc = job.run ? job.run() : -1;
    outcome = rc == 0 ? "finished" : "failed with exit code " + std::to_string(rc);
  } catch (const std::exception& e) {
    // The job is the caller's code; one that throws must not end the daemon.
    outcome = std::string("failed: ") + e.what();
  } catch (...) {
    outcome = "failed: unknown exception";
  }
  ++runs_;
  const time_t finished = env_.Now();
  log_(job.name + ": " + outcome + " after " + HowLong(finished - started));

  // This run stands for every time of the job up to its start (with kWait, all the times it missed).
  waiting_[i] = false;
  next_[i] = NextTime(i, std::max(due, started));
  for (size_t j = 0; j < jobs_.size(); ++j) {
    if (next_[j] && *next_[j] <= finished) Overlapped(j, i, finished);
  }
}

void Scheduler::Overlapped(size_t j, size_t ran, time_t finished) {
  const std::string cause = j == ran ? "its previous run was still running" : jobs_[ran].name + " was running";
  const std::string what = jobs_[j].name + " due at " + FormatLocalTime(*next_[j]);
  if (policy_ == OverlapPolicy::kWait) {
    // It stays due, so the loop runs it next (the earliest due time first, then list order).
    if (!waiting_[j]) log_(what + " delayed: " + cause + "; it runs next");
    waiting_[j] = true;
    return;
  }
  next_[j] = NextTime(j, finished);
  log_(what + " skipped: " + cause + (next_[j] ? "; next run at " + FormatLocalTime(*next_[j]) : ""));
}

}  // namespace stb
