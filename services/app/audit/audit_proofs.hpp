#pragma once

// Reading the verifiable log: roots and proofs computed from the stored perfect subtrees, the
// signed checkpoints, and a workspace's events with an inclusion proof each. docs/audit.md.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/audit/merkle.hpp"
#include "domain/problem.hpp"
#include "domain/result.hpp"
#include "infra/core/audit_store.hpp"

namespace keyledger::services {

struct inclusion_answer {
  std::uint64_t seq = 0;  ///< the event's global_seq (leaf index + 1)
  std::uint64_t tree_size = 0;
  domain::audit::digest leaf_hash{};
  std::vector<domain::audit::digest> proof;
};

struct consistency_answer {
  std::uint64_t from_size = 0;
  std::uint64_t to_size = 0;
  std::vector<domain::audit::digest> proof;
};

/// One of a workspace's events, provable: its exact stored row, the hash before it in the chain,
/// and its inclusion proof in the tree of the checkpoint's size.
struct provable_event {
  infra::recorded_event event;
  infra::sha256_digest previous_hash{};
  std::vector<domain::audit::digest> proof;
};

struct workspace_events_answer {
  std::optional<infra::stored_checkpoint> checkpoint;  ///< the latest; none: nothing provable yet
  std::vector<provable_event> events;                  ///< all within the checkpoint's size
  std::uint64_t next_after = 0;  ///< the `after` of the next page: the last seq here, or `after`
  bool more = false;             ///< more of its events within the checkpoint follow
};

class audit_proofs {
 public:
  explicit audit_proofs(const domain::audit::merkle_hasher& hasher) : hasher_(hasher) {}

  /// The root of the first `size` leaves, from the stored tree. Problems: `size` beyond the tree.
  domain::result<domain::audit::digest, domain::problem> root(infra::audit_store& store,
                                                              std::uint64_t size) const;

  /// The proof that event `seq` is in the tree of `size` leaves (1 <= seq <= size <= tree size).
  domain::result<inclusion_answer, domain::problem> inclusion(infra::audit_store& store,
                                                              std::uint64_t seq,
                                                              std::uint64_t size) const;

  /// The proof that the tree of `from_size` leaves is a prefix of the one of `to_size`
  /// (1 <= from_size <= to_size <= tree size).
  domain::result<consistency_answer, domain::problem> consistency(infra::audit_store& store,
                                                                  std::uint64_t from_size,
                                                                  std::uint64_t to_size) const;

  /// Up to `limit` of the workspace's events after `after`, each proven against the latest
  /// checkpoint (events after it wait for the next one).
  workspace_events_answer workspace_events(infra::audit_store& store, std::string_view workspace_id,
                                           std::uint64_t after, std::size_t limit) const;

 private:
  const domain::audit::merkle_hasher& hasher_;
};

}  // namespace keyledger::services
