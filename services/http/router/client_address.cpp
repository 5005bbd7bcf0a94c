// The client address of a request, and which proxies may tell it.
#include "services/http/router/client_address.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "domain/encoding.hpp"
#include "domain/text.hpp"
#include "infra/core/error.hpp"

namespace keyledger::services {
namespace {

bool trusted(const std::vector<domain::cidr>& proxies, const domain::ip_address& ip) noexcept {
  return std::any_of(proxies.begin(), proxies.end(),
                     [&](const domain::cidr& c) { return c.contains(ip); });
}

/// One X-Forwarded-For entry: an address, "[v6]", "[v6]:port" or "v4:port" (some proxies
/// append the port).
std::optional<domain::ip_address> forwarded_address(std::string_view entry) {
  if (entry.starts_with('[')) {
    const auto close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const auto rest = entry.substr(close + 1);
    if (!rest.empty() && (rest.size() < 2 || rest.front() != ':' ||
                          !std::all_of(rest.begin() + 1, rest.end(),
                                       [](unsigned char ch) { return std::isdigit(ch); }))) {
      return std::nullopt;
    }
    return domain::parse_ip(entry.substr(1, close - 1));
  }
  const auto colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    const auto port = entry.substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](unsigned char ch) { return std::isdigit(ch); })) {
      return std::nullopt;
    }
    entry = entry.substr(0, colon);
  }
  return domain::parse_ip(entry);
}

}  // namespace

std::optional<domain::ip_address> client_ip_of(const infra::http_request& req,
                                               const std::vector<domain::cidr>& trusted_proxies) {
  const auto peer = domain::parse_ip(req.remote_ip);
  if (!peer) return std::nullopt;
  // Only a trusted proxy's word is taken: anyone else could write any X-Forwarded-For.
  if (!trusted(trusted_proxies, *peer)) return peer;

  std::vector<std::string_view> entries;
  for (const auto& [name, value] : req.headers) {
    if (!domain::iequals_ascii(name, "x-forwarded-for")) continue;
    std::string_view rest = value;
    while (true) {
      const auto comma = rest.find(',');
      const auto entry = domain::trim_ows(rest.substr(0, comma));
      if (!entry.empty()) entries.push_back(entry);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (entries.empty()) return peer;
  // Each proxy appends the address it saw: walk from the right, past our own proxies, to the
  // first address a trusted proxy vouches for but is not itself one.
  for (std::size_t i = entries.size(); i-- > 0;) {
    const auto ip = forwarded_address(entries[i]);
    if (!ip) return std::nullopt;  // written by someone trusted, yet not an address: unknown
    if (!trusted(trusted_proxies, *ip) || i == 0) return ip;
  }
  return peer;
}

std::vector<domain::cidr> parse_trusted_proxies(const std::vector<std::string>& entries) {
  std::vector<domain::cidr> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto c = domain::parse_cidr(domain::trim_ows(entries[i]));
    if (!c) {
      throw infra::error(infra::errc::config,
                         "KEYLEDGER_TRUSTED_PROXIES: entry " + std::to_string(i + 1) +
                             " is not an IPv4/IPv6 address or CIDR without host bits set");
    }
    out.push_back(*c);
  }
  return out;
}

}  // namespace keyledger::services
