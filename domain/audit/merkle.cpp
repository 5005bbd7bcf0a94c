#include "domain/audit/merkle.hpp"

#include <bit>
#include <limits>
#include <set>
#include <utility>

namespace keyledger::domain::audit {
namespace {

constexpr std::uint64_t max_tree_size = std::numeric_limits<std::uint64_t>::max();

// The largest power of two smaller than n (RFC 9162 2.1.1's k). Precondition: n >= 2.
std::uint64_t split_point(std::uint64_t n) noexcept { return std::bit_floor(n - 1); }

// MTH of leaves [begin, begin + count), count >= 1: the fold from the right of the perfect
// subtrees, one per set bit of count, highest first. In every range the RFC recursion visits,
// begin is a multiple of bit_ceil(count), so each of those subtrees is a node of the tree.
digest range_hash(const merkle_hasher& hasher, const node_source& source, std::uint64_t begin,
                  std::uint64_t count) {
  std::array<digest, 64> parts{};
  std::size_t n = 0;
  for (int level = max_node_level; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((count & width) == 0) continue;
    parts[n++] = source.node({static_cast<std::uint8_t>(level), begin >> level});
    begin += width;
  }
  digest r = parts[n - 1];
  for (std::size_t i = n - 1; i-- > 0;) r = hasher.node(parts[i], r);
  return r;
}

// RFC 9162 2.1.3.1 PATH(m, D[begin:begin+n]), appended to `out` from the leaf up.
void path(const merkle_hasher& hasher, const node_source& source, std::uint64_t m,
          std::uint64_t begin, std::uint64_t n, std::vector<digest>& out) {
  if (n == 1) return;
  const std::uint64_t k = split_point(n);
  if (m < k) {
    path(hasher, source, m, begin, k, out);
    out.push_back(range_hash(hasher, source, begin + k, n - k));
  } else {
    path(hasher, source, m - k, begin + k, n - k, out);
    out.push_back(range_hash(hasher, source, begin, k));
  }
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[begin:begin+n], b), appended to `out`. 0 < m <= n.
void subproof(const merkle_hasher& hasher, const node_source& source, std::uint64_t m,
              std::uint64_t begin, std::uint64_t n, bool whole, std::vector<digest>& out) {
  if (m == n) {
    // The first tree's root is this subtree: the verifier has it already unless it is only a
    // part of the first tree.
    if (!whole) out.push_back(range_hash(hasher, source, begin, n));
    return;
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    subproof(hasher, source, m, begin, k, whole, out);
    out.push_back(range_hash(hasher, source, begin + k, n - k));
  } else {
    subproof(hasher, source, m - k, begin + k, n - k, false, out);
    out.push_back(range_hash(hasher, source, begin, k));
  }
}

// Hashes nothing: the proofs' access pattern never depends on hash values, so running them
// over zeros lists the nodes they read.
class null_hasher final : public merkle_hasher {
 public:
  digest empty() const override { return {}; }
  digest leaf(std::span<const std::uint8_t>) const override { return {}; }
  digest node(const digest&, const digest&) const override { return {}; }
};

class recording_source final : public node_source {
 public:
  digest node(node_id id) const override {
    if (seen_.insert(id).second) ids_.push_back(id);
    return {};
  }
  std::vector<node_id> take() && { return std::move(ids_); }

