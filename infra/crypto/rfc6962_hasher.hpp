#pragma once

// The Merkle tree hashes of RFC 6962 section 2.1 (RFC 9162 section 2.1.1) over SHA-256
// (OpenSSL): the merkle_hasher that domain/audit/merkle.hpp is run with outside tests.

#include <cstdint>
#include <span>

#include "domain/audit/merkle.hpp"

namespace keyledger::infra {

/// empty() = SHA-256(""), leaf(d) = SHA-256(0x00 || d), node(l, r) = SHA-256(0x01 || l || r).
/// Stateless; thread-safe. Throws infra::error(errc::internal) should OpenSSL fail.
class rfc6962_hasher final : public domain::audit::merkle_hasher {
 public:
  domain::audit::digest empty() const override;
  domain::audit::digest leaf(std::span<const std::uint8_t> data) const override;
  domain::audit::digest node(const domain::audit::digest& left,
                             const domain::audit::digest& right) const override;
};

}  // namespace keyledger::infra
