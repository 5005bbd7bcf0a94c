#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "domain/audit/merkle.hpp"
#include "tests/unit/domain/merkle_reference.hpp"

namespace keyledger::domain::audit {
namespace {

using testing::node_table;
using testing::sample_leaves;

// Not a cryptographic hash, but injective enough for the tests: four FNV-1a lanes with
// different offsets, each finished with splitmix64. Over inputs of one length, one changed byte
// always changes every lane (each FNV step and the finisher are bijections). Leaves and nodes
// are domain-separated by their prefix byte, as in RFC 6962.
class fake_hasher final : public merkle_hasher {
 public:
  digest empty() const override { return hash({}, {}); }
  digest leaf(std::span<const std::uint8_t> data) const override {
    const std::uint8_t prefix[] = {0x00};
    return hash(prefix, data);
  }
  digest node(const digest& left, const digest& right) const override {
    std::array<std::uint8_t, 2 * sizeof(digest)> both{};
    std::copy(left.begin(), left.end(), both.begin());
    std::copy(right.begin(), right.end(), both.begin() + sizeof(digest));
    const std::uint8_t prefix[] = {0x01};
    return hash(prefix, both);
  }

 private:
  static digest hash(std::span<const std::uint8_t> prefix, std::span<const std::uint8_t> data) {
    digest out{};
    for (std::size_t lane = 0; lane < 4; ++lane) {
      std::uint64_t h = 0xcbf29ce484222325ULL + lane * 0x9E3779B97F4A7C15ULL;
      for (auto part : {prefix, data}) {
        for (const std::uint8_t b : part) h = (h ^ b) * 0x100000001b3ULL;
      }
      h ^= prefix.size() + data.size();
      h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
      h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
      h ^= h >> 31;
      for (std::size_t i = 0; i < 8; ++i)
        out[lane * 8 + i] = static_cast<std::uint8_t>(h >> (8 * i));
    }
    return out;
  }
};

const fake_hasher hasher;
constexpr std::size_t sizes_up_to = 64;
constexpr std::uint64_t max_size = std::numeric_limits<std::uint64_t>::max();

// ---- the compact range -----------------------------------------------------------------------

TEST(merkle, the_compact_range_root_is_the_reference_mth_for_every_size_up_to_64) {
  testing::expect_compact_range_matches_reference(hasher, sizes_up_to);
}

TEST(merkle, frontier_ids_are_the_perfect_subtrees_of_the_set_bits_highest_first) {
  EXPECT_TRUE(frontier_ids(0).empty());
  EXPECT_EQ(frontier_ids(1), (std::vector<node_id>{{0, 0}}));
  EXPECT_EQ(frontier_ids(8), (std::vector<node_id>{{3, 0}}));
  // 13 = 8 + 4 + 1: leaves [0, 8), [8, 12), [12, 13).
  EXPECT_EQ(frontier_ids(13), (std::vector<node_id>{{3, 0}, {2, 2}, {0, 12}}));
  const auto widest = frontier_ids(max_size);
  ASSERT_EQ(widest.size(), 64u);
  EXPECT_EQ(widest.front(), (node_id{63, 0}));
  EXPECT_EQ(widest.back(), (node_id{0, max_size - 1}));
}

TEST(merkle, an_append_hands_out_the_leaf_then_each_parent_it_completes) {
  // Given a tree of 7 leaves (4 + 2 + 1)
  const auto leaves = sample_leaves(hasher, 8);
  compact_range range;
  for (std::size_t i = 0; i < 7; ++i) range.append(hasher, leaves[i]);
  ASSERT_EQ(range.hashes().size(), 3u);
  // When the 8th leaf is appended
  const auto completed = range.append(hasher, leaves[7]);
  // Then it closes (1, 3), (2, 1) and the whole tree (3, 0), and the range is one node
  node_table table(hasher, leaves);
  const std::vector<node_id> ids = {{0, 7}, {1, 3}, {2, 1}, {3, 0}};
  ASSERT_EQ(completed.size(), ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(completed[i].id, ids[i]);
    EXPECT_EQ(completed[i].hash, table.at(ids[i]));
  }
  EXPECT_EQ(range.hashes(), (std::vector<digest>{table.at({3, 0})}));
  EXPECT_EQ(range.root(hasher), table.at({3, 0}));
}

TEST(merkle, a_restored_range_goes_on_exactly_as_the_one_it_was_stored_from) {
  const auto leaves = sample_leaves(hasher, 40);
  node_table table(hasher, leaves);
  compact_range grown;
  for (std::size_t n = 0; n < leaves.size(); ++n) {
    // Given the nodes of frontier_ids(n), as a store would hold them
    std::vector<digest> stored;
    for (const auto& id : frontier_ids(n)) stored.push_back(table.at(id));
    // When a range is restored from them
    auto restored = compact_range::restore(n, stored);
    // Then it is the grown one, and stays so on the next append
    ASSERT_TRUE(restored.has_value()) << n;
    EXPECT_EQ(*restored, grown);
    EXPECT_EQ(restored->append(hasher, leaves[n]), grown.append(hasher, leaves[n]));
    EXPECT_EQ(restored->root(hasher), grown.root(hasher));
  }
}

TEST(merkle, a_range_is_not_restored_from_the_wrong_number_of_nodes) {
  EXPECT_FALSE(compact_range::restore(0, {digest{}}).has_value());
  EXPECT_FALSE(compact_range::restore(13, {digest{}, digest{}}).has_value());
  EXPECT_FALSE(compact_range::restore(13, std::vector<digest>(4)).has_value());
  EXPECT_TRUE(compact_range::restore(13, std::vector<digest>(3)).has_value());
}

TEST(merkle, a_full_tree_takes_no_more_leaves) {
  // Given a range at 2^64 - 1 leaves
  auto full = compact_range::restore(max_size, std::vector<digest>(64));
  ASSERT_TRUE(full.has_value());
  const compact_range before = *full;
  // When a leaf is appended, then nothing is completed and nothing changes
  EXPECT_TRUE(full->append(hasher, digest{}).empty());
  EXPECT_EQ(*full, before);
}

TEST(merkle, extending_grows_the_range_exactly_as_appending) {
  const auto leaves = sample_leaves(hasher, 70);
  compact_range appended;
  compact_range extended;
  for (const auto& leaf : leaves) {
    appended.append(hasher, leaf);
    extended.extend(hasher, leaf);
    ASSERT_EQ(extended, appended);
    EXPECT_EQ(extended.root(hasher), appended.root(hasher));
  }
  // And a full tree takes no more leaves this way either.
  auto full = compact_range::restore(max_size, std::vector<digest>(64));
  ASSERT_TRUE(full.has_value());
  const compact_range before = *full;
  full->extend(hasher, digest{});
  EXPECT_EQ(*full, before);
}

TEST(merkle, the_empty_tree_root_is_the_hash_of_nothing) {
  node_table table(hasher, {});
  EXPECT_EQ(compact_range{}.root(hasher), hasher.empty());
  EXPECT_EQ(root_at(hasher, table, 0), hasher.empty());
  EXPECT_TRUE(root_nodes(0).empty());
}

// ---- proofs ----------------------------------------------------------------------------------

TEST(merkle, proofs_are_rfc_path_and_proof_and_read_what_they_list_for_every_size_up_to_64) {
  testing::expect_proofs_match_reference(hasher, sizes_up_to);
}

TEST(merkle, proofs_are_refused_for_indexes_and_sizes_outside_the_tree) {
  node_table table(hasher, sample_leaves(hasher, 8));
  table.limit(8);
  EXPECT_FALSE(inclusion_proof(hasher, table, 0, 0).has_value());
  EXPECT_FALSE(inclusion_proof(hasher, table, 8, 8).has_value());
  EXPECT_FALSE(inclusion_proof(hasher, table, max_size, 8).has_value());
  EXPECT_FALSE(consistency_proof(hasher, table, 0, 8).has_value()) << "nothing to prove";
  EXPECT_FALSE(consistency_proof(hasher, table, 0, 0).has_value());
  EXPECT_FALSE(consistency_proof(hasher, table, 5, 4).has_value());
  EXPECT_FALSE(inclusion_proof_nodes(8, 8).has_value());
  EXPECT_FALSE(consistency_proof_nodes(0, 8).has_value());
  EXPECT_FALSE(consistency_proof_nodes(9, 8).has_value());
  EXPECT_TRUE(table.distinct_reads().empty()) << "a refused proof reads nothing";
}

// In a tree far too big to build, the listed nodes are few, distinct and complete in the tree.
void expect_few_complete_nodes(const std::vector<node_id>& ids, std::uint64_t size) {
  EXPECT_LE(ids.size(), 2u * 64u);
  for (const auto& id : ids) {
    ASSERT_LE(id.level, max_node_level);
    EXPECT_LE(id.index + 1, size >> id.level)
        << "(" << int(id.level) << ", " << id.index << ") in " << size;
  }
  EXPECT_EQ(std::set<node_id>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(merkle, the_nodes_of_a_proof_in_a_huge_tree_are_logarithmic_and_inside_the_tree) {
  const std::uint64_t sizes[] = {98765432109ULL, (1ULL << 40), (1ULL << 40) + 1, max_size};
  for (const std::uint64_t n : sizes) {
    EXPECT_EQ(root_nodes(n), frontier_ids(n));
    for (const std::uint64_t m : {std::uint64_t{0}, n / 3, n / 2, n - 1}) {
      const auto inclusion = inclusion_proof_nodes(m, n);
      ASSERT_TRUE(inclusion.has_value());
      expect_few_complete_nodes(*inclusion, n);
      if (m == 0) continue;
      const auto consistency = consistency_proof_nodes(m, n);
      ASSERT_TRUE(consistency.has_value());
      expect_few_complete_nodes(*consistency, n);
    }
  }
}

// ---- verification ----------------------------------------------------------------------------

TEST(merkle, every_proof_verifies_and_no_spoiled_one_does_for_every_size_up_to_64) {
  testing::expect_every_proof_verifies_and_no_spoiled_one(hasher, sizes_up_to);
}

TEST(merkle, inclusion_in_a_one_leaf_tree_is_the_leaf_being_the_root) {
  const auto leaf = sample_leaves(hasher, 1)[0];
  EXPECT_EQ(verify_inclusion(hasher, 0, 1, leaf, {}, leaf), proof_verdict::valid);
  EXPECT_EQ(verify_inclusion(hasher, 0, 1, leaf, {}, hasher.empty()), proof_verdict::mismatch);
  EXPECT_EQ(verify_inclusion(hasher, 0, 1, leaf, std::vector<digest>{leaf}, leaf),
            proof_verdict::wrong_length);
}

TEST(merkle, inclusion_is_refused_for_an_index_outside_the_tree) {
  // The probes of transparency-dev's TestVerifyInclusion: (index, size) = (0,0) (1,0) (2,1).
  const digest d = hasher.empty();
  EXPECT_EQ(verify_inclusion(hasher, 0, 0, d, {}, d), proof_verdict::bad_sizes);
  EXPECT_EQ(verify_inclusion(hasher, 1, 0, d, {}, d), proof_verdict::bad_sizes);
  EXPECT_EQ(verify_inclusion(hasher, 2, 1, d, {}, d), proof_verdict::bad_sizes);
  EXPECT_EQ(verify_inclusion(hasher, 1, 1, d, {}, d), proof_verdict::bad_sizes);
  EXPECT_EQ(root_from_inclusion_proof(hasher, 3, 3, d, {}).verdict, proof_verdict::bad_sizes);
}

TEST(merkle, consistency_of_equal_sizes_needs_equal_roots_and_no_proof) {
  const digest a = sample_leaves(hasher, 1)[0];
  const digest b = hasher.empty();
  EXPECT_EQ(verify_consistency(hasher, 1, 1, {}, a, a), proof_verdict::valid);
  EXPECT_EQ(verify_consistency(hasher, 7, 7, {}, b, b), proof_verdict::valid);
  EXPECT_EQ(verify_consistency(hasher, 1, 1, {}, a, b), proof_verdict::mismatch);
  EXPECT_EQ(verify_consistency(hasher, 1, 1, std::vector<digest>{a}, a, a),
            proof_verdict::wrong_length);
}

TEST(merkle, consistency_from_the_empty_tree_or_backwards_is_refused) {
  // RFC 9162 2.1.4.2 is for 0 < first < second; from size 0 there is nothing to prove, so a
  // "proof" from 0 is refused rather than waved through (transparency-dev accepts an empty one).
  const digest e = hasher.empty();
  EXPECT_EQ(verify_consistency(hasher, 0, 0, {}, e, e), proof_verdict::bad_sizes);
  EXPECT_EQ(verify_consistency(hasher, 0, 1, {}, e, e), proof_verdict::bad_sizes);
  EXPECT_EQ(verify_consistency(hasher, 1, 0, {}, e, e), proof_verdict::bad_sizes);
  EXPECT_EQ(verify_consistency(hasher, 2, 1, {}, e, e), proof_verdict::bad_sizes);
}

TEST(merkle, consistency_between_different_sizes_needs_a_proof) {
  const digest e = hasher.empty();
  EXPECT_EQ(verify_consistency(hasher, 1, 2, {}, e, e), proof_verdict::wrong_length);
}

TEST(merkle, a_proof_far_longer_than_the_tree_is_high_is_refused) {
  // Given a valid proof padded to 100000 hashes, when it is checked, then it is refused (after
  // at most 64 steps: the check stops as soon as the path passes the top).
  node_table table(hasher, sample_leaves(hasher, 8));
  table.limit(8);
  auto inclusion = *inclusion_proof(hasher, table, 3, 8);
  const auto root = root_at(hasher, table, 8);
  inclusion.resize(100'000);
  EXPECT_EQ(verify_inclusion(hasher, 3, 8, table.at({0, 3}), inclusion, root),
            proof_verdict::wrong_length);
  auto consistency = *consistency_proof(hasher, table, 3, 8);
  consistency.resize(100'000);
  EXPECT_EQ(verify_consistency(hasher, 3, 8, consistency, root_at(hasher, table, 3), root),
            proof_verdict::wrong_length);
}

TEST(merkle, verdicts_have_names) {
  EXPECT_EQ(to_string(proof_verdict::valid), "valid");
  EXPECT_EQ(to_string(proof_verdict::bad_sizes), "bad_sizes");
  EXPECT_EQ(to_string(proof_verdict::wrong_length), "wrong_length");
  EXPECT_EQ(to_string(proof_verdict::mismatch), "mismatch");
}

}  // namespace
}  // namespace keyledger::domain::audit
