#include "core/stop.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/env.h"

namespace stb {
namespace {

TEST(StopTokenTest, StopsAndRemembersTheSignal) {
  StopToken t;
  EXPECT_FALSE(t.stopped());
  EXPECT_EQ(t.signal(), 0);
  t.Stop();
  EXPECT_TRUE(t.stopped());
  EXPECT_EQ(t.signal(), 0);
  t.Reset();
  EXPECT_FALSE(t.stopped());
  t.Stop(SIGINT);
  EXPECT_TRUE(t.stopped());
  EXPECT_EQ(t.signal(), SIGINT);
}

std::atomic<int> g_seen{0};

// Puts the default handlers back and clears the process token, whatever the test did.
struct SignalsRestored {
  ~SignalsRestored() {
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGHUP, SIG_DFL);
    ProcessStopToken().Reset();
  }
};

TEST(StopOnSignalsTest, SigtermStopsTheProcessTokenAndCallsTheHook) {
  SignalsRestored restore;
  g_seen = 0;
  StopOnSignals({SIGTERM, SIGINT, SIGHUP}, [](int sig) { g_seen = sig; });
  EXPECT_FALSE(ProcessStopToken().stopped());
  ASSERT_EQ(::raise(SIGHUP), 0);
  EXPECT_TRUE(ProcessStopToken().stopped());
  EXPECT_EQ(ProcessStopToken().signal(), SIGHUP);
  EXPECT_EQ(g_seen.load(), SIGHUP);
}

TEST(StopOnSignalsTest, ASignalEndsASleepPromptly) {
  SignalsRestored restore;
  StopOnSignals();
  auto begin = std::chrono::steady_clock::now();
  std::thread sender([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ::kill(::getpid(), SIGTERM);
  });
  bool slept = Env::Default().SleepFor(3600, ProcessStopToken());
  sender.join();
  EXPECT_FALSE(slept);
  EXPECT_EQ(ProcessStopToken().signal(), SIGTERM);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
  // Stopped: any further wait returns at once.
  EXPECT_FALSE(Env::Default().SleepUntil(Env::Default().NowSeconds() + 3600, ProcessStopToken()));
}

}  // namespace
}  // namespace stb