 private:
  mutable std::set<node_id> seen_;
  mutable std::vector<node_id> ids_;
};

}  // namespace

// ---- compact range ---------------------------------------------------------------------------

std::vector<node_id> frontier_ids(std::uint64_t size) {
  std::vector<node_id> ids;
  ids.reserve(static_cast<std::size_t>(std::popcount(size)));
  std::uint64_t begin = 0;
  for (int level = max_node_level; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((size & width) == 0) continue;
    ids.push_back({static_cast<std::uint8_t>(level), begin >> level});
    begin += width;
  }
  return ids;
}

std::optional<compact_range> compact_range::restore(std::uint64_t size,
                                                    std::vector<digest> hashes) {
  if (hashes.size() != static_cast<std::size_t>(std::popcount(size))) return std::nullopt;
  compact_range r;
  r.size_ = size;
  r.hashes_ = std::move(hashes);
  return r;
}

template <class OnNode>
void compact_range::add_leaf(const merkle_hasher& hasher, const digest& leaf_hash,
                             OnNode&& on_node) {
  on_node(merkle_node{{0, size_}, leaf_hash});
  // Each set low bit of the old size is a perfect subtree of that level just left of the new
  // leaf: merge with it, and the merged node is complete too.
  digest current = leaf_hash;
  std::uint64_t index = size_;
  for (int level = 0; ((size_ >> level) & 1) != 0; ++level) {
    current = hasher.node(hashes_.back(), current);
    hashes_.pop_back();
    index >>= 1;
    on_node(merkle_node{{static_cast<std::uint8_t>(level + 1), index}, current});
  }
  hashes_.push_back(current);
  ++size_;
}

std::vector<merkle_node> compact_range::append(const merkle_hasher& hasher,
                                               const digest& leaf_hash) {
  if (size_ == max_tree_size) return {};
  std::vector<merkle_node> completed;
  completed.reserve(static_cast<std::size_t>(std::countr_one(size_)) + 1);
  add_leaf(hasher, leaf_hash, [&](const merkle_node& n) { completed.push_back(n); });
  return completed;
}

void compact_range::extend(const merkle_hasher& hasher, const digest& leaf_hash) {
  if (size_ == max_tree_size) return;
  add_leaf(hasher, leaf_hash, [](const merkle_node&) {});
}

digest compact_range::root(const merkle_hasher& hasher) const {
  if (hashes_.empty()) return hasher.empty();
  digest r = hashes_.back();
  for (std::size_t i = hashes_.size() - 1; i-- > 0;) r = hasher.node(hashes_[i], r);
  return r;
}

// ---- proofs ----------------------------------------------------------------------------------

digest root_at(const merkle_hasher& hasher, const node_source& source, std::uint64_t size) {
  if (size == 0) return hasher.empty();
  return range_hash(hasher, source, 0, size);
}

std::optional<std::vector<digest>> inclusion_proof(const merkle_hasher& hasher,
                                                   const node_source& source, std::uint64_t index,
                                                   std::uint64_t size) {
  if (index >= size) return std::nullopt;
  std::vector<digest> proof;
  path(hasher, source, index, 0, size, proof);
  return proof;
}

std::optional<std::vector<digest>> consistency_proof(const merkle_hasher& hasher,
                                                     const node_source& source, std::uint64_t size1,
                                                     std::uint64_t size2) {
  if (size1 == 0 || size1 > size2) return std::nullopt;
  std::vector<digest> proof;
  subproof(hasher, source, size1, 0, size2, true, proof);
  return proof;
}

std::vector<node_id> root_nodes(std::uint64_t size) {
  recording_source recorder;
  root_at(null_hasher{}, recorder, size);
  return std::move(recorder).take();
}

std::optional<std::vector<node_id>> inclusion_proof_nodes(std::uint64_t index, std::uint64_t size) {
  recording_source recorder;
  if (!inclusion_proof(null_hasher{}, recorder, index, size)) return std::nullopt;
  return std::move(recorder).take();
}

std::optional<std::vector<node_id>> consistency_proof_nodes(std::uint64_t size1,
                                                            std::uint64_t size2) {
  recording_source recorder;
  if (!consistency_proof(null_hasher{}, recorder, size1, size2)) return std::nullopt;
  return std::move(recorder).take();
}

// ---- verification ----------------------------------------------------------------------------

std::string_view to_string(proof_verdict v) noexcept {
  switch (v) {
    case proof_verdict::valid:
      return "valid";
    case proof_verdict::bad_sizes:
      return "bad_sizes";
    case proof_verdict::wrong_length:
      return "wrong_length";
    case proof_verdict::mismatch:
      return "mismatch";
  }
  return "unknown";
}

inclusion_root root_from_inclusion_proof(const merkle_hasher& hasher, std::uint64_t index,
                                         std::uint64_t size, const digest& leaf_hash,
                                         std::span<const digest> proof) {
  // RFC 9162 2.1.3.2, step by step.
  // 1. leaf_index must be below tree_size.
  if (index >= size) return {proof_verdict::bad_sizes, {}};
  // 2. fn = leaf_index, sn = tree_size - 1. 3. r = hash.
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  digest r = leaf_hash;
  // 4. For each p in the path:
  for (const digest& p : proof) {
    // a. A path longer than the tree is high.
    if (sn == 0) return {proof_verdict::wrong_length, {}};
    // b. p is a left sibling when fn is a right child or the last node of its level.
    if ((fn & 1) != 0 || fn == sn) {
      r = hasher.node(p, r);
      // Skip the levels where fn is the last node with no sibling (a ragged right edge).
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = hasher.node(r, p);
    }
    // c.
    fn >>= 1;
    sn >>= 1;
  }
  // 5. The path must have reached the top.
  if (sn != 0) return {proof_verdict::wrong_length, {}};
  return {proof_verdict::valid, r};
}

proof_verdict verify_inclusion(const merkle_hasher& hasher, std::uint64_t index, std::uint64_t size,
                               const digest& leaf_hash, std::span<const digest> proof,
                               const digest& root) {
  const inclusion_root r = root_from_inclusion_proof(hasher, index, size, leaf_hash, proof);
  if (r.verdict != proof_verdict::valid) return r.verdict;
  return r.root == root ? proof_verdict::valid : proof_verdict::mismatch;
}

proof_verdict verify_consistency(const merkle_hasher& hasher, std::uint64_t size1,
                                 std::uint64_t size2, std::span<const digest> proof,
                                 const digest& root1, const digest& root2) {
  // RFC 9162 2.1.4.2 is for 0 < first < second; equal sizes prove themselves.
  if (size1 == 0 || size1 > size2) return proof_verdict::bad_sizes;
  if (size1 == size2) {
    if (!proof.empty()) return proof_verdict::wrong_length;
    return root1 == root2 ? proof_verdict::valid : proof_verdict::mismatch;
  }
  // 1. An empty path proves nothing.
  if (proof.empty()) return proof_verdict::wrong_length;
  // 2. When first is a power of 2 the first tree is one node, root1, and the path starts with
  // it (read through `at` rather than copied).
  const bool prepend = std::has_single_bit(size1);
  const std::size_t length = proof.size() + (prepend ? 1 : 0);
  const auto at = [&](std::size_t i) -> const digest& {
    if (!prepend) return proof[i];
    return i == 0 ? root1 : proof[i - 1];
  };
  // 3. fn = first - 1, sn = second - 1.
  std::uint64_t fn = size1 - 1;
  std::uint64_t sn = size2 - 1;
  // 4. Climb to the top of the perfect subtree the first tree ends with.
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5. fr = sr = the first path value.
  digest fr = at(0);
  digest sr = at(0);
  // 6. For each subsequent value c:
  for (std::size_t i = 1; i < length; ++i) {
    const digest& c = at(i);
    // a.
    if (sn == 0) return proof_verdict::wrong_length;
    // b. c is a left sibling: in both trees.
    if ((fn & 1) != 0 || fn == sn) {
      fr = hasher.node(c, fr);
      sr = hasher.node(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      // c is a right sibling: only in the second tree.
      sr = hasher.node(sr, c);
    }
    // c.
    fn >>= 1;
    sn >>= 1;
  }
  // 7.
  if (sn != 0) return proof_verdict::wrong_length;
  return fr == root1 && sr == root2 ? proof_verdict::valid : proof_verdict::mismatch;
}

}  // namespace keyledger::domain::audit
