#include "monitor/exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>

#include "core/stop.h"

namespace stb {
namespace {

// A loopback port that was free a moment ago.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return 0;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// The exporter ends on the process's stop token, whoever stops it, not only on its own signals.
TEST(ExporterTest, StopsWhenTheProcessStopTokenIsStopped) {
  char tmpl[] = "/tmp/stb-exporter-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  auto catalog = Catalog::Open(std::string(tmpl) + "/state");
  ASSERT_TRUE(catalog.ok()) << catalog.status().message();
  ExporterOptions opt;
  opt.listen = {"127.0.0.1", FreePort()};
  ASSERT_NE(opt.listen.port, 0);
  opt.probe_interval_seconds = 3600;
  auto done =
      std::async(std::launch::async, [&] { return RunExporter(**catalog, opt, [] { ProcessStopToken().Stop(); }); });
  bool stopped = done.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  if (!stopped) {
    // Ends it the old way: SIGTERM, blocked here as in the exporter's threads, reaches its sigtimedwait.
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &term, nullptr);
    ::kill(::getpid(), SIGTERM);
  }
  Status st = done.get();
  ProcessStopToken().Reset();
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(st.ok()) << st.message();
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace stb
