#pragma once

// The background work of the verifiable log on every node: the checkpoint signer (extend the
// tree, sign what is due) and the monitor's check of new checkpoints, one pass after the other
// on one periodic worker with its own store.

#include <chrono>
#include <functional>
#include <memory>

#include "infra/core/audit_store.hpp"
#include "infra/core/periodic_worker.hpp"

namespace keyledger::services {

class audit_log_writer;
class audit_monitor;
class audit_proofs;

class audit_jobs {
 public:
  /// `open_store` is called on the worker's thread (again after a storage error).
  audit_jobs(audit_log_writer& writer, audit_monitor& monitor, const audit_proofs& proofs,
             std::function<std::unique_ptr<infra::audit_store>()> open_store,
             std::chrono::milliseconds interval);
  ~audit_jobs();
  audit_jobs(const audit_jobs&) = delete;
  audit_jobs& operator=(const audit_jobs&) = delete;

  /// One pass on the calling thread (tests; the worker runs the same).
  void run_once();
  void start();
  void stop();  ///< idempotent

 private:
  audit_log_writer& writer_;
  audit_monitor& monitor_;
  const audit_proofs& proofs_;
  std::function<std::unique_ptr<infra::audit_store>()> open_store_;
  std::unique_ptr<infra::audit_store> store_;
  infra::periodic_worker worker_;  ///< last: stopped before what its passes use
};

}  // namespace keyledger::services
