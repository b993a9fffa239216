#include "schedule/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "fake_env.h"
#include "time_util.h"

namespace stb {
namespace {

using testing::OffsetAt;
using testing::ScopedTz;
using testing::Utc;
using testing::UtcText;

// Simulated time: sleeping jumps to the wake-up time, jobs move time on by their duration. Asked to
// sleep past `end`, it stops the token instead, as a SIGTERM handler would.
class FakeClock : public testing::FakeEnv {
 public:
  FakeClock(time_t start, time_t end, StopToken& stop) : FakeEnv(static_cast<double>(start)) {
    StopAt(static_cast<double>(end), stop);
  }
};

struct RunRecord {
  std::string name;
  time_t start, end;
};

// What the jobs did, shared by all jobs of one test.
struct Recorder {
  std::vector<RunRecord> runs;
  int active = 0, max_active = 0;
  std::vector<std::string> log;

  Scheduler::Logger Logger() {
    return [this](const std::string& line) { log.push_back(line); };
  }
  // "HH:MM name" per run, in order (the day is left out; tests over several days check counts).
  std::vector<std::string> Starts() const {
    std::vector<std::string> out;
    for (const auto& r : runs) out.push_back(UtcText(r.start).substr(11, 5) + " " + r.name);
    return out;
  }
  int LogCount(const std::string& part) const {
    return static_cast<int>(
        std::count_if(log.begin(), log.end(), [&](const std::string& l) { return l.find(part) != std::string::npos; }));
  }
  bool Logged(const std::string& line) const { return std::find(log.begin(), log.end(), line) != log.end(); }
};

Job MakeJob(const std::string& name, const char* cron, time_t duration, FakeClock& clock, Recorder& rec,
            int exit_code = 0) {
  StatusOr<CronExpr> when = ParseCron(cron);
  EXPECT_TRUE(when.ok()) << cron;
  return Job{name, when.ok() ? *when : CronExpr{}, [name, duration, &clock, &rec, exit_code] {
               ++rec.active;
               rec.max_active = std::max(rec.max_active, rec.active);
               time_t start = clock.Now();
               clock.Advance(duration);
               rec.runs.push_back({name, start, clock.Now()});
               --rec.active;
               return exit_code;
             }};
}

std::string DumpLog(const Recorder& rec) {
  std::string out;
  for (const auto& l : rec.log) out += l + "\n";
  return out;
}

class SchedulerTest : public ::testing::Test {
 protected:
  ScopedTz tz_{"UTC"};
  StopToken stop_;
  Recorder rec_;
  const time_t start_ = Utc(2026, 3, 1);
};

TEST_F(SchedulerTest, DefaultJobsOverThreeDaysSkipTheIncrementalAtTwo) {
  FakeClock clock(start_, start_ + 3 * 86400 - 1, stop_);
  Scheduler s({MakeJob("full", "0 2 * * *", 0, clock, rec_), MakeJob("incremental", "0 * * * *", 0, clock, rec_)},
              clock, OverlapPolicy::kSkip, rec_.Logger());
  s.Run(stop_);

  std::vector<std::string> want;
  for (int day = 0; day < 3; ++day) {
    for (int h = 0; h < 24; ++h) want.push_back(UtcText(start_ + day * 86400 + h * 3600) + (h == 2 ? " full" : " inc"));
  }
  std::vector<std::string> got;
  for (const auto& r : rec_.runs) got.push_back(UtcText(r.start) + (r.name == "full" ? " full" : " inc"));
  EXPECT_EQ(got, want);
  EXPECT_EQ(s.runs(), 72);
  EXPECT_TRUE(stop_.stopped());  // Run returned because the clock set the flag, not on its own
  EXPECT_TRUE(rec_.Logged("full (0 2 * * *): next run at 2026-03-01 02:00 UTC")) << DumpLog(rec_);
  EXPECT_TRUE(rec_.Logged("incremental (0 * * * *): next run at 2026-03-01 00:00 UTC")) << DumpLog(rec_);
  EXPECT_TRUE(rec_.Logged(
      "incremental due at 2026-03-01 02:00 UTC skipped: full was running; next run at 2026-03-01 03:00 UTC"))
      << DumpLog(rec_);
  EXPECT_EQ(rec_.LogCount("skipped"), 3);
}

TEST_F(SchedulerTest, DefaultJobsWithWaitRunTheIncrementalAfterTheFull) {
  FakeClock clock(start_, start_ + 2 * 86400 - 1, stop_);
  Scheduler s({MakeJob("full", "0 2 * * *", 0, clock, rec_), MakeJob("incremental", "0 * * * *", 0, clock, rec_)},
              clock, OverlapPolicy::kWait, rec_.Logger());
  s.Run(stop_);
  std::vector<std::string> starts = rec_.Starts();
  ASSERT_EQ(starts.size(), 50u);
  EXPECT_EQ(std::vector<std::string>(starts.begin(), starts.begin() + 5),
            (std::vector<std::string>{"00:00 incremental", "01:00 incremental", "02:00 full", "02:00 incremental",
                                      "03:00 incremental"}));
  EXPECT_TRUE(rec_.Logged("incremental due at 2026-03-01 02:00 UTC delayed: full was running; it runs next"))
      << DumpLog(rec_);
  EXPECT_EQ(rec_.LogCount("delayed"), 2);
}

TEST_F(SchedulerTest, LongFullMakesHourlyIncrementalsSkip) {
  FakeClock clock(start_, start_ + 86400 - 1, stop_);
  Scheduler s(
      {MakeJob("full", "0 2 * * *", 90 * 60, clock, rec_), MakeJob("incremental", "0 * * * *", 5 * 60, clock, rec_)},
      clock, OverlapPolicy::kSkip, rec_.Logger());
  s.Run(stop_);
  std::vector<std::string> starts = rec_.Starts();
  ASSERT_EQ(starts.size(), 23u);  // the full and 22 incrementals: none at 02:00 and 03:00
  EXPECT_EQ(std::vector<std::string>(starts.begin(), starts.begin() + 5),
            (std::vector<std::string>{"00:00 incremental", "01:00 incremental", "02:00 full", "04:00 incremental",
                                      "05:00 incremental"}));
  // One line covers both missed times and says when it runs again.
  EXPECT_TRUE(rec_.Logged(
      "incremental due at 2026-03-01 02:00 UTC skipped: full was running; next run at 2026-03-01 04:00 UTC"))
      << DumpLog(rec_);
  EXPECT_EQ(rec_.LogCount("skipped"), 1);
  EXPECT_TRUE(rec_.Logged("full: finished after 1 h 30 min")) << DumpLog(rec_);
  EXPECT_EQ(rec_.max_active, 1);
}

TEST_F(SchedulerTest, LongFullMakesHourlyIncrementalWaitAndRunOnce) {
  FakeClock clock(start_, start_ + 86400 - 1, stop_);
  Scheduler s(
      {MakeJob("full", "0 2 * * *", 90 * 60, clock, rec_), MakeJob("incremental", "0 * * * *", 5 * 60, clock, rec_)},
      clock, OverlapPolicy::kWait, rec_.Logger());
  s.Run(stop_);
  std::vector<std::string> starts = rec_.Starts();
  ASSERT_EQ(starts.size(), 24u);  // the full and 23 incrementals: 02:00 and 03:00 become one run at 03:30
  EXPECT_EQ(std::vector<std::string>(starts.begin(), starts.begin() + 5),
            (std::vector<std::string>{"00:00 incremental", "01:00 incremental", "02:00 full", "03:30 incremental",
                                      "04:00 incremental"}));
  EXPECT_TRUE(rec_.Logged("incremental due at 2026-03-01 02:00 UTC delayed: full was running; it runs next"))
      << DumpLog(rec_);
  EXPECT_TRUE(rec_.Logged("incremental: starting run due at 2026-03-01 02:00 UTC, 1 h 30 min late")) << DumpLog(rec_);
  EXPECT_EQ(rec_.LogCount("delayed"), 1);
}

TEST_F(SchedulerTest, WaitingJobsRunEarliestDueFirstAndAreLoggedOnce) {
  FakeClock clock(start_, start_ + 86400 - 1, stop_);
  // redis is listed before incremental but due later: due time decides among waiting jobs.
  Scheduler s({MakeJob("full", "0 2 * * *", 30 * 60, clock, rec_), MakeJob("redis", "15 2 * * *", 5 * 60, clock, rec_),
               MakeJob("incremental", "0 * * * *", 10 * 60, clock, rec_)},
              clock, OverlapPolicy::kWait, rec_.Logger());
  s.Run(stop_);
  std::vector<std::string> starts = rec_.Starts();
  ASSERT_GE(starts.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(starts.begin() + 2, starts.begin() + 6),
            (std::vector<std::string>{"02:00 full", "02:30 incremental", "02:40 redis", "03:00 incremental"}));
  // redis waited behind two runs; one line says so.
  EXPECT_EQ(rec_.LogCount("redis due at"), 1) << DumpLog(rec_);
  EXPECT_TRUE(rec_.Logged("redis due at 2026-03-01 02:15 UTC delayed: full was running; it runs next"))
      << DumpLog(rec_);
}

TEST_F(SchedulerTest, FullDueWhileIncrementalRunsFollowsThePolicyToo) {
  for (OverlapPolicy policy : {OverlapPolicy::kSkip, OverlapPolicy::kWait}) {
    SCOPED_TRACE(policy == OverlapPolicy::kSkip ? "skip" : "wait");
    Recorder rec;
    StopToken stop;
    FakeClock clock(start_, start_ + 86400 - 1, stop);
    Scheduler s(
        {MakeJob("full", "0 2 * * *", 30 * 60, clock, rec), MakeJob("incremental", "50 1 * * *", 20 * 60, clock, rec)},
        clock, policy, rec.Logger());
    s.Run(stop);
    if (policy == OverlapPolicy::kSkip) {
      EXPECT_EQ(rec.Starts(), std::vector<std::string>{"01:50 incremental"});
      EXPECT_TRUE(rec.Logged(
          "full due at 2026-03-01 02:00 UTC skipped: incremental was running; next run at 2026-03-02 02:00 UTC"))
          << DumpLog(rec);
    } else {
      EXPECT_EQ(rec.Starts(), (std::vector<std::string>{"01:50 incremental", "02:10 full"}));
      EXPECT_TRUE(rec.Logged("full due at 2026-03-01 02:00 UTC delayed: incremental was running; it runs next"))
          << DumpLog(rec);
    }
  }
}

TEST_F(SchedulerTest, SameMinuteTieGoesToTheJobListedFirst) {
  FakeClock clock(start_, start_ + 86400 - 1, stop_);
  Scheduler s({MakeJob("incremental", "0 * * * *", 0, clock, rec_), MakeJob("full", "0 2 * * *", 0, clock, rec_)},
              clock, OverlapPolicy::kSkip, rec_.Logger());
  s.Run(stop_);
  EXPECT_EQ(std::count_if(rec_.runs.begin(), rec_.runs.end(), [](const RunRecord& r) { return r.name == "full"; }), 0);
  EXPECT_EQ(rec_.runs.size(), 24u);
  EXPECT_TRUE(rec_.Logged(
      "full due at 2026-03-01 02:00 UTC skipped: incremental was running; next run at 2026-03-02 02:00 UTC"))
      << DumpLog(rec_);
}

TEST_F(SchedulerTest, JobLongerThanItsIntervalSkipsItsOwnTimes) {
  FakeClock clock(start_, start_ + 86400, stop_);
  Scheduler s({MakeJob("backup", "0 * * * *", 90 * 60, clock, rec_)}, clock, OverlapPolicy::kSkip, rec_.Logger());
  s.set_max_runs(4);
  s.Run(stop_);
  EXPECT_EQ(rec_.Starts(), (std::vector<std::string>{"00:00 backup", "02:00 backup", "04:00 backup", "06:00 backup"}));
  EXPECT_TRUE(
      rec_.Logged("backup due at 2026-03-01 01:00 UTC skipped: its previous run was still running; next run "
                  "at 2026-03-01 02:00 UTC"))
      << DumpLog(rec_);
  EXPECT_FALSE(stop_.stopped());  // max_runs ended it
}

TEST_F(SchedulerTest, JobLongerThanItsIntervalWaitsAndRunsBackToBack) {
  FakeClock clock(start_, start_ + 86400, stop_);
  Scheduler s({MakeJob("backup", "0 * * * *", 90 * 60, clock, rec_)}, clock, OverlapPolicy::kWait, rec_.Logger());
  s.set_max_runs(5);
  s.Run(stop_);
  EXPECT_EQ(rec_.Starts(),
            (std::vector<std::string>{"00:00 backup", "01:30 backup", "03:00 backup", "04:30 backup", "06:00 backup"}));
  // Each run stands for the times up to its start: the one at 03:00 covers 02:00 (delayed) and 03:00.
  EXPECT_TRUE(
      rec_.Logged("backup due at 2026-03-01 01:00 UTC delayed: its previous run was still running; it runs "
                  "next"))
      << DumpLog(rec_);
  EXPECT_EQ(s.runs(), 5);
}

TEST_F(SchedulerTest, NeverTwoRunsAtOnceOverSeveralDays) {
  for (OverlapPolicy policy : {OverlapPolicy::kSkip, OverlapPolicy::kWait}) {
    SCOPED_TRACE(policy == OverlapPolicy::kSkip ? "skip" : "wait");
    Recorder rec;
    StopToken stop;
    FakeClock clock(start_, start_ + 4 * 86400, stop);
    Scheduler s(
        {MakeJob("full", "0 2 * * *", 150 * 60, clock, rec), MakeJob("incremental", "0 * * * *", 45 * 60, clock, rec),
         MakeJob("redis", "*/7 * * * *", 11 * 60, clock, rec)},
        clock, policy, rec.Logger());
    s.Run(stop);
    EXPECT_EQ(rec.max_active, 1);
    ASSERT_GT(rec.runs.size(), 150u);
    for (size_t k = 1; k < rec.runs.size(); ++k) {
      ASSERT_GE(rec.runs[k].start, rec.runs[k - 1].end) << "run " << k << " started before run " << k - 1 << " ended";
    }
    // With kSkip the 11-minute redis runs every 14 minutes and mostly hides the hour marks, so only
    // with kWait does every job get its turns.
    if (policy == OverlapPolicy::kSkip) continue;
    for (const char* name : {"full", "incremental", "redis"}) {
      EXPECT_GE(std::count_if(rec.runs.begin(), rec.runs.end(), [&](const RunRecord& r) { return r.name == name; }), 4)
          << name;
    }
  }
}

TEST_F(SchedulerTest, StopSetBeforeRunStartsNothing) {
  FakeClock clock(start_, start_ + 86400, stop_);
  Scheduler s({MakeJob("incremental", "* * * * *", 0, clock, rec_)}, clock, OverlapPolicy::kWait, rec_.Logger());
  stop_.Stop();
  s.Run(stop_);
  EXPECT_TRUE(rec_.runs.empty());
  EXPECT_EQ(clock.Now(), start_);
}

TEST_F(SchedulerTest, StopSetDuringARunStartsNoFurtherRunEvenOneThatIsDue) {
  FakeClock clock(start_, start_ + 86400, stop_);
  Job full = MakeJob("full", "0 2 * * *", 90 * 60, clock, rec_);
  auto inner = full.run;
  full.run = [&, inner] {
    int rc = inner();
    stop_.Stop();  // SIGTERM arrives while the full backup runs
    return rc;
  };
  Scheduler s({full, MakeJob("incremental", "0 3 * * *", 5 * 60, clock, rec_)}, clock, OverlapPolicy::kWait,
              rec_.Logger());
  s.Run(stop_);
  EXPECT_EQ(rec_.Starts(), std::vector<std::string>{"02:00 full"});
  ASSERT_TRUE(s.next_time(1).has_value());
  EXPECT_LE(*s.next_time(1), clock.Now());  // the incremental was due, and still did not start
  EXPECT_TRUE(rec_.Logged("incremental due at 2026-03-01 03:00 UTC delayed: full was running; it runs next"));
}

TEST_F(SchedulerTest, MaxRunsEndsRun) {
  FakeClock clock(start_, start_ + 86400, stop_);
  Scheduler s({MakeJob("incremental", "*/10 * * * *", 60, clock, rec_)}, clock, OverlapPolicy::kSkip, rec_.Logger());
  s.set_max_runs(5);
  s.Run(stop_);
  EXPECT_EQ(s.runs(), 5);
  EXPECT_EQ(rec_.Starts(), (std::vector<std::string>{"00:00 incremental", "00:10 incremental", "00:20 incremental",
                                                     "00:30 incremental", "00:40 incremental"}));
}

TEST_F(SchedulerTest, StartsAJobDueThisSecondButDoesNotCatchUp) {
  {
    FakeClock clock(Utc(2026, 3, 1, 2, 0, 0), start_ + 2 * 86400, stop_);
    Scheduler s({MakeJob("full", "0 2 * * *", 0, clock, rec_)}, clock, OverlapPolicy::kSkip, rec_.Logger());
    s.set_max_runs(1);
    s.Run(stop_);
    EXPECT_EQ(UtcText(rec_.runs.at(0).start), "2026-03-01 02:00:00Z");
  }
  rec_.runs.clear();
  {
    FakeClock clock(Utc(2026, 3, 1, 2, 0, 30), start_ + 2 * 86400, stop_);
    Scheduler s({MakeJob("full", "0 2 * * *", 0, clock, rec_)}, clock, OverlapPolicy::kSkip, rec_.Logger());
    s.set_max_runs(1);
    s.Run(stop_);
    EXPECT_EQ(UtcText(rec_.runs.at(0).start), "2026-03-02 02:00:00Z");
  }
}

TEST_F(SchedulerTest, FailuresAreLoggedAndTheSchedulerCarriesOn) {
  FakeClock clock(start_, start_ + 86400, stop_);
  int calls = 0;
  Job flaky{"flaky", *ParseCron("0 * * * *"), [&]() -> int {
              ++calls;
              clock.Advance(90);
              if (calls == 1) return 3;
              if (calls == 2) throw std::runtime_error("disk on fire");
              return 0;
            }};
  Scheduler s({flaky}, clock, OverlapPolicy::kSkip, rec_.Logger());
  s.set_max_runs(3);
  s.Run(stop_);
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(rec_.Logged("flaky: failed with exit code 3 after 1 min")) << DumpLog(rec_);
  EXPECT_TRUE(rec_.Logged("flaky: failed: disk on fire after 1 min")) << DumpLog(rec_);
  EXPECT_TRUE(rec_.Logged("flaky: finished after 1 min")) << DumpLog(rec_);
  EXPECT_TRUE(rec_.Logged("flaky: starting run due at 2026-03-01 02:00 UTC")) << DumpLog(rec_);
}

TEST_F(SchedulerTest, JobThatNeverFiresIsDisabled) {
  FakeClock clock(start_, start_ + 86400 - 1, stop_);
  Job never = MakeJob("never", "0 0 30 * *", 0, clock, rec_);
  never.when.month.reset();
  never.when.month.set(2);  // 30 February, only possible by hand
  {
    Scheduler s({never}, clock, OverlapPolicy::kSkip, rec_.Logger());
    s.Run(stop_);
    EXPECT_TRUE(rec_.runs.empty());
    EXPECT_FALSE(stop_.stopped());  // returned on its own
    EXPECT_EQ(rec_.LogCount("never: disabled: cron expression '0 0 30 * *' does not fire"), 1) << DumpLog(rec_);
    EXPECT_TRUE(rec_.Logged("no job has a future run time; scheduler stopping")) << DumpLog(rec_);
  }
  Scheduler s({never, MakeJob("daily", "0 5 * * *", 0, clock, rec_)}, clock, OverlapPolicy::kSkip, rec_.Logger());
  s.Run(stop_);
  EXPECT_EQ(rec_.Starts(), std::vector<std::string>{"05:00 daily"});
}

TEST(SchedulerDst, DailyJobAcrossBerlinSpringForward) {
  ScopedTz tz("Europe/Berlin");
  ASSERT_EQ(OffsetAt(Utc(2026, 1, 15)), 3600) << "tzdata lacks Europe/Berlin";
  StopToken stop;
  Recorder rec;
  FakeClock clock(Utc(2026, 3, 27, 23, 0), Utc(2026, 3, 30, 22, 0), stop);
  Scheduler s({MakeJob("full", "30 2 * * *", 600, clock, rec)}, clock, OverlapPolicy::kSkip, rec.Logger());
  s.Run(stop);
  std::vector<std::string> got;
  for (const auto& r : rec.runs) got.push_back(UtcText(r.start));
  EXPECT_EQ(got, (std::vector<std::string>{"2026-03-28 01:30:00Z", "2026-03-29 01:00:00Z", "2026-03-30 00:30:00Z"}));
  EXPECT_TRUE(rec.Logged("full: starting run due at 2026-03-29 03:00 CEST")) << DumpLog(rec);
}

// The real Env's sleep returning promptly on a stop is tested in core/env_test.cc.
TEST(SchedulerStop, RunReturnsWhenStoppedWhileSleeping) {
  StopToken stop;
  FakeClock clock(Utc(2026, 3, 1), Utc(2026, 3, 11), stop);  // a SIGTERM ten days before the run
  std::vector<std::string> log;
  int runs = 0;
  Job yearly{"yearly", *ParseCron("@yearly"), [&] { return ++runs, 0; }};
  Scheduler s({yearly}, clock, OverlapPolicy::kSkip, [&](const std::string& l) { log.push_back(l); });
  s.Run(stop);
  EXPECT_TRUE(stop.stopped());
  EXPECT_EQ(clock.Now(), Utc(2026, 3, 11));
  EXPECT_EQ(runs, 0);
  ASSERT_EQ(log.size(), 1u);  // only the "next run at" line
}

}  // namespace
}  // namespace stb
