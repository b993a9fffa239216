#include "cloud/resilient_storage.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>

#include "core/backoff.h"
#include "core/log.h"

namespace stb {

namespace {

class Semaphore {
 public:
  explicit Semaphore(int n) : n_(n) {}
  void Acquire() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return n_ > 0; });
    --n_;
  }
  void Release() {
    {
      std::lock_guard lk(mu_);
      ++n_;
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int n_;
};

class ResilientStorage final : public Storage {
 public:
  ResilientStorage(std::unique_ptr<Storage> inner, RetryPolicy policy, int jobs)
      : inner_(std::move(inner)), policy_(policy), jobs_(std::max(1, jobs)), slots_(jobs_) {}

  std::string Describe() const override { return inner_->Describe(); }
  StorageCaps Caps() const override {
    StorageCaps c = inner_->Caps();
    c.parallelism = jobs_;
    return c;
  }
  Status Put(const std::string& name, const uint8_t* data, size_t n, PutMode mode) override {
    return Run<Status>("put " + name, [&] { return inner_->Put(name, data, n, mode); });
  }
  StatusOr<Bytes> Get(const std::string& name, uint64_t offset, uint64_t length) override {
    return Run<StatusOr<Bytes>>("get " + name, [&] { return inner_->Get(name, offset, length); });
  }
  StatusOr<uint64_t> Stat(const std::string& name) override {
    return Run<StatusOr<uint64_t>>("stat " + name, [&] { return inner_->Stat(name); });
  }
  StatusOr<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return Run<StatusOr<std::vector<ObjectInfo>>>("list " + prefix, [&] { return inner_->List(prefix); });
  }
  Status Remove(const std::string& name) override {
    return Run<Status>("remove " + name, [&] { return inner_->Remove(name); });
  }
  // Storage's default buffers the object and commits through Put above, so that the whole upload
  // is retried and limited like any other.

 private:
  static Status StatusOf(const Status& s) { return s; }
  template <typename T>
  static Status StatusOf(const StatusOr<T>& s) {
    return s.status();
  }

  template <typename R, typename F>
  R Run(const std::string& what, F&& call) {
    Env& env = policy_.env != nullptr ? *policy_.env : Env::Default();
    const StopToken& stop = policy_.stop != nullptr ? *policy_.stop : ProcessStopToken();
    const double start = env.MonotonicSeconds();
    std::optional<Backoff> backoff;  // seeded on the first failure only: most calls succeed at once
    for (int attempt = 1;; ++attempt) {
      slots_.Acquire();
      R result = call();
      slots_.Release();
      Status st = StatusOf(result);
      if (st.ok() || st.code() != Code::kUnavailable || attempt >= policy_.attempts) return result;
      if (!backoff)
        backoff.emplace(
            BackoffPolicy{.base_seconds = policy_.base_delay_seconds, .max_seconds = policy_.max_delay_seconds});
      double wait = backoff->Delay(attempt, st.retry_after());
      double spent = env.MonotonicSeconds() - start;
      if (spent + wait > policy_.max_total_seconds || stop.stopped()) return result;
      char delay[32];
      std::snprintf(delay, sizeof delay, "%.1f", wait);
      LogWarn(inner_->Describe() + ": " + what + " failed (attempt " + std::to_string(attempt) + " of " +
              std::to_string(policy_.attempts) + "), retrying in " + delay + " s: " + st.message());
      if (!env.SleepFor(wait, stop)) return result;  // stopping: the failure stands
    }
  }

  std::unique_ptr<Storage> inner_;
  RetryPolicy policy_;
  int jobs_;
  Semaphore slots_;
};

}  // namespace

std::unique_ptr<Storage> WithRetriesAndLimit(std::unique_ptr<Storage> inner, RetryPolicy policy, int parallel_jobs) {
  return std::make_unique<ResilientStorage>(std::move(inner), policy, parallel_jobs);
}

}  // namespace stb
