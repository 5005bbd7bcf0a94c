#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/result.hpp"
#include "domain/types.hpp"

namespace keyledger::domain {

/// Key format: `<prefix>_<env>_<body>`.
///   prefix: the workspace's, `[a-z][a-z0-9]{1,9}` (default "kl").
///   env:    "live" or "test".
///   body:   32 base62 characters from the CSPRNG, then 6 base62 characters encoding
///           CRC32 (IEEE, as zlib) of every character before them ("<prefix>_<env>_<random32>"),
///           most significant digit first, zero-padded. A scanner can thus recognise a real key
///           offline, and a typo is refused before any lookup.
/// Base62 alphabet: 0-9, A-Z, a-z (in that order).
inline constexpr std::string_view base62_alphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
inline constexpr std::size_t key_random_length = 32;
inline constexpr std::size_t key_checksum_length = 6;
inline constexpr std::size_t key_body_length = key_random_length + key_checksum_length;
inline constexpr std::size_t key_visible_body_length = 4;
/// Longest well-formed key: 10 + 1 + 4 + 1 + 38.
inline constexpr std::size_t key_max_length = 54;
inline constexpr std::string_view default_key_prefix = "kl";

enum class key_format_error {
  empty,            ///< nothing given
  too_long,         ///< longer than any well-formed key
  bad_structure,    ///< not three '_'-separated parts
  bad_prefix,       ///< prefix not [a-z][a-z0-9]{1,9}
  bad_environment,  ///< neither "live" nor "test"
  bad_body,         ///< wrong length or a non-base62 character
  bad_checksum,     ///< CRC32 does not match
};

std::string_view to_string(key_format_error e) noexcept;

/// A syntactically valid key. Views point into the string given to parse_key.
struct parsed_key {
  std::string_view prefix;
  environment env;
  std::string_view body;  ///< all 38 characters
};

/// True if `prefix` is `[a-z][a-z0-9]{1,9}`.
bool valid_key_prefix(std::string_view prefix) noexcept;

/// CRC-32/ISO-HDLC (the zlib/PNG polynomial 0xEDB88320, reflected, init and xorout ~0).
std::uint32_t crc32(std::string_view data) noexcept;

/// Generates a new key. Precondition: valid_key_prefix(prefix). Uses rejection sampling so
/// every base62 character is uniform.
std::string generate_key(std::string_view prefix, environment env, random_source& random);

/// Validates structure, alphabet and checksum; does no I/O.
result<parsed_key, key_format_error> parse_key(std::string_view key) noexcept;

/// The visible start stored for display: "<prefix>_<env>_" + first 4 body characters.
std::string visible_start(const parsed_key& key);

}  // namespace keyledger::domain
