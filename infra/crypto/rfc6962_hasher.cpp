#include "infra/crypto/rfc6962_hasher.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "infra/crypto/crypto.hpp"

namespace keyledger::infra {
namespace {

// The domain separation of RFC 6962 2.1: a leaf can never be taken for a node.
constexpr std::uint8_t leaf_prefix = 0x00;
constexpr std::uint8_t node_prefix = 0x01;

// Leaves are event hashes (32 bytes): they go through one stack buffer and the one-shot digest.
constexpr std::size_t small_leaf_bytes = 64;

template <std::size_t N>
std::string_view as_chars(const std::array<std::uint8_t, N>& bytes, std::size_t size) {
  return {reinterpret_cast<const char*>(bytes.data()), size};
}

}  // namespace

domain::audit::digest rfc6962_hasher::empty() const { return sha256(std::string_view()); }

domain::audit::digest rfc6962_hasher::leaf(std::span<const std::uint8_t> data) const {
  if (data.size() <= small_leaf_bytes) {
    std::array<std::uint8_t, 1 + small_leaf_bytes> buffer{};
    buffer[0] = leaf_prefix;
    std::copy(data.begin(), data.end(), buffer.begin() + 1);
    return sha256(as_chars(buffer, 1 + data.size()));
  }
  sha256_hasher h;
  const std::uint8_t prefix[] = {leaf_prefix};
  h.update(std::span<const std::uint8_t>(prefix));
  h.update(data);
  return h.finish();
}

domain::audit::digest rfc6962_hasher::node(const domain::audit::digest& left,
                                           const domain::audit::digest& right) const {
  std::array<std::uint8_t, 1 + 2 * sizeof(domain::audit::digest)> buffer{};
  buffer[0] = node_prefix;
  std::copy(left.begin(), left.end(), buffer.begin() + 1);
  std::copy(right.begin(), right.end(), buffer.begin() + 1 + left.size());
  return sha256(as_chars(buffer, buffer.size()));
}

}  // namespace keyledger::infra
