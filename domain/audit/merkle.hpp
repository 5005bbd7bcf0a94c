#pragma once

// The Merkle tree of RFC 6962 section 2.1 (RFC 9162 section 2.1) over the event hashes, in global
// order (issue 9). Pure: the hash functions are injected (merkle_hasher), so this file knows
// nothing of SHA-256 or OpenSSL; infra/crypto/rfc6962_hasher is the real one.
//
// Nodes are addressed as (level, index): node (L, i) is the root of the PERFECT subtree over
// leaves [i * 2^L, (i + 1) * 2^L); level 0 holds the leaf hashes themselves. Every hash a root
// or a proof needs is a perfect subtree's, so a store keyed by (level, index) that keeps each
// node once it is complete can answer all of them, and it never changes a stored row.
//
// Three parts:
// - compact_range: the O(log n) right edge of the tree (one perfect subtree root per set bit of
//   the size). append() adds a leaf hash and says which perfect nodes it completed, for the
//   caller to store; root() is the tree head at the current size. No recomputation.
// - proofs against a node_source (root_at, inclusion_proof, consistency_proof): which nodes
//   they read depends on the sizes and indexes only, never on hash values, so
//   *_nodes() lists them up front and a database adapter can fetch them in one query.
// - verification (verify_inclusion, verify_consistency): RFC 9162 2.1.3.2 and 2.1.4.2 step by
//   step, for the offline verifier and for anyone checking a proof.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace keyledger::domain::audit {

/// A tree hash: a leaf hash, an interior node or a root (SHA-256 with the real hasher).
using digest = std::array<std::uint8_t, 32>;

/// The hash functions of the tree (RFC 9162 2.1.1). Implementations are stateless: thread-safe.
class merkle_hasher {
 public:
  virtual ~merkle_hasher() = default;
  /// MTH({}): the root of the empty tree, HASH() of the empty string.
  virtual digest empty() const = 0;
  /// MTH({d}) = HASH(0x00 || d): the hash of one leaf's data.
  virtual digest leaf(std::span<const std::uint8_t> data) const = 0;
  /// HASH(0x01 || left || right): an interior node.
  virtual digest node(const digest& left, const digest& right) const = 0;
};

/// A perfect subtree: level L, index i covers leaves [i * 2^L, (i + 1) * 2^L). Level 0 is a leaf.
struct node_id {
  std::uint8_t level = 0;
  std::uint64_t index = 0;
  auto operator<=>(const node_id&) const = default;
};

/// The deepest level a tree of 2^64 - 1 leaves can have a node at.
inline constexpr std::uint8_t max_node_level = 63;

/// A node with its hash, as compact_range::append hands them to be stored.
struct merkle_node {
  node_id id;
  digest hash{};
  bool operator==(const merkle_node&) const = default;
};

/// The nodes a compact range of `size` leaves holds, left to right: for each set bit of size,
/// from the highest, the perfect subtree that starts where the previous one ended. Their fold
/// from the right is the root of the tree of that size. Empty for size 0.
std::vector<node_id> frontier_ids(std::uint64_t size);

/// The right edge of a growing tree: the roots of its perfect subtrees, one per set bit of the
/// size (frontier_ids). Appending is O(log n) amortised O(1) hashes; the root is O(log n). A
/// value type; not thread-safe to mutate.
class compact_range {
 public:
  /// The empty tree.
  compact_range() = default;

  /// A range restored from stored nodes: `hashes` are the hashes of frontier_ids(size), in that
  /// order. nullopt if there are not exactly that many.
  static std::optional<compact_range> restore(std::uint64_t size, std::vector<digest> hashes);

  std::uint64_t size() const noexcept { return size_; }
  /// The hashes of frontier_ids(size()), left to right.
  const std::vector<digest>& hashes() const noexcept { return hashes_; }

  /// Appends the leaf with hash `leaf_hash` (a merkle_hasher::leaf, at index size()) and returns
  /// the perfect nodes it completed, lowest first: the leaf itself (level 0, index old size),
  /// then each parent the leaf closes. A caller storing nodes by (level, index) stores them all
  /// (or all but level 0 when it keeps leaf hashes elsewhere). Empty, and nothing changes, only
  /// when the tree already holds 2^64 - 1 leaves.
  std::vector<merkle_node> append(const merkle_hasher& hasher, const digest& leaf_hash);
  /// The same append, for a caller that does not store the nodes (a monitor following the log
  /// needs only the range): nothing is collected, nothing allocated but the range's own growth.
  void extend(const merkle_hasher& hasher, const digest& leaf_hash);

