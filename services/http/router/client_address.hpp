#pragma once

// Who is on the other end of a request: the connection's peer, or behind trusted proxies the
// address they vouch for.

#include <optional>
#include <string>
#include <vector>

#include "domain/net.hpp"
#include "infra/http/server.hpp"

namespace keyledger::services {

/// Parses KEYLEDGER_TRUSTED_PROXIES entries (config::trusted_proxies) with domain::parse_cidr.
/// Throws infra::error(errc::config) naming the position of a bad entry.
std::vector<domain::cidr> parse_trusted_proxies(const std::vector<std::string>& entries);

/// The client address of a request: the connection's peer, or, when the peer is a trusted
/// proxy, the right-most address of X-Forwarded-For (all such headers, in order) that is not
/// itself a trusted proxy (the left-most when all are). nullopt when the peer address cannot be
/// parsed or an X-Forwarded-For entry that must be believed is not an address: unknown, so a
/// key with allowed CIDRs is refused.
std::optional<domain::ip_address> client_ip_of(const infra::http_request& req,
                                               const std::vector<domain::cidr>& trusted_proxies);

}  // namespace keyledger::services
