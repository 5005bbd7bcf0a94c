#pragma once

// Test helpers for domain/audit/merkle: the RFC 6962 definitions written the naive recursive way
// (MTH, PATH, PROOF/SUBPROOF over a list of leaf hashes, as certificate-transparency's
// merkle_tree_test.cc writes its reference implementation), a node_source over a table of
// perfect subtrees built bottom-up, and one exhaustive check run with any hasher: the fake one
// of the domain tests and SHA-256 in tests/unit/infra/crypto.

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <set>
#include <span>
#include <vector>

#include "domain/audit/merkle.hpp"

namespace keyledger::domain::audit::testing {

// ---- the reference definitions (RFC 9162 2.1.1, 2.1.3.1, 2.1.4.1) --------------------------

inline std::uint64_t largest_power_below(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/// MTH(D[n]) over leaf hashes.
inline digest reference_root(const merkle_hasher& h, std::span<const digest> leaves) {
  if (leaves.empty()) return h.empty();
  if (leaves.size() == 1) return leaves[0];
  const auto k = largest_power_below(leaves.size());
  return h.node(reference_root(h, leaves.first(k)), reference_root(h, leaves.subspan(k)));
}

/// PATH(m, D[n]).
inline std::vector<digest> reference_path(const merkle_hasher& h, std::uint64_t m,
                                          std::span<const digest> leaves) {
  if (leaves.size() <= 1) return {};
  const auto k = largest_power_below(leaves.size());
  std::vector<digest> out;
  if (m < k) {
    out = reference_path(h, m, leaves.first(k));
    out.push_back(reference_root(h, leaves.subspan(k)));
  } else {
    out = reference_path(h, m - k, leaves.subspan(k));
    out.push_back(reference_root(h, leaves.first(k)));
  }
  return out;
}

/// SUBPROOF(m, D[n], b).
inline std::vector<digest> reference_subproof(const merkle_hasher& h, std::uint64_t m,
                                              std::span<const digest> leaves, bool b) {
  if (m == leaves.size()) {
    if (b) return {};
    return {reference_root(h, leaves)};
  }
  const auto k = largest_power_below(leaves.size());
  std::vector<digest> out;
  if (m <= k) {
    out = reference_subproof(h, m, leaves.first(k), b);
    out.push_back(reference_root(h, leaves.subspan(k)));
  } else {
    out = reference_subproof(h, m - k, leaves.subspan(k), false);
    out.push_back(reference_root(h, leaves.first(k)));
  }
  return out;
}

// ---- a node table ------------------------------------------------------------------------

/// Every perfect subtree of a list of leaf hashes, level by level, and a node_source over them
/// that fails the test when a proof asks for a node beyond `limit` leaves (the tree it proves
/// against) and records what was read.
class node_table final : public node_source {
 public:
  node_table(const merkle_hasher& h, std::vector<digest> leaves) {
    levels_.push_back(std::move(leaves));
    while (levels_.back().size() >= 2) {
      const auto& below = levels_.back();
      std::vector<digest> up;
      for (std::size_t i = 0; i + 1 < below.size(); i += 2)
        up.push_back(h.node(below[i], below[i + 1]));
      levels_.push_back(std::move(up));
    }
  }

  /// Proofs from now on are for the tree of `n` leaves.
  void limit(std::uint64_t n) {
    limit_ = n;
    reads_.clear();
  }

  digest node(node_id id) const override {
    reads_.push_back(id);
    const bool complete = id.level < 64 && (id.index + 1) <= (limit_ >> id.level) &&
                          id.level < levels_.size() && id.index < levels_[id.level].size();
    if (!complete) {
      ADD_FAILURE() << "node (" << int(id.level) << ", " << id.index
                    << ") is not a complete subtree of the tree of " << limit_ << " leaves";
      return {};
    }
    return levels_[id.level][id.index];
  }

  const digest& at(node_id id) const { return levels_.at(id.level).at(id.index); }
  std::span<const digest> leaves() const { return levels_[0]; }
  /// The distinct nodes read since limit(), in first-read order.
  std::vector<node_id> distinct_reads() const {
    std::set<node_id> seen;
    std::vector<node_id> out;
    for (const auto& id : reads_) {
      if (seen.insert(id).second) out.push_back(id);
    }
    return out;
  }

 private:
  std::vector<std::vector<digest>> levels_;
  std::uint64_t limit_ = 0;
  mutable std::vector<node_id> reads_;
};

/// Leaf hashes of `n` distinct one- or two-byte leaves.
inline std::vector<digest> sample_leaves(const merkle_hasher& h, std::size_t n) {
  std::vector<digest> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t data[] = {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i * 7)};
    out.push_back(h.leaf(std::span<const std::uint8_t>(data).first(1 + i % 2)));
  }
  return out;
}

