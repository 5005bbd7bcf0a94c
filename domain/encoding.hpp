#pragma once

// Byte and ASCII encodings used on every floor (one copy each): hex digits, base64url
// (RFC 4648 section 5, no padding), base64 (RFC 4648 section 4, padded) and ASCII case folding.
// Standard library only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace keyledger::domain {

/// ASCII character classes (never locale-dependent).
constexpr bool is_ascii_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
constexpr bool is_ascii_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
constexpr bool is_ascii_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_ascii_alnum(char c) noexcept {
  return is_ascii_lower(c) || is_ascii_upper(c) || is_ascii_digit(c);
}

/// 'A'-'Z' to 'a'-'z'; every other byte unchanged.
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Equal ignoring ASCII case (header names, media types, schemes).
bool iequals_ascii(std::string_view a, std::string_view b) noexcept;

namespace detail {
// Every byte's hex digit value, or -1: a table lookup keeps hex decoding (hashes and UUIDs of
// every event read at start-up) inline and branch-free.
inline constexpr std::array<std::int8_t, 256> hex_digit_values = [] {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c)
    t[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'A' + 10);
  return t;
}();
}  // namespace detail

/// The value of a hex digit (either case), or -1.
constexpr int hex_value(char c) noexcept {
  return detail::hex_digit_values[static_cast<unsigned char>(c)];
}

/// Whether `text` is a keyed hash as the hashers write it: HMAC-SHA256 in 64 lowercase hex
/// characters.
bool is_keyed_hash(std::string_view text) noexcept;

/// The value of a base64url character, or -1.
int base64url_value(char c) noexcept;

/// base64url without padding.
std::string base64url_encode(std::span<const std::uint8_t> bytes);
std::string base64url_encode(std::string_view bytes);
/// base64url without padding, appended to `out`.
void base64url_append(std::string& out, std::string_view bytes);

/// Decodes base64url without padding. Strict: nullopt for any character outside the alphabet,
/// an impossible length, or unused trailing bits that are not zero (so that every byte string
/// has exactly one spelling).
std::optional<std::string> base64url_decode(std::string_view text);

/// Standard base64 (RFC 4648 section 4: '+' and '/', '=' padding to a multiple of 4), the
/// spelling base64_decode accepts (signed notes and checkpoints, C2SP).
std::string base64_encode(std::span<const std::uint8_t> bytes);
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64 (RFC 4648 4: '+' and '/', '=' padding to a multiple of 4, as in HTTP
/// Basic credentials). Strict like base64url_decode; the padding is required.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace keyledger::domain
