#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

#include "domain/types.hpp"
#include "infra/core/event_store.hpp"
#include "infra/core/periodic_worker.hpp"

namespace keyledger::services {

class active_key_view;
class key_service;

/// Records expiry: every `interval`, asks the view which keys are due (KeyExpired or
/// KeyExpiryApproaching) and has key_service append them. Runs on every node; the events' ids
/// are derived from (key, what, expires_at), so when several nodes race, the event store keeps
/// exactly one and the others append nothing (a duplicate or a version conflict, both ignored).
/// Verification never depends on this job: it refuses expired keys by time.
class expiry_job {
 public:
  struct options {
    std::chrono::milliseconds interval{30'000};
    std::size_t batch = 500;  ///< keys per run
    /// The time the view is asked at; null = the system clock. Must outlive the job.
    const domain::clock* clock = nullptr;
  };

  /// `store_factory` is called on the job's thread to open its own store.
  expiry_job(const active_key_view& view, const key_service& keys,
             std::function<std::unique_ptr<infra::event_store>()> store_factory, options opts);
  ~expiry_job();  ///< stop()s
  expiry_job(const expiry_job&) = delete;
  expiry_job& operator=(const expiry_job&) = delete;

  /// One pass on the calling thread: returns how many events this call appended. Storage
  /// errors of one key are logged and the pass goes on.
  std::size_t run_once(infra::event_store& store);

  void start();
  void stop();  ///< idempotent

 private:
  /// One pass of the worker: opens the store when needed, runs run_once.
  void pass();

  const active_key_view& view_;
  const key_service& keys_;
  std::function<std::unique_ptr<infra::event_store>()> store_factory_;
  options options_;
  // Set by run_once when a key failed for another reason than a lost race: the worker then
  // opens a fresh store, in case the connection broke.
  std::atomic<bool> store_failed_{false};
  std::unique_ptr<infra::event_store> store_;  ///< the worker thread's own
  // Last: stopped (destroyed) before what its passes use.
  infra::periodic_worker worker_;
};

}  // namespace keyledger::services