// ---- tampering -------------------------------------------------------------------------

/// Every way certificate-transparency's and transparency-dev's verifier tests spoil a proof:
/// each byte of each hash flipped, a hash removed, added or replaced.
inline std::vector<std::vector<digest>> spoiled_proofs(const std::vector<digest>& proof,
                                                       const digest& some_root) {
  std::vector<std::vector<digest>> out;
  for (std::size_t i = 0; i < proof.size(); ++i) {
    for (std::size_t b = 0; b < sizeof(digest); ++b) {
      auto p = proof;
      p[i][b] ^= 0x01;
      out.push_back(std::move(p));
    }
  }
  const digest zero{};
  auto with = [&](auto edit) {
    auto p = proof;
    edit(p);
    out.push_back(std::move(p));
  };
  with([&](auto& p) { p.push_back(zero); });
  with([&](auto& p) { p.push_back(some_root); });
  with([&](auto& p) { p.insert(p.begin(), zero); });
  with([&](auto& p) { p.insert(p.begin(), some_root); });
  if (!proof.empty()) {
    with([&](auto& p) { p.pop_back(); });
    with([&](auto& p) { p.erase(p.begin()); });
    with([&](auto& p) { p.push_back(p.back()); });
    with([&](auto& p) { p.insert(p.begin(), p.front()); });
  }
  if (proof.size() > 1) with([&](auto& p) { std::swap(p.front(), p.back()); });
  return out;
}

inline std::vector<digest> flipped_each_byte(const digest& d) {
  std::vector<digest> out;
  for (std::size_t b = 0; b < sizeof(digest); ++b) {
    auto x = d;
    x[b] ^= 0x80;
    out.push_back(x);
  }
  return out;
}

// ---- the exhaustive checks -------------------------------------------------------------

/// For every size 0..max_size: the compact range's root is the reference MTH, append() hands
/// out every perfect node exactly once with its reference hash, and root_at agrees.
inline void expect_compact_range_matches_reference(const merkle_hasher& h, std::size_t max_size) {
  const auto leaves = sample_leaves(h, max_size);
  node_table table(h, leaves);
  compact_range range;
  std::set<node_id> handed_out;
  EXPECT_EQ(range.root(h), h.empty());
  for (std::size_t n = 1; n <= max_size; ++n) {
    const auto completed = range.append(h, leaves[n - 1]);
    ASSERT_FALSE(completed.empty());
    EXPECT_EQ(completed.front().id, (node_id{0, n - 1}));
    for (const auto& node : completed) {
      EXPECT_TRUE(handed_out.insert(node.id).second) << "handed out twice";
      EXPECT_EQ(node.hash, table.at(node.id)) << "level " << int(node.id.level);
    }
    // Exactly the perfect subtrees complete at size n: 2n - popcount(n) of them.
    EXPECT_EQ(handed_out.size(), 2 * n - std::popcount(n)) << "size " << n;
    const auto root = reference_root(h, std::span<const digest>(leaves).first(n));
    EXPECT_EQ(range.size(), n);
    EXPECT_EQ(range.root(h), root) << "size " << n;
    table.limit(n);
    EXPECT_EQ(root_at(h, table, n), root) << "size " << n;
    EXPECT_EQ(table.distinct_reads(), root_nodes(n));
    EXPECT_EQ(table.distinct_reads(), frontier_ids(n));
  }
}

/// For every 0 <= m < n <= max_size (inclusion) and 0 < m <= n <= max_size (consistency): the
/// proof is the reference PATH / PROOF, and it reads exactly the nodes *_nodes() lists.
inline void expect_proofs_match_reference(const merkle_hasher& h, std::size_t max_size) {
  const auto all = sample_leaves(h, max_size);
  node_table table(h, all);
  for (std::uint64_t n = 1; n <= max_size; ++n) {
    const auto leaves = std::span<const digest>(all).first(n);
    for (std::uint64_t m = 0; m < n; ++m) {
      table.limit(n);
      const auto proof = inclusion_proof(h, table, m, n);
      ASSERT_TRUE(proof.has_value());
      EXPECT_EQ(*proof, reference_path(h, m, leaves)) << "leaf " << m << " of " << n;
      EXPECT_EQ(inclusion_proof_nodes(m, n), table.distinct_reads()) << m << " of " << n;
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      table.limit(n);
      const auto proof = consistency_proof(h, table, m, n);
      ASSERT_TRUE(proof.has_value());
      EXPECT_EQ(*proof, reference_subproof(h, m, leaves, true)) << m << " to " << n;
      EXPECT_EQ(consistency_proof_nodes(m, n), table.distinct_reads()) << m << " to " << n;
    }
  }
}

