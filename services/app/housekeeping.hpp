#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "domain/people/policy.hpp"
#include "domain/types.hpp"
#include "infra/core/idempotency_store.hpp"
#include "infra/core/people_store.hpp"
#include "infra/core/periodic_worker.hpp"
#include "infra/core/telemetry_store.hpp"

namespace keyledger::services {

class rate_limiter;

/// Periodic clean-up that keeps memory and tables bounded: drops request-log rows and
/// failure counters past their retention (KEYLEDGER_REQUEST_LOG_DAYS), ended sessions and
/// expired invitations, stored idempotent responses past 24 h, and rate-limit counters of ended
/// windows. Runs on every node; each step is idempotent, so nodes doing it at once is harmless.
class housekeeping {
 public:
  struct options {
    std::chrono::milliseconds interval{std::chrono::minutes(10)};
    std::chrono::days request_log_retention{30};
    std::chrono::hours idempotency_retention{24};
    domain::session_policy sessions{};
  };

  /// The factories are called on the housekeeping thread (one connection each).
  housekeeping(std::function<std::unique_ptr<infra::telemetry_store>()> telemetry_factory,
               std::function<std::unique_ptr<infra::idempotency_store>()> idempotency_factory,
               std::function<std::unique_ptr<infra::people_store>()> people_factory,
               rate_limiter& limiter, const domain::clock& clock, options opts);
  ~housekeeping();  ///< stop()s
  housekeeping(const housekeeping&) = delete;
  housekeeping& operator=(const housekeeping&) = delete;

  /// One pass on the calling thread. Throws infra::error on a storage failure.
  void run_once(infra::telemetry_store& telemetry, infra::idempotency_store& idempotency,
                infra::people_store& people);

  void start();
  void stop();  ///< idempotent; wakes the thread at once

 private:
  std::function<std::unique_ptr<infra::telemetry_store>()> telemetry_factory_;
  std::function<std::unique_ptr<infra::idempotency_store>()> idempotency_factory_;
  std::function<std::unique_ptr<infra::people_store>()> people_factory_;
  rate_limiter& limiter_;
  const domain::clock& clock_;
  options options_;
  // Opened by the worker's thread on its first pass (one connection each), used by it only.
  std::unique_ptr<infra::telemetry_store> telemetry_;
  std::unique_ptr<infra::idempotency_store> idempotency_;
  std::unique_ptr<infra::people_store> people_;
  // Last: stopped (destroyed) before what its passes use.
  infra::periodic_worker worker_;
};

}  // namespace keyledger::services
