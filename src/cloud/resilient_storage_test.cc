#include "cloud/resilient_storage.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cloud/s3_storage.h"
#include "fake_env.h"
#include "http_test_server.h"

namespace stb {
namespace {

// Fails the first `failures` calls with `error`, then behaves like a memory location; counts
// calls and the most calls seen in flight at once.
class FlakyStorage final : public Storage {
 public:
  FlakyStorage(int failures, Status error) : failures_(failures), error_(std::move(error)), inner_(NewMemStorage()) {}
  std::string Describe() const override { return "flaky"; }
  StorageCaps Caps() const override { return {}; }
  Status Put(const std::string& n, const uint8_t* d, size_t len, PutMode m) override {
    return Call([&] { return inner_->Put(n, d, len, m); });
  }
  StatusOr<Bytes> Get(const std::string& n, uint64_t o, uint64_t l) override {
    return Call<StatusOr<Bytes>>([&] { return inner_->Get(n, o, l); });
  }
  StatusOr<uint64_t> Stat(const std::string& n) override { return inner_->Stat(n); }
  StatusOr<std::vector<ObjectInfo>> List(const std::string& p) override { return inner_->List(p); }
  Status Remove(const std::string& n) override { return inner_->Remove(n); }

  std::atomic<int> calls{0}, in_flight{0}, max_in_flight{0};

