#include "core/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace stb {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/stb-subprocess-test-" + std::to_string(::getpid()) + "-" + name;
}

TEST(SubprocessTest, OutputPathTakesStdoutAndStderr) {
  std::string out = TempPath("out");
  ::unlink(out.c_str());
  auto p =
      Subprocess::Start({.argv = {"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"}, .output_path = out});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ((*p)->Wait(), 3);
  EXPECT_EQ(Slurp(out), "to-stdout\nto-stderr\n");
  ::unlink(out.c_str());
}

TEST(SubprocessTest, CleanEnvironmentCarriesNothingOfOurs) {
  ::setenv("STB_TEST_SECRET", "hunter2", 1);
  std::string out = TempPath("env");
  ::unlink(out.c_str());
  auto p =
      Subprocess::Start({.argv = {"/usr/bin/env"}, .env = {{"ADDED", "yes"}}, .output_path = out, .clean_env = true});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Wait(), 0);
  std::string env = Slurp(out);
  EXPECT_EQ(env.find("hunter2"), std::string::npos) << env;
  EXPECT_NE(env.find("ADDED=yes\n"), std::string::npos) << env;
  EXPECT_NE(env.find("PATH="), std::string::npos) << env;
  ::unlink(out.c_str());
  ::unsetenv("STB_TEST_SECRET");
}

// A descriptor opened without O_CLOEXEC (libraries do) must not reach the child: a server we
// start would hold it open for its whole life.
TEST(SubprocessTest, InheritedDescriptorsAreClosed) {
  int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC on purpose
  ASSERT_GE(leaked, 3);
  std::string check = "test -e /proc/self/fd/" + std::to_string(leaked) + " && exit 9; exit 0";
  auto p = Subprocess::Start({.argv = {"/bin/sh", "-c", check}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Wait(), 0);
  if (::geteuid() == 0) {
    auto nobody = LookUpAccount("nobody");
    ASSERT_TRUE(nobody.ok());
    auto q = Subprocess::Start({.argv = {"/bin/sh", "-c", check}, .run_as = *nobody});
    ASSERT_TRUE(q.ok());
    EXPECT_EQ((*q)->Wait(), 0);
  }
  ::close(leaked);
}

// Our ignored SIGPIPE and blocked signals are not inherited: a child started while a thread
// blocks SIGTERM for sigwait must still stop on SIGTERM.
TEST(SubprocessTest, ChildrenGetDefaultSignals) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  ::signal(SIGPIPE, SIG_IGN);
  std::vector<std::optional<RunAsAccount>> accounts = {std::nullopt};
  if (::geteuid() == 0) {
    auto nobody = LookUpAccount("nobody");
    ASSERT_TRUE(nobody.ok());
    accounts.push_back(*nobody);
  }
  for (const auto& as : accounts) {
    std::string out = TempPath("sig");
    ::unlink(out.c_str());
    auto p = Subprocess::Start(
        {.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}, .output_path = out, .run_as = as});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ((*p)->Wait(), 0);
    std::string status = Slurp(out);
    // Only our two changes are checked: the environment may ignore others (nohup's SIGHUP).
    auto mask = [&](const std::string& name) {
      size_t at = status.find(name + ":\t");
      return at == std::string::npos ? ~0ull : std::stoull(status.substr(at + name.size() + 2, 16), nullptr, 16);
    };
    EXPECT_EQ(mask("SigBlk") & (1ull << (SIGTERM - 1)), 0u) << status;
    EXPECT_EQ(mask("SigIgn") & (1ull << (SIGPIPE - 1)), 0u) << status;
    ::unlink(out.c_str());
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

TEST(SubprocessTest, UnknownAccountIsNamed) {
  auto a = LookUpAccount("no-such-user-stb");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("no-such-user-stb"), std::string::npos);
}

// Run-as children start while other threads allocate: the child must not touch malloc or NSS
// between fork and exec (an initgroups there deadlocked on the allocator's lock under ASan).
TEST(SubprocessTest, RunAsWhileOtherThreadsAllocate) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch accounts";
  auto nobody = LookUpAccount("nobody");
  ASSERT_TRUE(nobody.ok());
  std::string out = TempPath("id");
  std::atomic<bool> done{false};
  std::vector<std::thread> churn;
  for (int t = 0; t < 3; ++t) {
    churn.emplace_back([&, t] {
      // Every size class, so the allocator's shared lists (not only this thread's cache) are busy.
      size_t size = 16 + size_t(t);
      std::vector<std::string> live;
      while (!done) {
        live.emplace_back(size, 'x');
        size = size < (1u << 20) ? size * 3 / 2 + 1 : 16;
        if (live.size() > 256) live.clear();
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    ::unlink(out.c_str());
    auto p = Subprocess::Start({.argv = {"id", "-u"}, .output_path = out, .clean_env = true, .run_as = *nobody});
    ASSERT_TRUE(p.ok()) << p.status().message();
    ASSERT_EQ((*p)->Wait(), 0);
    ASSERT_EQ(Slurp(out), std::to_string(nobody->uid) + "\n");
  }
  done = true;
  for (auto& t : churn) t.join();
  ::unlink(out.c_str());
}

}  // namespace
}  // namespace stb
