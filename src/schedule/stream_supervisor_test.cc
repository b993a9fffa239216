#include "schedule/stream_supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "fake_env.h"

namespace stb {
namespace {

// A child that runs until the test ends it (exits) or a signal it does not ignore arrives.
struct FakeChild : StreamChild {
  struct Shared {
    int exit_code = -1;  // >= 0: has exited
    std::vector<int> signals;
    bool ignore_term = false;
  };
  FakeChild(pid_t p, std::shared_ptr<Shared> s) : pid_(p), s_(std::move(s)) {}
  pid_t pid() const override { return pid_; }
  bool TryWait(int* code) override {
    if (s_->exit_code < 0) return false;
    *code = s_->exit_code;
    return true;
  }
  void Kill(int sig) override {
    s_->signals.push_back(sig);
    if (sig == SIGKILL || !s_->ignore_term) s_->exit_code = 128 + sig;
  }
  pid_t pid_;
  std::shared_ptr<Shared> s_;
};

class StreamSupervisorTest : public ::testing::Test {
 protected:
  StreamSupervisor Make(StreamSupervisorOptions o = {}) {
    return StreamSupervisor(
        {"wal-receive"}, env_,
        [this](const std::string& name) -> StatusOr<std::unique_ptr<StreamChild>> {
          started_.push_back({name, env_.MonotonicSeconds()});
          if (fail_spawn_) return Unavailable("no such binary");
          children_.push_back(std::make_shared<FakeChild::Shared>());
          return std::unique_ptr<StreamChild>(new FakeChild(100 + int(children_.size()), children_.back()));
        },
        [this](const std::string& event, const std::string& stream, const std::string& msg) {
          alerts_.push_back(event + " " + stream + ": " + msg);
        },
        [](const std::string&) {}, o);
  }
  // Ticks for `seconds` of fake time, 100 ms apart.
  void RunFor(StreamSupervisor& s, double seconds) {
    for (double t = 0; t < seconds; t += 0.1) {
      s.Tick();
      env_.Advance(0.1);
    }
  }
  testing::FakeEnv env_;
  std::vector<std::pair<std::string, double>> started_;
  std::vector<std::shared_ptr<FakeChild::Shared>> children_;
  std::vector<std::string> alerts_;
  bool fail_spawn_ = false;
};

TEST_F(StreamSupervisorTest, StartsAtOnceAndRestartsWithGrowingBackoff) {
  auto s = Make();
  s.Tick();
  ASSERT_EQ(started_.size(), 1u);
  EXPECT_TRUE(s.running("wal-receive"));
  double t0 = started_[0].second;
  for (int round = 0; round < 3; ++round) {
    children_.back()->exit_code = 128 + SIGKILL;  // killed
    RunFor(s, 10);
  }
  ASSERT_EQ(started_.size(), 4u);
  // 1 s, then 2 s, then 4 s after each exit (each exit was seen at the start of a 10 s round).
  EXPECT_NEAR(started_[1].second - t0, 1, 0.15);
  EXPECT_NEAR(started_[2].second - started_[1].second, 9 + 2, 0.25);
  EXPECT_NEAR(started_[3].second - started_[2].second, 8 + 4, 0.25);
  EXPECT_EQ(s.restarts("wal-receive"), 3);
  EXPECT_TRUE(alerts_.empty());
}

TEST_F(StreamSupervisorTest, BackoffResetsAfterALongRun) {
  auto s = Make({.first_backoff = 1, .max_backoff = 60, .reset_after = 300});
  s.Tick();
  for (int i = 0; i < 4; ++i) {  // quick exits: 1, 2, 4, 8 s
    children_.back()->exit_code = 1;
    RunFor(s, 20);
  }
  RunFor(s, 400);  // up long enough
  children_.back()->exit_code = 1;
  double exited = env_.MonotonicSeconds();
  RunFor(s, 5);
  EXPECT_NEAR(started_.back().second - exited, 1, 0.15);
}

TEST_F(StreamSupervisorTest, DownPastTheTargetAlertsOnceThenRecovers) {
  auto s = Make({.first_backoff = 1, .max_backoff = 60, .reset_after = 300, .down_alert = 30});
  fail_spawn_ = true;  // e.g. the binary is gone: it cannot start at all
  RunFor(s, 29);
  EXPECT_TRUE(alerts_.empty());
  RunFor(s, 100);
  ASSERT_EQ(alerts_.size(), 1u);
  EXPECT_NE(alerts_[0].find("stream_down wal-receive"), std::string::npos) << alerts_[0];
  EXPECT_NE(alerts_[0].find("no such binary"), std::string::npos) << alerts_[0];
  // The backoff is capped: it tries at least once a minute.
  size_t tries = started_.size();
  RunFor(s, 130);
  EXPECT_GE(started_.size(), tries + 2);
  fail_spawn_ = false;
  RunFor(s, 61);
  EXPECT_TRUE(s.running("wal-receive"));
  ASSERT_EQ(alerts_.size(), 2u);
  EXPECT_EQ(alerts_[1].rfind("stream_recovered wal-receive", 0), 0u) << alerts_[1];
}

TEST_F(StreamSupervisorTest, StopSendsTermThenKillsAfterTheTimeout) {
  auto s = Make({.first_backoff = 1, .max_backoff = 60, .reset_after = 300, .down_alert = 300, .stop_timeout = 5});
  s.Tick();
  children_.back()->ignore_term = true;  // a child that hangs on SIGTERM
  double t = env_.MonotonicSeconds();
  s.StopAll();
  EXPECT_EQ(children_.back()->signals, (std::vector<int>{SIGTERM, SIGKILL}));
  EXPECT_GE(env_.MonotonicSeconds() - t, 5);
  EXPECT_FALSE(s.running("wal-receive"));

  auto s2 = Make();
  s2.Tick();
  s2.StopAll();  // a well-behaved child: SIGTERM only
  EXPECT_EQ(children_.back()->signals, (std::vector<int>{SIGTERM}));
}

}  // namespace
}  // namespace stb
