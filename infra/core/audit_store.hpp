#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "infra/core/event_store.hpp"

namespace keyledger::infra {

/// One perfect subtree of the Merkle tree: it covers leaves [index * 2^level, (index+1) * 2^level).
struct tree_node_id {
  std::uint8_t level = 0;
  std::uint64_t index = 0;
  friend bool operator==(const tree_node_id&, const tree_node_id&) = default;
};

struct tree_node {
  tree_node_id id;
  sha256_digest hash{};
};

/// What the tree needs of one event: its place and chain hash; and, for a stream's first event,
/// what tells which workspace the stream belongs to (its type and payload).
struct audit_leaf {
  std::uint64_t global_seq = 0;
  sha256_digest event_hash{};
  std::string stream_id;
  std::uint64_t version = 0;
  std::string type;     ///< only when version == 1
  std::string payload;  ///< only when version == 1
};

/// A stream and the workspace its events belong to.
struct stream_owner {
  std::string stream_id;
  std::string workspace_id;
};

/// A signed checkpoint as stored: the note is the exact signed text.
struct stored_checkpoint {
  std::uint64_t tree_size = 0;
  sha256_digest root{};
  std::int64_t signed_at_us = 0;
  std::string note;
};

/// The checkpoint key's row: the log's origin, the Ed25519 public key, the sealed seed.
struct checkpoint_key_row {
  std::string origin;
  std::string public_key;  ///< 32 bytes
  std::string sealed;      ///< 60 bytes, see schema/007_audit.sql
};

/// What one extension of the tree writes, in one transaction.
struct tree_extension {
  std::uint64_t from_size = 0;  ///< the size the extension was decided from
  std::uint64_t to_size = 0;
  std::vector<tree_node> nodes;  ///< every node completed by the new leaves, leaves included
  std::vector<stream_owner> owners;
  std::optional<stored_checkpoint> checkpoint;  ///< signed at to_size, if one is due
};

/// The verifiable log beside the events (port): schema/007_audit.sql. Implementations:
/// pg_audit_store (infra/pg) and the in-memory fake in tests/support. Not thread-safe: one
/// instance per thread.
class audit_store {
 public:
  virtual ~audit_store() = default;

  /// The checkpoint key, if one was created.
  virtual std::optional<checkpoint_key_row> checkpoint_key() = 0;
  /// Stores the key unless one exists; returns the key stored (this one or the first one).
  virtual checkpoint_key_row create_checkpoint_key(const checkpoint_key_row& row) = 0;

  /// The number of leaves in the tree.
  virtual std::uint64_t tree_size() = 0;
  /// The highest global_seq of the events table (0 when empty): where the stored log ends.
  virtual std::uint64_t log_head() = 0;
  /// The hashes of `ids`, in their order. A node that is not stored: infra::error(errc::storage)
  /// (a proof was asked for a size the tree does not have, or a row is missing).
  virtual std::vector<sha256_digest> nodes(std::span<const tree_node_id> ids) = 0;
  /// Up to `limit` events after global_seq `after`, in global order, as leaves.
  virtual std::vector<audit_leaf> leaves(std::uint64_t after, std::size_t limit) = 0;
  /// Writes `ext` atomically if the tree still has ext.from_size leaves; otherwise throws
  /// infra::error(errc::conflict) and writes nothing. A checkpoint of a size already signed is
  /// not written again (exactly one per size).
  virtual void extend(const tree_extension& ext) = 0;
  /// Stores a checkpoint of the tree as it is (the time-based one), if the tree has exactly
  /// checkpoint.tree_size leaves and no checkpoint of that size or a larger one exists; returns
  /// whether it did. So checkpoints only ever grow, in size and in time.
  virtual bool add_checkpoint(const stored_checkpoint& checkpoint) = 0;

  /// Checkpoints with tree_size >= from_size, by size, at most `limit`.
  virtual std::vector<stored_checkpoint> checkpoints(std::uint64_t from_size,
                                                     std::size_t limit) = 0;
  /// The largest checkpoint, if any.
  virtual std::optional<stored_checkpoint> latest_checkpoint() = 0;
  /// The checkpoint of exactly `tree_size`, if one was signed.
  virtual std::optional<stored_checkpoint> checkpoint_at(std::uint64_t tree_size) = 0;

  /// A workspace's events with after < global_seq <= up_to, in global order, at most `limit`,
  /// exactly as stored, each with the hash of the event before it (all zeros for seq 1).
  struct workspace_event {
    recorded_event event;
    sha256_digest previous_hash{};
  };
  virtual std::vector<workspace_event> workspace_events(std::string_view workspace_id,
                                                        std::uint64_t after, std::uint64_t up_to,
                                                        std::size_t limit) = 0;
};

}  // namespace keyledger::infra
