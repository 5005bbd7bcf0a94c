#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "infra/core/telemetry_store.hpp"

namespace keyledger::services {

/// Buffers verification telemetry in memory and writes it in batches, so the verification hot
/// path never waits on Postgres: record_* only append to a bounded buffer under a short lock.
/// A background thread flushes every `interval` (and stop() flushes what is left). When the
/// buffer is full, further records are dropped and counted (dropped()): telemetry must never
/// slow verification down or grow without bound while the database is away. A failed write is
/// retried once with the next flush, then dropped and counted.
class usage_recorder {
 public:
  struct options {
    std::chrono::milliseconds interval{1000};
    std::size_t max_buffered = 100'000;  ///< uses + distinct failure rows
  };

  /// `store_factory` is called on the flush thread to open its own store (one connection).
  usage_recorder(std::function<std::unique_ptr<infra::telemetry_store>()> store_factory,
                 options opts);
  ~usage_recorder();  ///< stop()s
  usage_recorder(const usage_recorder&) = delete;
  usage_recorder& operator=(const usage_recorder&) = delete;

  /// A verification of a known key (any outcome).
  void record_use(infra::key_use use) noexcept;
  /// A failed attempt: aggregated in memory per (workspace, ip, code) until the flush.
  void record_failure(std::string_view workspace_id, std::string_view ip, std::string_view code,
                      std::int64_t at_us) noexcept;

  void start();
  /// Flushes what is buffered and stops the thread. Idempotent.
  void stop();
  /// Writes everything buffered now, on the calling thread, through `store`. For tests and
  /// stop(). Throws infra::error if the write fails (the batch is kept for the next try).
  void flush(infra::telemetry_store& store);

  std::uint64_t dropped() const noexcept;
  std::uint64_t written() const noexcept;  ///< uses written so far

 private:
  struct pending;
  std::function<std::unique_ptr<infra::telemetry_store>()> store_factory_;
  options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<infra::key_use> uses_;
  std::map<std::tuple<std::string, std::string, std::string>, infra::auth_failure_count>
      failures_;
  std::uint64_t dropped_ = 0;
  std::uint64_t written_ = 0;
  int failed_attempts_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keyledger::services
