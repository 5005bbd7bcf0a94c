#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyledger::domain {

/// An IPv4 or IPv6 address. IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so
/// an IPv4 client seen on a dual-stack socket and the same client seen on an IPv4 socket compare
/// equal. Pure: no inet_pton (domain links only the standard library).
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  bool is_v4() const noexcept;  ///< true for ::ffff:0:0/96
  bool operator==(const ip_address&) const = default;
};

/// Parses dotted-quad IPv4 (exactly four decimal parts 0-255, no leading zeros except "0") or
/// RFC 4291 IPv6 text (with "::" compression and an optional trailing dotted quad; no zone
/// "%eth0", no brackets). Anything else: nullopt. Never throws.
std::optional<ip_address> parse_ip(std::string_view text) noexcept;

/// Canonical text: dotted quad for IPv4 (also for IPv4-mapped), RFC 5952 for IPv6.
std::string to_string(const ip_address& ip);

/// A network: address + prefix length, with every host bit zero.
struct cidr {
  ip_address network;
  int prefix_length = 0;  ///< 0-128 in the mapped representation (IPv4 /n is stored as 96+n)
  bool contains(const ip_address& ip) const noexcept;
  bool operator==(const cidr&) const = default;
};

/// Parses "a.b.c.d/n" (n 0-32), "v6/n" (n 0-128) or a bare address (a /32 or /128). Refuses a
/// network with host bits set ("10.0.0.1/8"): the caller probably meant something else, and a
/// security setting must not be silently widened or narrowed.
std::optional<cidr> parse_cidr(std::string_view text) noexcept;

/// Canonical text, e.g. "10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32".
std::string to_string(const cidr& c);

/// True if `ip` is inside any of `allowed`; an empty list allows every address.
bool ip_allowed(const std::vector<cidr>& allowed, const ip_address& ip) noexcept;

/// True for 127.0.0.0/8 and ::1 (used by the postback URL rule).
bool is_loopback(const ip_address& ip) noexcept;

/// Whether `ip` is a public unicast address a postback may be sent to (the SSRF rule, issue 10):
/// false for unspecified, loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), shared
/// (100.64/10), link-local (169.254/16 - the cloud metadata address 169.254.169.254 among them -
/// and fe80::/10), multicast (224/4, ff00::/8), reserved and broadcast (0/8, 240/4), the IETF and
/// documentation ranges (192.0.0/24, 192.0.2/24, 198.18/15, 198.51.100/24, 203.0.113/24,
/// 2001:db8::/32), and IPv6 forms that carry an IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16,
/// IPv4-compatible ::/96) unless that address is public. When in doubt: not public.
bool is_public_unicast(const ip_address& ip) noexcept;

}  // namespace keyledger::domain
