#pragma once

// The checkpoint signer: extends the Merkle tree of the log (schema/007_audit.sql) from the
// events appended since, in global order, and signs a checkpoint every N events or T seconds,
// whichever comes first and only if the log grew. Runs on every node; one writes at a time (the
// store's advisory lock, and a write is refused when the tree grew meanwhile), so there is
// exactly one checkpoint per size. docs/audit.md.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "domain/audit/merkle.hpp"
#include "domain/types.hpp"
#include "infra/core/audit_store.hpp"

namespace keyledger::services {

class checkpoint_key;

/// The workspace a stream belongs to, from its first event: "" for streams of none (people's
/// accounts, the signing keys) and for a first event that names none.
std::string workspace_of_stream(const infra::audit_leaf& first_event);

class audit_log_writer {
 public:
  struct options {
    std::uint64_t checkpoint_every_events = 1000;
    std::chrono::seconds checkpoint_every{10};
    std::size_t batch = 1000;  ///< events read per extension at most
  };

  audit_log_writer(const domain::audit::merkle_hasher& hasher, const checkpoint_key& key,
                   const domain::clock& clock, options opts);

  struct outcome {
    std::uint64_t tree_size = 0;
    std::size_t checkpoints = 0;  ///< signed by this call
    bool lost_race = false;       ///< another node extended the tree meanwhile
  };

  /// Extends the tree to the head of the log and signs what is due, on the calling thread.
  /// Storage errors propagate (the next call starts again from the stored tree).
  outcome run_once(infra::audit_store& store);

 private:
  void load(infra::audit_store& store);
  std::optional<infra::stored_checkpoint> due(std::uint64_t size, const domain::audit::digest& root,
                                              bool by_time_only) const;

  const domain::audit::merkle_hasher& hasher_;
  const checkpoint_key& key_;
  const domain::clock& clock_;
  options options_;
  std::optional<domain::audit::compact_range> range_;
  std::uint64_t last_checkpoint_size_ = 0;
  domain::timestamp last_checkpoint_at_{};
};

}  // namespace keyledger::services
