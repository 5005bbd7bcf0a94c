#pragma once

// Every node checks the log it serves from: as the events are applied (a consumer of the log,
// from seq 1 at every start), each event's chain hash is recomputed from its exact bytes and its
// leaf added to a Merkle tree of its own; and every signed checkpoint the store holds is
// checked against that tree (its signature, then its root: equal at the same size, otherwise a
// consistency proof from the stored tree verified against both roots). The first mismatch is
// kept: /readyz answers 503 with it and it is logged once. docs/audit.md.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "domain/audit/merkle.hpp"
#include "infra/core/audit_store.hpp"
#include "infra/core/event_log/consumer.hpp"
#include "services/app/audit/checkpoint_key.hpp"

namespace keyledger::services {

class audit_proofs;

class audit_monitor final : public infra::log_consumer {
 public:
  audit_monitor(const domain::audit::merkle_hasher& hasher, checkpoint_verifier verifier);

  std::string_view name() const noexcept override { return "audit_monitor"; }
  /// On the subscription's thread: the chain link and the leaf of `e`.
  void apply(const infra::recorded_event& e) override;

  /// Checks the checkpoints not checked yet, up to a snapshot of the size applied, once the
  /// stored tree has reached that size (on one caller's thread, e.g. a periodic worker's). The
  /// first time, only the latest. Returns how many were checked.
  std::size_t check_checkpoints(infra::audit_store& store, const audit_proofs& proofs);

  /// The first mismatch found, if any ("seq 42: hash mismatch", "checkpoint 1000: ...").
  std::optional<std::string> failure() const;
  /// Mismatches found (0 or 1: the first one sticks; then nothing more is checked).
  std::uint64_t failures() const noexcept { return failed_.load(); }
  std::uint64_t applied_size() const;
  /// The largest checkpoint size that held.
  std::uint64_t checked_size() const;

 private:
  void fail(std::string why);
  void fail_locked(std::string why);  ///< under mutex_
  /// Checks one; false after a mismatch.
  bool check(const infra::stored_checkpoint& c, const domain::audit::compact_range& mine,
             infra::audit_store& store, const audit_proofs& proofs);

  const domain::audit::merkle_hasher& hasher_;
  checkpoint_verifier verifier_;
  mutable std::mutex mutex_;
  domain::audit::compact_range range_;
  infra::sha256_digest last_hash_{};
  std::optional<std::string> failure_;
  std::atomic<std::uint64_t> failed_{0};
  std::uint64_t checked_size_ = 0;
  bool first_check_done_ = false;
  std::optional<domain::audit::compact_range> snapshot_;  ///< the checking thread's
};

}  // namespace keyledger::services