  /// MTH of the tree at size(): hasher.empty() for the empty tree.
  digest root(const merkle_hasher& hasher) const;

  bool operator==(const compact_range&) const = default;

 private:
  /// append()'s work: `on_node(node)` for each node completed, lowest first.
  template <class OnNode>
  void add_leaf(const merkle_hasher& hasher, const digest& leaf_hash, OnNode&& on_node);

  std::uint64_t size_ = 0;
  std::vector<digest> hashes_;
};

/// Where proofs read perfect subtree hashes from (a table keyed by (level, index), a test's
/// array). The proof functions only ask for nodes complete in the tree they prove against:
/// (index + 1) * 2^level <= tree size. Errors (a missing row) are the implementation's to throw.
class node_source {
 public:
  virtual ~node_source() = default;
  virtual digest node(node_id id) const = 0;
};

/// MTH of the first `size` leaves (hasher.empty() for 0), from the perfect nodes of
/// frontier_ids(size).
digest root_at(const merkle_hasher& hasher, const node_source& source, std::uint64_t size);

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1, RFC 6962
/// PATH): sibling hashes from the leaf up. nullopt unless index < size.
std::optional<std::vector<digest>> inclusion_proof(const merkle_hasher& hasher,
                                                   const node_source& source, std::uint64_t index,
                                                   std::uint64_t size);

/// The consistency proof from the tree of `size1` leaves to the tree of `size2` (RFC 9162
/// 2.1.4.1, RFC 6962 PROOF/SUBPROOF); empty when size1 == size2. nullopt unless
/// 0 < size1 <= size2: the empty tree is a prefix of every tree, with nothing to prove, and the
/// RFC defines no proof for it.
std::optional<std::vector<digest>> consistency_proof(const merkle_hasher& hasher,
                                                     const node_source& source, std::uint64_t size1,
                                                     std::uint64_t size2);

/// Exactly the distinct nodes root_at, inclusion_proof and consistency_proof read for these
/// arguments, in the order they are first read (nullopt where the proof is). The same for every
/// tree of that size: fetch them, then run the proof against what was fetched.
std::vector<node_id> root_nodes(std::uint64_t size);
std::optional<std::vector<node_id>> inclusion_proof_nodes(std::uint64_t index, std::uint64_t size);
std::optional<std::vector<node_id>> consistency_proof_nodes(std::uint64_t size1,
                                                            std::uint64_t size2);

/// What a proof check found. Only `valid` means the proof holds.
enum class proof_verdict {
  valid,
  bad_sizes,     ///< leaf index >= tree size; or not 0 < size1 <= size2
  wrong_length,  ///< more or fewer hashes than the sizes call for
  mismatch,      ///< the proof leads to another root (or to another first root)
};
std::string_view to_string(proof_verdict v) noexcept;

/// RFC 9162 2.1.3.2: whether `proof` proves that `leaf_hash` is leaf `index` of the tree of
/// `size` leaves whose root is `root`.
proof_verdict verify_inclusion(const merkle_hasher& hasher, std::uint64_t index, std::uint64_t size,
                               const digest& leaf_hash, std::span<const digest> proof,
                               const digest& root);

/// The root `proof` leads to from `leaf_hash` at `index` in a tree of `size` (RFC 9162 2.1.3.2
/// steps 1-4), or the reason it leads nowhere (bad_sizes, wrong_length). Never `mismatch`.
struct inclusion_root {
  proof_verdict verdict = proof_verdict::valid;
  digest root{};
};
inclusion_root root_from_inclusion_proof(const merkle_hasher& hasher, std::uint64_t index,
                                         std::uint64_t size, const digest& leaf_hash,
                                         std::span<const digest> proof);

/// RFC 9162 2.1.4.2: whether `proof` proves that the tree of `size1` leaves with root `root1` is
/// a prefix of the tree of `size2` leaves with root `root2`. size1 == size2 holds with an empty
/// proof and equal roots. size1 == 0 is refused (bad_sizes), as consistency_proof refuses it.
proof_verdict verify_consistency(const merkle_hasher& hasher, std::uint64_t size1,
                                 std::uint64_t size2, std::span<const digest> proof,
                                 const digest& root1, const digest& root2);

}  // namespace keyledger::domain::audit