/// Every inclusion and consistency proof of every tree up to max_size verifies, and none does
/// once spoiled: a flipped byte in the proof, the leaf or a root; a hash added, removed or
/// moved; a wrong index or size (the mutations of certificate-transparency's verifier tests).
inline void expect_every_proof_verifies_and_no_spoiled_one(const merkle_hasher& h,
                                                           std::size_t max_size) {
  const auto all = sample_leaves(h, max_size);
  node_table table(h, all);
  const auto valid = proof_verdict::valid;
  for (std::uint64_t n = 1; n <= max_size; ++n) {
    table.limit(n);
    const auto root = root_at(h, table, n);
    for (std::uint64_t m = 0; m < n; ++m) {
      const auto proof = *inclusion_proof(h, table, m, n);
      const auto& leaf = all[m];
      const auto verify = [&](std::uint64_t i, std::uint64_t size, const digest& l,
                              const std::vector<digest>& p,
                              const digest& r) { return verify_inclusion(h, i, size, l, p, r); };
      ASSERT_EQ(verify(m, n, leaf, proof, root), valid) << "leaf " << m << " of " << n;
      EXPECT_NE(verify(m - 1, n, leaf, proof, root), valid) << m << " of " << n;
      EXPECT_NE(verify(m + 1, n, leaf, proof, root), valid) << m << " of " << n;
      EXPECT_NE(verify(m ^ 2, n, leaf, proof, root), valid) << m << " of " << n;
      EXPECT_NE(verify(m, n * 2, leaf, proof, root), valid) << m << " of " << n;
      EXPECT_NE(verify(m, n / 2, leaf, proof, root), valid) << m << " of " << n;
      EXPECT_NE(verify(m, n, h.empty(), proof, root), valid) << m << " of " << n;
      EXPECT_NE(verify(m, n, leaf, proof, h.empty()), valid) << m << " of " << n;
      for (const auto& l : flipped_each_byte(leaf)) EXPECT_NE(verify(m, n, l, proof, root), valid);
      for (const auto& r : flipped_each_byte(root)) EXPECT_NE(verify(m, n, leaf, proof, r), valid);
      for (const auto& p : spoiled_proofs(proof, root)) {
        EXPECT_NE(verify(m, n, leaf, p, root), valid) << "spoiled proof, " << m << " of " << n;
      }
    }
    for (std::uint64_t m = 1; m <= n; ++m) {
      const auto proof = *consistency_proof(h, table, m, n);
      const auto root1 = reference_root(h, std::span<const digest>(all).first(m));
      const auto verify = [&](std::uint64_t s1, std::uint64_t s2, const std::vector<digest>& p,
                              const digest& r1, const digest& r2) {
        return verify_consistency(h, s1, s2, p, r1, r2);
      };
      ASSERT_EQ(verify(m, n, proof, root1, root), valid) << m << " to " << n;
      for (const auto& r : flipped_each_byte(root1)) EXPECT_NE(verify(m, n, proof, r, root), valid);
      for (const auto& r : flipped_each_byte(root)) EXPECT_NE(verify(m, n, proof, root1, r), valid);
      // An empty proof (m == n) is about sizes and roots alone; the rest spoil the proof too.
      if (proof.empty()) continue;
      EXPECT_NE(verify(m - 1, n, proof, root1, root), valid) << m << " to " << n;
      EXPECT_NE(verify(m + 1, n, proof, root1, root), valid) << m << " to " << n;
      EXPECT_NE(verify(m ^ 2, n, proof, root1, root), valid) << m << " to " << n;
      EXPECT_NE(verify(m, n * 2, proof, root1, root), valid) << m << " to " << n;
      EXPECT_NE(verify(m, n / 2, proof, root1, root), valid) << m << " to " << n;
      EXPECT_NE(verify(m, n, proof, root, root1), valid) << "swapped roots " << m << " to " << n;
      EXPECT_NE(verify(m, n, {}, root1, root), valid) << m << " to " << n;
      for (const auto& p : spoiled_proofs(proof, root1)) {
        EXPECT_NE(verify(m, n, p, root1, root), valid) << "spoiled proof, " << m << " to " << n;
      }
    }
  }
}

}  // namespace keyledger::domain::audit::testing
