// The Merkle tree of domain/audit/merkle with the real SHA-256 hashes, against the reference
// tree of certificate-transparency's cpp/merkletree/merkle_tree_test.cc (the same vectors are
// in transparency-dev/merkle's proof/verify_test.go): roots for sizes 0-8, inclusion and
// consistency proofs. Then every size up to 64, as the domain tests do with a fake hasher.

#include "infra/crypto/rfc6962_hasher.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "domain/audit/merkle.hpp"
#include "infra/crypto/crypto.hpp"
#include "tests/unit/domain/merkle_reference.hpp"

namespace keyledger::infra {
namespace {

using domain::audit::compact_range;
using domain::audit::digest;
using domain::audit::proof_verdict;
using domain::audit::testing::node_table;

const rfc6962_hasher hasher;

digest dh(const std::string& hex) {
  digest d{};
  EXPECT_TRUE(from_hex(hex, d)) << hex;
  return d;
}

std::vector<std::uint8_t> bytes(const std::string& hex) {
  std::vector<std::uint8_t> out(hex.size() / 2);
  EXPECT_TRUE(from_hex(hex, out)) << hex;
  return out;
}

// kInputs: the eight leaves of the reference tree.
const std::vector<std::string> inputs = {"",
                                         "00",
                                         "10",
                                         "2021",
                                         "3031",
                                         "40414243",
                                         "5051525354555657",
                                         "606162636465666768696a6b6c6d6e6f"};

// kSHA256EmptyTreeHash, then kSHA256Roots for sizes 1-8.
const std::vector<std::string> roots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct proof_vector {
  std::uint64_t first;   // a leaf index (inclusion) or the first size (consistency)
  std::uint64_t second;  // the tree size
  std::vector<std::string> proof;
};

// kSHA256Paths, whose leaves are numbered from 1 there: {1,8} is leaf 0, {6,8} leaf 5, {3,3}
// leaf 2, {2,5} leaf 1.
const std::vector<proof_vector> inclusion_vectors = {
    {0, 1, {}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

// kSHA256Proofs, and transparency-dev's {6, 7}.
const std::vector<proof_vector> consistency_vectors = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<digest> reference_leaves() {
  std::vector<digest> out;
  for (const auto& hex : inputs) out.push_back(hasher.leaf(bytes(hex)));
  return out;
}

std::vector<digest> digests(const std::vector<std::string>& hexes) {
  std::vector<digest> out;
  for (const auto& hex : hexes) out.push_back(dh(hex));
  return out;
}

TEST(rfc6962_hasher, hashes_are_domain_separated_sha256) {
  // The empty tree is SHA-256(""); a leaf SHA-256(0x00 || d); a node SHA-256(0x01 || l || r).
  EXPECT_EQ(hasher.empty(), dh(roots[0]));
  EXPECT_EQ(hasher.leaf({}), dh(roots[1]));
  EXPECT_EQ(hasher.leaf({}), sha256(std::string(1, '\0')));
  const digest l = dh(roots[1]);
  const digest r = dh(roots[2]);
  std::string node_input(1, '\x01');
  node_input.append(reinterpret_cast<const char*>(l.data()), l.size());
  node_input.append(reinterpret_cast<const char*>(r.data()), r.size());
  EXPECT_EQ(hasher.node(l, r), sha256(node_input));
  EXPECT_NE(hasher.node(l, r), hasher.node(r, l));
}

TEST(rfc6962_hasher, a_long_leaf_is_hashed_whole) {
  // Leaves over the 64-byte stack buffer take the incremental path: the same definition.
  for (const std::size_t n : {63u, 64u, 65u, 1000u}) {
    const std::vector<std::uint8_t> data(n, 0x5a);
    std::string input(1, '\0');
    input.append(n, '\x5a');
    EXPECT_EQ(hasher.leaf(data), sha256(input)) << n;
  }
}

TEST(rfc6962_hasher, the_compact_range_gives_the_reference_roots_for_sizes_0_to_8) {
  const auto leaves = reference_leaves();
  compact_range range;
  EXPECT_EQ(range.root(hasher), dh(roots[0]));
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    range.append(hasher, leaves[n - 1]);
    EXPECT_EQ(to_hex(range.root(hasher)), roots[n]) << "size " << n;
  }
  node_table table(hasher, leaves);
  for (std::size_t n = 0; n <= leaves.size(); ++n) {
    table.limit(n);
    EXPECT_EQ(to_hex(domain::audit::root_at(hasher, table, n)), roots[n]) << "size " << n;
  }
}

TEST(rfc6962_hasher, inclusion_proofs_are_the_reference_paths_and_verify) {
  const auto leaves = reference_leaves();
  node_table table(hasher, leaves);
  for (const auto& v : inclusion_vectors) {
    table.limit(v.second);
    const auto proof = domain::audit::inclusion_proof(hasher, table, v.first, v.second);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(*proof, digests(v.proof)) << "leaf " << v.first << " of " << v.second;
    EXPECT_EQ(domain::audit::verify_inclusion(hasher, v.first, v.second, leaves[v.first],
                                              digests(v.proof), dh(roots[v.second])),
              proof_verdict::valid);
  }
}

TEST(rfc6962_hasher, consistency_proofs_are_the_reference_proofs_and_verify) {
  node_table table(hasher, reference_leaves());
  for (const auto& v : consistency_vectors) {
    table.limit(v.second);
    const auto proof = domain::audit::consistency_proof(hasher, table, v.first, v.second);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(*proof, digests(v.proof)) << v.first << " to " << v.second;
    EXPECT_EQ(domain::audit::verify_consistency(hasher, v.first, v.second, digests(v.proof),
                                                dh(roots[v.first]), dh(roots[v.second])),
              proof_verdict::valid);
    if (v.proof.empty()) continue;
    // A proof between the wrong pair of roots is refused.
    EXPECT_NE(domain::audit::verify_consistency(hasher, v.first, v.second, digests(v.proof),
                                                dh(roots[v.second]), dh(roots[v.first])),
              proof_verdict::valid);
  }
}

TEST(rfc6962_hasher, every_size_up_to_64_agrees_with_the_reference_definitions) {
  domain::audit::testing::expect_compact_range_matches_reference(hasher, 64);
  domain::audit::testing::expect_proofs_match_reference(hasher, 64);
}

TEST(rfc6962_hasher, every_proof_up_to_64_verifies_and_no_spoiled_one_does) {
  domain::audit::testing::expect_every_proof_verifies_and_no_spoiled_one(hasher, 64);
}

}  // namespace
}  // namespace keyledger::infra