 private:
  template <typename R = Status, typename F>
  R Call(F f) {
    int now = ++in_flight;
    int seen = max_in_flight;
    while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    int n = calls++;
    R r = n < failures_ ? R(error_) : f();
    --in_flight;
    return r;
  }
  int failures_;
  Status error_;
  std::unique_ptr<Storage> inner_;
};

// Waits pass on a fake clock: no test here sleeps between retries.
RetryPolicy Fast(testing::FakeEnv& env) {
  return {.attempts = 4, .base_delay_seconds = 0.01, .max_delay_seconds = 0.05, .max_total_seconds = 5, .env = &env};
}

TEST(ResilientStorage, RetriesRetryableFailures) {
  auto flaky = std::make_unique<FlakyStorage>(2, Unavailable("HTTP 503"));
  auto* raw = flaky.get();
  testing::FakeEnv env;
  auto s = WithRetriesAndLimit(std::move(flaky), Fast(env), 4);
  ASSERT_TRUE(s->Put("a", Bytes{1, 2, 3}).ok());
  EXPECT_EQ(raw->calls, 3);
  ASSERT_EQ(env.sleeps().size(), 2u);
  EXPECT_LE(env.sleeps()[0], 0.01);  // full jitter under the first ceiling
  EXPECT_LE(env.sleeps()[1], 0.02);
  EXPECT_EQ(s->Get("a")->size(), 3u);
}

TEST(ResilientStorage, GivesUpAfterTheLastAttempt) {
  auto flaky = std::make_unique<FlakyStorage>(100, Unavailable("HTTP 500"));
  auto* raw = flaky.get();
  testing::FakeEnv env;
  auto s = WithRetriesAndLimit(std::move(flaky), Fast(env), 4);
  Status st = s->Put("a", Bytes{1});
  EXPECT_EQ(st.code(), Code::kUnavailable);
  EXPECT_EQ(raw->calls, 4);
  EXPECT_EQ(env.sleeps().size(), 3u);
}

TEST(ResilientStorage, PermanentFailuresAreNotRetried) {
  for (const Status& error : {PermissionDenied("HTTP 403"), NotFound("HTTP 404"), IoError("HTTP 400")}) {
    auto flaky = std::make_unique<FlakyStorage>(1, error);
    auto* raw = flaky.get();
    testing::FakeEnv env;
    auto s = WithRetriesAndLimit(std::move(flaky), Fast(env), 4);
    EXPECT_EQ(s->Put("a", Bytes{1}).code(), error.code());
    EXPECT_EQ(raw->calls, 1);
    EXPECT_TRUE(env.sleeps().empty());
  }
}

TEST(ResilientStorage, HonoursRetryAfter) {
  auto flaky = std::make_unique<FlakyStorage>(1, Unavailable("HTTP 503").WithRetryAfter(0.3));
  testing::FakeEnv env;
  auto s = WithRetriesAndLimit(std::move(flaky),
                               {.attempts = 3, .base_delay_seconds = 0.001, .max_delay_seconds = 1, .env = &env}, 1);
  ASSERT_TRUE(s->Put("a", Bytes{1}).ok());
  ASSERT_EQ(env.sleeps().size(), 1u);
  EXPECT_GE(env.sleeps()[0], 0.3);
  EXPECT_LE(env.sleeps()[0], 1);
}

TEST(ResilientStorage, StopsRetryingWhenTheTimeBudgetIsSpent) {
  auto flaky = std::make_unique<FlakyStorage>(100, Unavailable("HTTP 503").WithRetryAfter(10));
  auto* raw = flaky.get();
  testing::FakeEnv env;
  auto s = WithRetriesAndLimit(std::move(flaky),
                               {.attempts = 10, .max_delay_seconds = 10, .max_total_seconds = 1, .env = &env}, 1);
  EXPECT_EQ(s->Put("a", Bytes{1}).code(), Code::kUnavailable);
  EXPECT_EQ(env.slept(), 0);
  EXPECT_EQ(raw->calls, 1);
}

// A daemon told to stop (SIGTERM) does not sit out a location's retries: the failure comes back.
TEST(ResilientStorage, AStopEndsTheRetries) {
  // Retry-After above the cap: every wait is the cap, 0.05 s.
  auto flaky = std::make_unique<FlakyStorage>(100, Unavailable("HTTP 503").WithRetryAfter(1));
  auto* raw = flaky.get();
  testing::FakeEnv env;
  StopToken stop;
  RetryPolicy p = Fast(env);
  p.stop = &stop;
  auto s = WithRetriesAndLimit(std::move(flaky), p, 1);
  env.StopAt(env.NowSeconds() + 0.075, stop);  // during the second wait
  EXPECT_EQ(s->Put("a", Bytes{1}).code(), Code::kUnavailable);
  EXPECT_EQ(raw->calls, 2);
  EXPECT_TRUE(stop.stopped());
  int calls = raw->calls;
  EXPECT_EQ(s->Put("b", Bytes{1}).code(), Code::kUnavailable);
  EXPECT_EQ(raw->calls, calls + 1);  // stopped: one try, no retry
}

// An S3 endpoint answering 503 with a 400-digit Retry-After used to abort the process (an
// uncaught std::out_of_range from std::stod). Now the hint is read as the cap and the retry
// wrapper's own limit decides the wait.
TEST(ResilientStorage, HugeRetryAfterFromAServerIsCappedNotACrash) {
  TestServer server([](int i) {
    if (i == 0)
      return Reply{503, "<Error><Code>SlowDown</Code></Error>", "Retry-After: " + std::string(400, '9') + "\r\n"};
    return Reply{200, ""};
  });
  S3Options o;
  o.bucket = "bkt";
  o.prefix = "pre/";
  o.endpoint = "http://127.0.0.1:" + std::to_string(server.port());
  o.access_key_id = "AKIDTEST";
  o.secret_access_key = "the-secret-key-value";
  o.http.total_timeout_seconds = 20;
  auto s3 = OpenS3Storage(o);
  ASSERT_TRUE(s3.ok()) << s3.status().message();
  testing::FakeEnv env;
  auto s = WithRetriesAndLimit(std::move(s3).value(), {.attempts = 3, .max_delay_seconds = 0.2, .env = &env}, 1);
  Status st = s->Put("a", Bytes{1});
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(server.requests().size(), 2u);
  EXPECT_EQ(env.sleeps(), std::vector<double>{0.2});
}

TEST(ResilientStorage, LimitsRequestsInFlight) {
  auto flaky = std::make_unique<FlakyStorage>(0, Status::Ok());
  auto* raw = flaky.get();
  testing::FakeEnv env;
  auto s = WithRetriesAndLimit(std::move(flaky), Fast(env), 3);
  EXPECT_EQ(s->Caps().parallelism, 3);
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&, t] { EXPECT_TRUE(s->Put("o" + std::to_string(t), Bytes{1}).ok()); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(raw->calls, 12);
  EXPECT_LE(raw->max_in_flight, 3);
  EXPECT_GE(raw->max_in_flight, 2);  // the limit is a limit, not serialisation
}

}  // namespace
}  // namespace stb
