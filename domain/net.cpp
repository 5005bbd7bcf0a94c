#include "domain/net.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/encoding.hpp"

namespace keyledger::domain {

namespace {

// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is the longest text either form can take.
constexpr std::size_t max_ip_text_length = 45;
constexpr int v4_mapped_offset = 96;  // IPv4 /n is stored as /(96+n)

// A decimal number without sign or leading zeros ("0" itself is fine), at most `max`.
std::optional<unsigned> parse_decimal(std::string_view text, unsigned max) noexcept {
  if (text.empty() || text.size() > 3) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (!is_ascii_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// Exactly four decimal parts 0-255. Leading zeros are refused: some parsers read "010" as
// octal 8, and an allow-list must not mean different addresses to different readers.
bool parse_dotted_quad(std::string_view text, std::uint8_t* out) noexcept {
  for (int part = 0; part < 4; ++part) {
    const std::size_t dot = text.find('.');
    const bool last = part == 3;
    if (last != (dot == std::string_view::npos)) return false;
    const auto value = parse_decimal(text.substr(0, dot), 255);
    if (!value) return false;
    out[part] = static_cast<std::uint8_t>(*value);
    if (!last) text.remove_prefix(dot + 1);
  }
  return true;
}

// Parses one side of "::" (or the whole address when there is none) into 16-bit groups.
// `allow_quad`: the last piece may be a dotted quad (two groups).
bool parse_groups(std::string_view text, bool allow_quad, std::vector<std::uint16_t>& groups) {
  if (text.empty()) return true;
  while (true) {
    const std::size_t colon = text.find(':');
    const std::string_view piece = text.substr(0, colon);
    const bool last = colon == std::string_view::npos;
    if (last && allow_quad && piece.find('.') != std::string_view::npos) {
      std::array<std::uint8_t, 4> quad{};
      if (!parse_dotted_quad(piece, quad.data())) return false;
      groups.push_back(static_cast<std::uint16_t>((quad[0] << 8) | quad[1]));
      groups.push_back(static_cast<std::uint16_t>((quad[2] << 8) | quad[3]));
      return true;
    }
    if (piece.empty() || piece.size() > 4) return false;
    std::uint16_t value = 0;
    for (const char c : piece) {
      const int v = hex_value(c);
      if (v < 0) return false;
      value = static_cast<std::uint16_t>((value << 4) | v);
    }
    groups.push_back(value);
    if (last) return true;
    text.remove_prefix(colon + 1);
  }
}

std::optional<ip_address> parse_ipv6(std::string_view text) {
  std::vector<std::uint16_t> head;
  std::vector<std::uint16_t> tail;
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (!parse_groups(text, true, head) || head.size() != 8) return std::nullopt;
  } else {
    const std::string_view before = text.substr(0, gap);
    const std::string_view after = text.substr(gap + 2);
    if (after.find("::") != std::string_view::npos) return std::nullopt;
    // A dotted quad is only allowed as the very last piece of the address.
    if (!parse_groups(before, false, head)) return std::nullopt;
    if (!parse_groups(after, true, tail)) return std::nullopt;
    // "::" stands for at least one zero group.
    if (head.size() + tail.size() > 7) return std::nullopt;
  }
  ip_address ip;
  std::size_t i = 0;
  for (const auto g : head) {
    ip.bytes[i++] = static_cast<std::uint8_t>(g >> 8);
    ip.bytes[i++] = static_cast<std::uint8_t>(g);
  }
  i = 16 - 2 * tail.size();
  for (const auto g : tail) {
    ip.bytes[i++] = static_cast<std::uint8_t>(g >> 8);
    ip.bytes[i++] = static_cast<std::uint8_t>(g);
  }
  return ip;
}

bool bit_at(const ip_address& ip, int bit) noexcept {
  return ((ip.bytes[static_cast<std::size_t>(bit / 8)] >> (7 - bit % 8)) & 1) != 0;
}

void append_hex(std::string& out, std::uint16_t value) {
  constexpr std::string_view digits = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const int nibble = (value >> shift) & 0xF;
    if (nibble != 0 || started || shift == 0) {
      out.push_back(digits[static_cast<std::size_t>(nibble)]);
      started = true;
    }
  }
}

}  // namespace

bool ip_address::is_v4() const noexcept {
  for (std::size_t i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xFF && bytes[11] == 0xFF;
}

std::optional<ip_address> parse_ip(std::string_view text) noexcept {
  if (text.empty() || text.size() > max_ip_text_length) return std::nullopt;
  try {
    if (text.find(':') != std::string_view::npos) return parse_ipv6(text);
    ip_address ip;
    ip.bytes[10] = 0xFF;
    ip.bytes[11] = 0xFF;
    if (!parse_dotted_quad(text, ip.bytes.data() + 12)) return std::nullopt;
    return ip;
  } catch (...) {
    // Only the group vectors allocate (at most 8 elements each).
    return std::nullopt;
  }
}

std::string to_string(const ip_address& ip) {
  std::string out;
  if (ip.is_v4()) {
    for (std::size_t i = 12; i < 16; ++i) {
      if (i > 12) out.push_back('.');
      out.append(std::to_string(ip.bytes[i]));
    }
    return out;
  }
  std::array<std::uint16_t, 8> groups{};
  for (std::size_t g = 0; g < 8; ++g) {
    groups[g] = static_cast<std::uint16_t>((ip.bytes[2 * g] << 8) | ip.bytes[2 * g + 1]);
  }
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first on a tie.
  int best_start = -1;
  int best_length = 1;
  for (int g = 0; g < 8;) {
    if (groups[static_cast<std::size_t>(g)] != 0) {
      ++g;
      continue;
    }
    int end = g;
    while (end < 8 && groups[static_cast<std::size_t>(end)] == 0) ++end;
    if (end - g > best_length) {
      best_start = g;
      best_length = end - g;
    }
    g = end;
  }
  for (int g = 0; g < 8; ++g) {
    if (g == best_start) {
      out.append("::");
      g += best_length - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out.push_back(':');
    append_hex(out, groups[static_cast<std::size_t>(g)]);
  }
  return out;
}

bool cidr::contains(const ip_address& ip) const noexcept {
  const int full_bytes = prefix_length / 8;
  for (int i = 0; i < full_bytes; ++i) {
    if (ip.bytes[static_cast<std::size_t>(i)] != network.bytes[static_cast<std::size_t>(i)]) {
      return false;
    }
  }
  for (int bit = full_bytes * 8; bit < prefix_length; ++bit) {
    if (bit_at(ip, bit) != bit_at(network, bit)) return false;
  }
  return true;
}

std::optional<cidr> parse_cidr(std::string_view text) noexcept {
  const std::size_t slash = text.find('/');
  const auto address = parse_ip(text.substr(0, slash));
  if (!address) return std::nullopt;
  // The family is the one the text was written in: "::ffff:10.0.0.0/104" is IPv6 text.
  const bool v4_text = text.substr(0, slash).find(':') == std::string_view::npos;
  const int max = v4_text ? 32 : 128;
  int length = max;
  if (slash != std::string_view::npos) {
    const auto parsed = parse_decimal(text.substr(slash + 1), static_cast<unsigned>(max));
    if (!parsed) return std::nullopt;
    length = static_cast<int>(*parsed);
  }
  cidr c{*address, v4_text ? length + v4_mapped_offset : length};
  for (int bit = c.prefix_length; bit < 128; ++bit) {
    if (bit_at(c.network, bit)) return std::nullopt;
  }
  return c;
}

std::string to_string(const cidr& c) {
  // A mapped network always has prefix >= 96: below that its 0xffff bytes would be host bits.
  if (!c.network.is_v4()) return to_string(c.network) + "/" + std::to_string(c.prefix_length);
  if (c.prefix_length >= v4_mapped_offset) {
    return to_string(c.network) + "/" + std::to_string(c.prefix_length - v4_mapped_offset);
  }
  // Not produced by parse_cidr (host bits set); written as IPv6 text so it is not misread.
  return "::ffff:" + to_string(c.network) + "/" + std::to_string(c.prefix_length);
}

bool ip_allowed(const std::vector<cidr>& allowed, const ip_address& ip) noexcept {
  if (allowed.empty()) return true;
  for (const auto& c : allowed) {
    if (c.contains(ip)) return true;
  }
  return false;
}

bool is_loopback(const ip_address& ip) noexcept {
  if (ip.is_v4()) return ip.bytes[12] == 127;
  static constexpr std::array<std::uint8_t, 16> v6_loopback{0, 0, 0, 0, 0, 0, 0, 0,
                                                            0, 0, 0, 0, 0, 0, 0, 1};
  return ip.bytes == v6_loopback;
}

namespace {

bool public_v4(std::uint8_t a, std::uint8_t b, std::uint8_t c) noexcept {
  if (a == 0 || a == 10 || a == 127 || a >= 224)
    return false;                                              // this net, private, loopback,
                                                               // multicast, reserved, broadcast
  if (a == 100 && (b & 0xc0) == 64) return false;              // 100.64/10 shared (CGNAT)
  if (a == 169 && b == 254) return false;                      // link-local, metadata
  if (a == 172 && (b & 0xf0) == 16) return false;              // 172.16/12
  if (a == 192 && b == 168) return false;                      // 192.168/16
  if (a == 192 && b == 0 && (c == 0 || c == 2)) return false;  // IETF, TEST-NET-1
  if (a == 198 && (b & 0xfe) == 18) return false;              // 198.18/15 benchmarking
  if (a == 198 && b == 51 && c == 100) return false;           // TEST-NET-2
  if (a == 203 && b == 0 && c == 113) return false;            // TEST-NET-3
  return true;
}

}  // namespace

bool is_public_unicast(const ip_address& ip) noexcept {
  const auto& x = ip.bytes;
  if (ip.is_v4()) return public_v4(x[12], x[13], x[14]);
  const bool first_96_zero = std::all_of(x.begin(), x.begin() + 12, [](auto b) { return b == 0; });
  if (first_96_zero) return false;                          // ::, ::1, IPv4-compatible (deprecated)
  if ((x[0] & 0xfe) == 0xfc) return false;                  // fc00::/7 unique local
  if (x[0] == 0xfe && (x[1] & 0xc0) == 0x80) return false;  // fe80::/10 link-local
  if (x[0] == 0xfe && (x[1] & 0xc0) == 0xc0) return false;  // fec0::/10 site-local (old)
  if (x[0] == 0xff) return false;                           // multicast
  if (x[0] == 0x20 && x[1] == 0x01 && x[2] == 0x0d && x[3] == 0xb8) return false;  // 2001:db8::/32
  if (x[0] == 0x20 && x[1] == 0x02) return public_v4(x[2], x[3], x[4]);            // 6to4
  const bool nat64 = x[0] == 0 && x[1] == 0x64 && x[2] == 0xff && x[3] == 0x9b &&
                     std::all_of(x.begin() + 4, x.begin() + 12, [](auto b) { return b == 0; });
  if (nat64) return public_v4(x[12], x[13], x[14]);
  if (x[0] == 0 && x[1] == 0) return false;  // ::/16 is otherwise reserved
  return (x[0] & 0xe0) == 0x20;              // 2000::/3, global unicast
}

}  // namespace keyledger::domain
