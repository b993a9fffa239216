#include "core/env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <thread>

#include "fake_env.h"

namespace stb {
namespace {

// The real Env is the one place a test must sleep: these check its waits against the real clocks.
TEST(DefaultEnvTest, SleepUntilReturnsPromptlyWhenStopped) {
  Env& env = Env::Default();
  StopToken stop;
  auto begin = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.Stop();
  });
  bool reached = env.SleepUntil(env.NowSeconds() + 3600, stop);
  stopper.join();
  EXPECT_FALSE(reached);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
}

TEST(DefaultEnvTest, SleepUntilWaitsForTheTime) {
  Env& env = Env::Default();
  StopToken stop;
  EXPECT_TRUE(env.SleepUntil(static_cast<double>(env.Now() - 1), stop));
  // Whole seconds, as the scheduler asks: Now() must not still show the second before.
  time_t target = env.Now() + 1;
  EXPECT_TRUE(env.SleepUntil(static_cast<double>(target), stop));
  EXPECT_GE(env.Now(), target);
  stop.Stop();
  EXPECT_FALSE(env.SleepUntil(static_cast<double>(env.Now() - 1), stop));  // stop is checked first
}

TEST(DefaultEnvTest, SleepForWaitsOnTheMonotonicClock) {
  Env& env = Env::Default();
  StopToken stop;
  double t0 = env.MonotonicSeconds();
  EXPECT_TRUE(env.SleepFor(0.05, stop));
  EXPECT_GE(env.MonotonicSeconds() - t0, 0.05);
  EXPECT_TRUE(env.SleepFor(-1, stop));  // nothing to wait for
  stop.Stop();
  t0 = env.MonotonicSeconds();
  EXPECT_FALSE(env.SleepFor(3600, stop));  // returns at once when stopped
  EXPECT_LT(env.MonotonicSeconds() - t0, 1.0);
}

TEST(DefaultEnvTest, ClocksAgree) {
  Env& env = Env::Default();
  double now = env.NowSeconds();
  EXPECT_NEAR(now, static_cast<double>(std::time(nullptr)), 2.0);
  EXPECT_LE(std::abs(static_cast<double>(env.Now()) - std::floor(now)), 1.0);
  EXPECT_NEAR(NowSeconds(), now, 2.0);
}

class CountingEnv : public EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  double NowSeconds() override { return ++calls, 42; }
  int calls = 0;
};

TEST(EnvWrapperTest, ForwardsWhatItDoesNotOverride) {
  testing::FakeEnv fake(1000, 5);
  CountingEnv env(fake);
  EXPECT_EQ(env.NowSeconds(), 42);
  EXPECT_EQ(env.calls, 1);
  StopToken stop;
  EXPECT_TRUE(env.SleepFor(10, stop));
  EXPECT_EQ(env.MonotonicSeconds(), 15);
  EXPECT_EQ(env.Now(), 1010);
}

TEST(FakeEnvTest, TimeMovesOnlyWhenSleptOrAdvanced) {
  testing::FakeEnv env(1000, 5);
  StopToken stop;
  EXPECT_EQ(env.NowSeconds(), 1000);
  EXPECT_EQ(env.NowSeconds(), 1000);
  EXPECT_TRUE(env.SleepFor(2.5, stop));
  EXPECT_EQ(env.NowSeconds(), 1002.5);
  EXPECT_EQ(env.MonotonicSeconds(), 7.5);
  EXPECT_TRUE(env.SleepUntil(1010, stop));
  EXPECT_EQ(env.Now(), 1010);
  EXPECT_TRUE(env.SleepUntil(900, stop));  // in the past: no time passes
  env.Advance(5);
  EXPECT_EQ(env.NowSeconds(), 1015);
  EXPECT_EQ(env.sleeps(), (std::vector<double>{2.5, 7.5, 0}));
  EXPECT_EQ(env.slept(), 10);
  stop.Stop();
  EXPECT_FALSE(env.SleepFor(1, stop));
  EXPECT_EQ(env.NowSeconds(), 1015);
}

TEST(FakeEnvTest, StopAtStopsTheTokenInsteadOfSleepingPast) {
  testing::FakeEnv env(1000);
  StopToken stop;
  env.StopAt(1100, stop);
  EXPECT_TRUE(env.SleepUntil(1100, stop));
  EXPECT_FALSE(stop.stopped());
  EXPECT_FALSE(env.SleepFor(1, stop));
  EXPECT_TRUE(stop.stopped());
  EXPECT_EQ(env.NowSeconds(), 1100);
}

}  // namespace
}  // namespace stb
